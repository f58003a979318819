/**
 * Turning loaded arrays (features, logits, statistics) into float64 matrices
 * and vectors, with one-line UserErrors naming what was wrong.
 */
import { UserError } from '../errors.js';
import { type NdArray, shapeToString } from '../io/ndarray.js';
import { type Matrix, matrix } from '../linalg/matrix.js';

/** Float64 copy (or the array itself when it already is float64) of a float NdArray. */
export function float64Data(arr: NdArray, what: string): Float64Array {
  if (arr.data instanceof Float64Array) return arr.data;
  if (arr.data instanceof Float32Array) return Float64Array.from(arr.data);
  throw new UserError(`${what} must be float32 or float64, got ${arr.dtype}`);
}

/** A [rows, cols] float array as a Matrix (float64). */
export function matrixFromNdArray(arr: NdArray, what: string): Matrix {
  if (arr.shape.length !== 2) {
    throw new UserError(`${what} must be 2-D [samples, features], got shape ${shapeToString(arr.shape)}`);
  }
  return matrix(arr.shape[0]!, arr.shape[1]!, float64Data(arr, what));
}

/** Indices stored as an integer array (int32 or int64) of shape [rows, cols]. */
export function indexRowsFromNdArray(arr: NdArray, what: string): Int32Array[] {
  if (arr.shape.length !== 2) throw new UserError(`${what} must be 2-D, got shape ${shapeToString(arr.shape)}`);
  const [rows, cols] = arr.shape as [number, number];
  const out: Int32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Int32Array(cols);
    for (let c = 0; c < cols; c++) row[c] = indexAt(arr, r * cols + c, what);
    out.push(row);
  }
  return out;
}

/** A 1-D integer array as Int32Array. */
export function indicesFromNdArray(arr: NdArray, what: string): Int32Array {
  if (arr.shape.length !== 1) throw new UserError(`${what} must be 1-D, got shape ${shapeToString(arr.shape)}`);
  const out = new Int32Array(arr.shape[0]!);
  for (let i = 0; i < out.length; i++) out[i] = indexAt(arr, i, what);
  return out;
}

function indexAt(arr: NdArray, i: number, what: string): number {
  const d = arr.data;
  let v: number;
  if (d instanceof BigInt64Array) v = Number(d[i]!);
  else if (d instanceof Int32Array || d instanceof Uint8Array) v = d[i]!;
  else throw new UserError(`${what} must be an integer array, got ${arr.dtype}`);
  if (!Number.isSafeInteger(v) || v < 0 || v > 0x7fffffff) throw new UserError(`${what}: index ${v} out of range`);
  return v;
}
