/** A plain n-dimensional array: typed data in C order plus its shape. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'float16' | 'bfloat16';

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface NdArray {
  dtype: DType;
  shape: number[];
  data: TypedData;
}

/** An array as it crosses the library API: typed data in C order and its shape (an .npy's contents); NdArray is one. */
export interface ArrayView {
  readonly data: ArrayLike<number> | ArrayLike<bigint>;
  readonly shape: readonly number[];
  readonly dtype?: string;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Float32 view of a float array; converts float64/half types (copy), rejects integer types. */
export function asFloat32(a: NdArray, what = 'array'): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  if (a.data instanceof Float64Array) return Float32Array.from(a.data);
  throw new Error(`${what}: expected a float array, got ${a.dtype}`);
}
