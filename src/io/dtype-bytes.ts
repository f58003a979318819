/**
 * Conversions between raw little-endian bytes and NdArray typed data, shared by
 * the file readers/writers. Views are zero-copy when the byte offset is aligned
 * to the element size (typed arrays require it), otherwise an aligned copy.
 * The host is assumed little-endian (every platform Node ships on in practice).
 */
import type { DType, NdArray, TypedData } from './ndarray.js';

export const ITEM_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1, float16: 2, bfloat16: 2,
};

/** Builds the typed array for `dtype` over an (aligned) ArrayBuffer range. */
function makeView(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, count: number): TypedData {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, byteOffset, count);
    case 'float64': return new Float64Array(buffer, byteOffset, count);
    case 'int64': return new BigInt64Array(buffer, byteOffset, count);
    case 'int32': return new Int32Array(buffer, byteOffset, count);
    case 'uint8': case 'bool': return new Uint8Array(buffer, byteOffset, count);
    case 'float16': case 'bfloat16': return new Uint16Array(buffer, byteOffset, count);
  }
}

/** A fresh zero-filled typed array of `count` elements. */
export function allocTyped(dtype: DType, count: number): TypedData {
  return makeView(dtype, new ArrayBuffer(count * ITEM_SIZE[dtype]), 0, count);
}

/**
 * Typed data for `count` elements starting at `bytes[byteStart]`. Shares memory
 * with `bytes` when aligned (so the caller's buffer must not be reused), copies otherwise.
 */
export function typedFromBytes(dtype: DType, bytes: Uint8Array, byteStart: number, count: number): TypedData {
  const size = ITEM_SIZE[dtype];
  const abs = bytes.byteOffset + byteStart;
  if (abs % size === 0) return makeView(dtype, bytes.buffer, abs, count);
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(byteStart, byteStart + count * size));
  return makeView(dtype, copy.buffer, 0, count);
}

/** The raw bytes of typed data (a view, no copy). */
export function bytesOf(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether `data`'s element type is the one NdArray uses for `dtype`. */
export function dataMatchesDtype(dtype: DType, data: TypedData): boolean {
  switch (dtype) {
    case 'float32': return data instanceof Float32Array;
    case 'float64': return data instanceof Float64Array;
    case 'int64': return data instanceof BigInt64Array;
    case 'int32': return data instanceof Int32Array;
    case 'uint8': case 'bool': return data instanceof Uint8Array;
    case 'float16': case 'bfloat16': return data instanceof Uint16Array;
  }
}

/**
 * Checks an array before it is written: known dtype, matching typed-array class,
 * non-negative integer shape, and element count equal to the product of the shape.
 * Returns a problem description or null.
 */
export function arrayProblem(arr: NdArray): string | null {
  if (!(arr.dtype in ITEM_SIZE)) return `unknown dtype ${String(arr.dtype)}`;
  if (!Array.isArray(arr.shape) || arr.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    return `invalid shape [${String(arr.shape)}]`;
  }
  if (!dataMatchesDtype(arr.dtype, arr.data)) return `data is a ${arr.data?.constructor?.name} but dtype is ${arr.dtype}`;
  let n = 1;
  for (const d of arr.shape) n *= d;
  if (arr.data.length !== n) return `shape [${arr.shape.join(', ')}] needs ${n} elements but data has ${arr.data.length}`;
  return null;
}
