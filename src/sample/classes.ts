/**
 * Class selection from the command line and files: --classes as a list or an
 * .npy of int ids, --class-vector files. The file-free parts live in
 * class-lookup.ts (platform-neutral).
 */
import { UserError } from '../errors.js';
import { readNpy } from '../io/npy.js';
import { classVectorsFrom, parseClassList } from './class-lookup.js';

export { type ClassName, imagenetClasses, classLabel, oneHotVectors, argmaxRows, resolveClasses, searchImagenetClasses, classVectorsFrom } from './class-lookup.js';

/**
 * Parses --classes: a comma-separated list of ids and/or names ("207,golden retriever"),
 * or a path to an .npy of int ids.
 */
export function parseClasses(spec: string, numClasses: number, names?: readonly string[]): number[] {
  if (!spec.endsWith('.npy')) return parseClassList(spec, numClasses, names);
  const a = readNpy(spec);
  if (a.dtype !== 'int64' && a.dtype !== 'int32') throw new UserError(`${spec}: class ids must be int64 or int32, got ${a.dtype}`);
  if (a.shape.length !== 1) throw new UserError(`${spec}: class ids must be 1-d, got shape [${a.shape}]`);
  if (a.shape[0] === 0) throw new UserError(`${spec}: no class ids`);
  const ids = Array.from(a.data as ArrayLike<number | bigint>, (v) => Number(v));
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= numClasses) throw new UserError(`${spec}: class id ${id} out of range 0..${numClasses - 1}`);
  }
  return ids;
}

/** Reads a float class-vector array [N, numClasses] (soft or mixed classes allowed). */
export function readClassVectors(file: string, numClasses: number): { vectors: Float32Array; n: number } {
  return classVectorsFrom(readNpy(file), numClasses, file);
}
