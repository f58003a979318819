/**
 * Rank-revealing Cholesky factorisation of a symmetric positive SEMI-definite
 * matrix with diagonal (complete) pivoting: P^T A P ~= L L^T, L lower
 * trapezoidal n x r. At each step the largest remaining diagonal of the Schur
 * complement is taken as pivot; the factorisation stops once it drops to
 * `tol`, so exactly-singular covariances (fewer samples than dimensions, dead
 * features) give a short, well-conditioned factor instead of a breakdown.
 *
 * Blocked: columns are produced in panels of PANEL; inside a panel each column
 * only needs the panel's earlier columns (short dot products), and the
 * trailing matrix gets one rank-PANEL update through the fast A*B^T kernel.
 * Works in place on the lower triangle of a copy of A.
 */
import { type Matrix, allFinite } from './matrix.js';
import { gemmABt } from './gemm.js';

const PANEL = 64;

export interface PivotedCholesky {
  readonly n: number;
  /** Number of columns kept (numerical rank at the tolerance). */
  readonly rank: number;
  /** perm[i] = index in A of the i-th pivoted row/column. */
  readonly perm: Int32Array;
  /**
   * L^T, rank x n row-major, in pivoted order: row j is column j of L and is
   * zero left of column j. A[perm[i], perm[k]] ~= sum_j lt[j, i] * lt[j, k].
   */
  readonly lt: Float64Array;
}

/**
 * @param tol stop when the largest remaining pivot is <= tol; default
 *   n * eps * max(diag(A)), about the rounding noise of the Schur complement.
 */
export function pivotedCholesky(a: Matrix, tol?: number): PivotedCholesky {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`pivotedCholesky: matrix is ${a.rows}x${a.cols}, not square`);
  if (!allFinite(a.data)) throw new RangeError('pivotedCholesky: matrix has non-finite entries');
  const s = a.data.slice();
  const perm = new Int32Array(n);
  const d = new Float64Array(n); // diagonal of the current Schur complement
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    perm[i] = i;
    d[i] = s[i * n + i];
    maxDiag = Math.max(maxDiag, d[i]);
  }
  const threshold = tol ?? n * Number.EPSILON * maxDiag;

  let rank = n;
  outer:
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(n, j0 + PANEL);
    for (let j = j0; j < j1; j++) {
      let piv = j;
      for (let i = j + 1; i < n; i++) if (d[i] > d[piv]) piv = i;
      // `!(x > t)` also stops on NaN.
      if (!(d[piv] > threshold)) {
        rank = j;
        break outer;
      }
      if (piv !== j) swapSymmetric(s, n, j, piv, d, perm);

      const ljj = Math.sqrt(d[j]);
      const rj = j * n;
      s[rj + j] = ljj;
      // Column j below the diagonal: trailing values are as of the panel start,
      // so subtract this panel's earlier columns now.
      const inv = 1 / ljj;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        let acc = s[ri + j];
        for (let k = j0; k < j; k++) acc -= s[ri + k] * s[rj + k];
        const lij = acc * inv;
        s[ri + j] = lij;
        d[i] -= lij * lij;
      }
    }
    // Trailing update: S[i][c] -= sum_{panel k} L[i][k] L[c][k] for j1 <= c <= i.
    const m = n - j1;
    if (m > 0) {
      const panelRows = { data: s, offset: j1 * n + j0, ld: n };
      gemmABt(m, m, j1 - j0, -1, panelRows, panelRows, { data: s, offset: j1 * n + j1, ld: n }, true);
    }
  }

  const lt = new Float64Array(rank * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const kEnd = Math.min(i + 1, rank);
    for (let k = 0; k < kEnd; k++) lt[k * n + i] = s[ri + k];
  }
  return { n, rank, perm, lt };
}

/**
 * Exchanges index j and p (j < p) of the symmetric matrix stored in the lower
 * triangle of s (with the factor's finished columns < j in the same rows).
 */
function swapSymmetric(s: Float64Array, n: number, j: number, p: number, d: Float64Array, perm: Int32Array): void {
  const rj = j * n, rp = p * n;
  // Columns < j of rows j and p: finished factor entries and untouched A alike.
  for (let k = 0; k < j; k++) {
    const t = s[rj + k]; s[rj + k] = s[rp + k]; s[rp + k] = t;
  }
  let t = s[rj + j]; s[rj + j] = s[rp + p]; s[rp + p] = t;
  // Between j and p: (k, j) <-> (p, k).
  for (let k = j + 1; k < p; k++) {
    const rk = k * n;
    t = s[rk + j]; s[rk + j] = s[rp + k]; s[rp + k] = t;
  }
  // Below p: (k, j) <-> (k, p).
  for (let k = p + 1; k < n; k++) {
    const rk = k * n;
    t = s[rk + j]; s[rk + j] = s[rk + p]; s[rk + p] = t;
  }
  t = d[j]; d[j] = d[p]; d[p] = t;
  const q = perm[j]; perm[j] = perm[p]; perm[p] = q;
}
