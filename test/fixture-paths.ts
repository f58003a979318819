import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test, sources live in test/). */
export const REPO_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

/** The shared fixtures folder beside the checkout (override with BIGGAN_SHARED). */
export const SHARED = process.env.BIGGAN_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');
export const PT_REF = path.join(SHARED, 'fixtures', 'pytorch-reference');
export const METRICS_REF = path.join(SHARED, 'fixtures', 'metrics-reference');
export const DATASETS = path.join(SHARED, 'datasets');
