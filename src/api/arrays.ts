/**
 * Arrays as they cross the library API: `{ data, shape }` with typed data in C
 * order (the contents of an .npy), and .npy/.npz files read and written as such.
 */
import { UserError } from '../errors.js';
import type { DType, NdArray, TypedData } from '../io/ndarray.js';
import { numel } from '../io/ndarray.js';
import { readNpy as readNpyFile, writeNpy as writeNpyFile } from '../io/npy.js';
import { readNpz as readNpzFile, writeNpz as writeNpzFile } from '../io/npz.js';

export type { DType, NdArray, TypedData };
export type { ArrayView } from '../io/ndarray.js';

/** An array to write: dtype optional (taken from the typed array; Uint16Array data needs one). */
export interface ArrayInput {
  readonly data: TypedData;
  readonly shape: readonly number[];
  readonly dtype?: DType;
}

function dtypeOf(data: TypedData): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  return undefined;
}

/** The NdArray of an input, checked: its dtype matches its data, its shape its length. */
export function toNdArray(a: ArrayInput, what: string): NdArray {
  if (!a || typeof a !== 'object' || !ArrayBuffer.isView(a.data) || !Array.isArray(a.shape)) throw new UserError(`${what}: expected { data: TypedArray, shape: number[] }`);
  const dtype = a.dtype ?? dtypeOf(a.data);
  if (!dtype) throw new UserError(`${what}: give a dtype for ${a.data.constructor.name} data`);
  if (!a.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new UserError(`${what}: shape [${a.shape}] must hold non-negative integers`);
  if (numel(a.shape) !== a.data.length) throw new UserError(`${what}: shape [${a.shape}] needs ${numel(a.shape)} values, data has ${a.data.length}`);
  return { dtype, shape: [...a.shape], data: a.data };
}

/** Reads an .npy file (float32/64, int32/64, uint8, bool, float16 as raw Uint16Array). */
export async function readNpy(file: string): Promise<NdArray> {
  return readNpyFile(file);
}

/** Writes an .npy file atomically (as numpy.save writes it). */
export async function writeNpy(file: string, array: ArrayInput): Promise<void> {
  writeNpyFile(file, toNdArray(array, file));
}

/** Reads every array of an .npz archive (stored or deflated). */
export async function readNpz(file: string): Promise<Map<string, NdArray>> {
  return readNpzFile(file);
}

/** Writes arrays as an .npz archive atomically. */
export async function writeNpz(file: string, arrays: Record<string, ArrayInput>): Promise<void> {
  writeNpzFile(file, Object.fromEntries(Object.entries(arrays).map(([k, v]) => [k, toNdArray(v, `${file}:${k}`)])));
}
