/**
 * Which Inception weights an evaluation uses, as the CLI names them: a file
 * (`--inception FILE`, else $BIGGAN_INCEPTION), or `procedural` — the metrics
 * fixtures' regenerable stand-in, a TESTING AID only: its scores mean nothing
 * and must never be compared with published numbers. The report records the
 * choice and a SHA-256 that identifies the exact weights.
 */
import { createHash } from 'node:crypto';
import { InceptionFeatureExtractor, type InceptionExtractorOptions } from '../metrics/inception/feature-extractor.js';
import { resolveInceptionWeightsFile, type InceptionWeightsSource } from '../metrics/inception/inception-weights.js';
import { proceduralInceptionStateDict } from '../metrics/inception/procedural-weights.js';
import { sha256File } from './file-hash.js';

export const PROCEDURAL_INCEPTION = 'procedural';

export interface InceptionChoice {
  readonly source: InceptionWeightsSource;
  /** The resolved weights file, or 'procedural'. */
  readonly file: string;
  readonly procedural: boolean;
}

/** Resolves `--inception` (a path or 'procedural'); without it, $BIGGAN_INCEPTION; else the UserError saying where to get the file. */
export function chooseInception(flag?: string): InceptionChoice {
  const spec = flag ?? process.env.BIGGAN_INCEPTION;
  if (spec === PROCEDURAL_INCEPTION) return { source: { procedural: true }, file: PROCEDURAL_INCEPTION, procedural: true };
  const file = resolveInceptionWeightsFile(flag);
  return { source: { file }, file, procedural: false };
}

export function loadExtractor(choice: InceptionChoice, opts: InceptionExtractorOptions): InceptionFeatureExtractor {
  return InceptionFeatureExtractor.load(choice.source, opts);
}

/**
 * SHA-256 identifying the weights: of the file's bytes, or for the procedural
 * set of all its tensors as little-endian float32 in state-dict order (the
 * metrics fixture README's checksum).
 */
export function inceptionWeightsSha256(choice: InceptionChoice): string {
  if (!choice.procedural) return sha256File(choice.file);
  const h = createHash('sha256');
  for (const t of proceduralInceptionStateDict().values()) {
    const d = t.data as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}
