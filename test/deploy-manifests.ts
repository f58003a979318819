/** The repository's Kubernetes manifests (deploy/k8s), parsed for the deploy tests. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './fixture-paths.js';

export type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };

/** Every document of a manifest file (relative to the repository root); a YAML error fails the test. */
export function manifests(file: string): Doc[] {
  const docs = parseAllDocuments(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: ${d.errors.join('; ')}`);
  return docs.map((d) => d.toJS() as Doc);
}
