/**
 * Loading the FID Inception weights: the published
 * `pt_inception-2015-12-05-6726825d.pth` (pytorch-fid's release; torch-fidelity's
 * `weights-inception-2015-12-05-6726825d.pth` has the same keys). Its keys are
 * exactly our attribute paths, but its converter wrote them in another order
 * (bn before conv, TF branch order) and without num_batches_tracked, so tensors
 * are matched by NAME only; a missing, unexpected or mis-shaped key is a
 * UserError naming it.
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import type { NdArray } from '../../io/ndarray.js';
import { readStateDict } from '../../io/state-dict-file.js';
import { loadStateDict } from '../../models/load-state.js';
import { InceptionV3 } from './inception-v3.js';
import { proceduralInceptionStateDict } from './procedural-weights.js';

export const INCEPTION_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth';
export const INCEPTION_WEIGHTS_URL = `https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/${INCEPTION_WEIGHTS_FILE}`;
export const INCEPTION_WEIGHTS_ENV = 'BIGGAN_INCEPTION';

/** Where the weights come from: a file, or the fixtures' procedural stand-in (tests, benchmarks). */
export type InceptionWeightsSource = { file?: string } | { procedural: true };

/**
 * The weights file to use: the given path, else $BIGGAN_INCEPTION; a UserError
 * telling where to get the file when neither is set.
 */
export function resolveInceptionWeightsFile(file?: string): string {
  const chosen = file ?? process.env[INCEPTION_WEIGHTS_ENV];
  if (!chosen) {
    throw new UserError(
      `FID/IS need the Inception weights: download ${INCEPTION_WEIGHTS_URL} and pass it with --inception FILE or set ${INCEPTION_WEIGHTS_ENV}=FILE`,
    );
  }
  if (!fs.existsSync(chosen)) {
    const via = file ? '--inception' : INCEPTION_WEIGHTS_ENV;
    throw new UserError(`Inception weights ${chosen} (from ${via}) do not exist; get ${INCEPTION_WEIGHTS_FILE} from ${INCEPTION_WEIGHTS_URL}`);
  }
  return chosen;
}

/** Puts a state dict (published key names) into a model, strictly, by name. */
export function loadInceptionState(model: InceptionV3, state: Map<string, NdArray>, source: string): InceptionV3 {
  const byName = new Map<string, NdArray>();
  for (const [key, t] of state) {
    // torch checkpoints saved from the module carry these int64 counters; eval never reads them
    if (!key.endsWith('.num_batches_tracked')) byName.set(key, t);
  }
  loadStateDict(model, byName, { source });
  return model;
}

/** A ready InceptionV3 with the weights from `source` (a file: the given path or $BIGGAN_INCEPTION). */
export function loadInceptionV3(source: InceptionWeightsSource): InceptionV3 {
  const model = new InceptionV3();
  if ('procedural' in source) return loadInceptionState(model, proceduralInceptionStateDict(), 'procedural Inception weights');
  const file = resolveInceptionWeightsFile(source.file);
  return loadInceptionState(model, readStateDict(file), file);
}
