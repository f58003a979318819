/**
 * Turning loaded arrays (features, logits, statistics) into float64 matrices
 * and vectors, with one-line UserErrors naming what was wrong.
 */
import { UserError } from '../errors.js';
import { type ArrayView, type NdArray, numel, shapeToString } from '../io/ndarray.js';
import { type Matrix, matrix } from '../linalg/matrix.js';
import { type GaussianStats, checkGaussianStats } from './gaussian-stats.js';

/** Float64 copy (or the array itself when it already is float64) of a float array. */
export function float64Data(arr: ArrayView, what: string): Float64Array {
  if (arr.data instanceof Float64Array) return arr.data;
  if (arr.data instanceof Float32Array) return Float64Array.from(arr.data);
  throw new UserError(`${what} must be float32 or float64, got ${arr.dtype ?? 'integers'}`);
}

/** A [rows, cols] float array as a Matrix (float64). */
export function matrixFromNdArray(arr: ArrayView, what: string): Matrix {
  if (arr.shape.length !== 2) {
    throw new UserError(`${what} must be 2-D [samples, features], got shape ${shapeToString(arr.shape)}`);
  }
  // arrays from the library's callers (not a parser) may not fill their shape
  if (arr.data.length !== numel(arr.shape)) throw new UserError(`${what}: ${arr.data.length} values do not fill shape ${shapeToString(arr.shape)}`);
  return matrix(arr.shape[0]!, arr.shape[1]!, float64Data(arr, what));
}

/** Validates `mu`/`sigma` taken from already-loaded arrays; `what` names the source in errors. */
export function statsFromArrays(arrays: ReadonlyMap<string, ArrayView>, what: string): GaussianStats {
  const mu = arrays.get('mu'), sigma = arrays.get('sigma');
  if (!mu || !sigma) {
    const found = [...arrays.keys()].map((k) => `'${k}'`).join(', ') || 'no arrays';
    throw new UserError(`${what} is not an FID statistics file: expected arrays 'mu' and 'sigma', found ${found}`);
  }
  if (mu.shape.length !== 1) throw new UserError(`${what}: 'mu' must be 1-D, got shape ${shapeToString(mu.shape)}`);
  if (sigma.shape.length !== 2) throw new UserError(`${what}: 'sigma' must be 2-D, got shape ${shapeToString(sigma.shape)}`);
  const [r, c] = sigma.shape as [number, number];
  if (r !== c) throw new UserError(`${what}: 'sigma' must be square, got shape ${shapeToString(sigma.shape)}`);
  const d = mu.shape[0]!;
  if (d !== r) throw new UserError(`${what}: 'mu' has ${d} entries but 'sigma' is ${r}x${c}`);
  if (d === 0) throw new UserError(`${what}: statistics are empty (dimension 0)`);
  if (mu.data.length !== d || sigma.data.length !== d * d) throw new UserError(`${what}: 'mu' / 'sigma' hold fewer values than their shapes`);
  const stats = {
    mu: float64Data(mu, `${what}: 'mu'`).slice(),
    sigma: matrix(d, d, float64Data(sigma, `${what}: 'sigma'`).slice()),
  };
  return checkGaussianStats(stats, what);
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
