/**
 * Dense float64 matrices, row-major. Everything in src/linalg works on this
 * shape: a flat Float64Array keeps the hot loops monomorphic and contiguous,
 * which is what V8 turns into fast code.
 */

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** rows * cols values, row-major: element (i, j) is data[i * cols + j]. */
  readonly data: Float64Array;
}

/** A rows x cols matrix over `data` (not copied), or zero-filled when `data` is omitted. */
export function matrix(rows: number, cols: number, data?: Float64Array): Matrix {
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`invalid matrix size ${rows}x${cols}`);
  }
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new RangeError(`matrix ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data };
}

export function identity(n: number): Matrix {
  const m = matrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

export function copyMatrix(a: Matrix): Matrix {
  return { rows: a.rows, cols: a.cols, data: a.data.slice() };
}

export function transpose(a: Matrix): Matrix {
  const { rows, cols, data } = a;
  const out = new Float64Array(rows * cols);
  // Tiled so that both the reads and the writes stay within a few cache lines.
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(rows, i0 + T);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(cols, j0 + T);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) out[j * rows + i] = data[i * cols + j];
      }
    }
  }
  return { rows: cols, cols: rows, data: out };
}

export function isSquare(a: Matrix): boolean {
  return a.rows === a.cols;
}

export function trace(a: Matrix): number {
  if (!isSquare(a)) throw new RangeError(`trace of a non-square ${a.rows}x${a.cols} matrix`);
  let s = 0;
  for (let i = 0; i < a.rows; i++) s += a.data[i * a.cols + i];
  return s;
}

/** a + s * I (new matrix). */
export function addScaledIdentity(a: Matrix, s: number): Matrix {
  if (!isSquare(a)) throw new RangeError(`addScaledIdentity on a non-square ${a.rows}x${a.cols} matrix`);
  const out = copyMatrix(a);
  for (let i = 0; i < a.rows; i++) out.data[i * a.cols + i] += s;
  return out;
}

/** Whether every entry is a finite number. */
export function allFinite(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/** Largest absolute entry. */
export function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const x = Math.abs(v[i]);
    if (x > m) m = x;
  }
  return m;
}
