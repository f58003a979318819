/**
 * Picks and opens the source for a `--data` spec:
 *   - a path ending in .npy (optionally `images.npy:labels.npy`): NumPy arrays (npy.ts);
 *   - a folder with batches.meta.txt and data_batch_*.bin: CIFAR-10 binary (cifar10.ts), or one
 *     .bin batch in such a folder (e.g. test_batch.bin: the test split);
 *   - any other folder: one sub-folder per class (folder.ts).
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import { Cifar10Source, isCifar10BatchFile, looksLikeCifar10 } from './cifar10.js';
import { FolderSource } from './folder.js';
import { NpySource, isNpySpec } from './npy.js';
import type { ImageSource, SourceOptions } from './types.js';

export type { ImageSource, SourceKind, SourceOptions } from './types.js';
export { FolderSource } from './folder.js';
export { Cifar10Source, isCifar10BatchFile } from './cifar10.js';
export { NpySource, parseNpySpec } from './npy.js';

export function openImageSource(spec: string, opts: SourceOptions = {}): ImageSource {
  if (isNpySpec(spec)) return new NpySource(spec, opts);
  let st: fs.Stats;
  try {
    st = fs.statSync(spec);
  } catch {
    throw new UserError(`${spec} does not exist (expected an image folder, a CIFAR-10 binary folder or images.npy)`);
  }
  if (!st.isDirectory() && isCifar10BatchFile(spec)) return new Cifar10Source(spec, opts);
  if (!st.isDirectory()) {
    throw new UserError(`${spec} is not a folder or .npy file (expected an image folder, a CIFAR-10 binary folder or images.npy)`);
  }
  if (looksLikeCifar10(spec)) return new Cifar10Source(spec, opts);
  return new FolderSource(spec, opts);
}
