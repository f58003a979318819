/**
 * Symmetric eigendecomposition A = V diag(values) V^T: Householder
 * tridiagonalisation followed by implicit QL. O(n^3); the eigenvalue-only path
 * skips forming Q and rotating vectors, which is most of the work.
 */
import { type Matrix, matrix, allFinite } from './matrix.js';
import { tridiagonalize, tridiagonalizeWithQ } from './householder-tridiagonal.js';
import { tridiagonalQL } from './tridiagonal-ql.js';

export interface SymmetricEigen {
  /** Eigenvalues in ascending order. */
  readonly values: Float64Array;
  /**
   * Eigenvectors as ROWS: row k (vectors.data[k*n .. k*n+n)) is the unit
   * eigenvector of values[k]. (V^T in the usual notation.)
   */
  readonly vectors: Matrix;
}

function checkInput(a: Matrix, what: string): void {
  if (a.rows !== a.cols) throw new RangeError(`${what}: matrix is ${a.rows}x${a.cols}, not square`);
  if (!allFinite(a.data)) throw new RangeError(`${what}: matrix has non-finite entries`);
}

/** Eigenvalues of a symmetric matrix (lower triangle read), ascending. */
export function symmetricEigenvalues(a: Matrix): Float64Array {
  checkInput(a, 'symmetricEigenvalues');
  const t = tridiagonalize(a);
  tridiagonalQL(t.diag, t.off);
  return t.diag.sort();
}

/** Eigenvalues (ascending) and eigenvectors (rows) of a symmetric matrix (lower triangle read). */
export function symmetricEigen(a: Matrix): SymmetricEigen {
  checkInput(a, 'symmetricEigen');
  const n = a.rows;
  const t = tridiagonalizeWithQ(a);
  tridiagonalQL(t.diag, t.off, t.qt);
  const order = Array.from({ length: n }, (_, k) => k).sort((x, y) => t.diag[x] - t.diag[y]);
  const values = new Float64Array(n);
  const vecs = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const src = order[k];
    values[k] = t.diag[src];
    vecs.set(t.qt.subarray(src * n, src * n + n), k * n);
  }
  return { values, vectors: matrix(n, n, vecs) };
}
