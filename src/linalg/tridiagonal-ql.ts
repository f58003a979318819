/**
 * Eigenvalues (and optionally eigenvectors) of a symmetric tridiagonal matrix
 * by the QL algorithm with implicit Wilkinson-style shifts. Each sweep chases
 * a bulge up from the bottom of the unreduced block with Givens rotations;
 * off-diagonals below machine precision relative to their neighbours split
 * the problem.
 */

const EPS = Number.EPSILON;
const MAX_SWEEPS_PER_VALUE = 60;

/**
 * Diagonalises the tridiagonal (diag, off) in place: on return `diag` holds the
 * eigenvalues (unsorted) and `off` is destroyed. `off[i]` couples i and i+1.
 * If `zt` (n x n row-major) is given, the same rotations are applied to its
 * rows: start with Q^T from the tridiagonal reduction (or I) and row k ends up
 * as the eigenvector of diag[k]. Rows are contiguous, so a rotation is two
 * streaming passes over adjacent memory.
 */
export function tridiagonalQL(diag: Float64Array, off: Float64Array, zt?: Float64Array): void {
  const n = diag.length;
  if (off.length < n) throw new RangeError('tridiagonalQL: off must have length n');
  if (zt !== undefined && zt.length !== n * n) throw new RangeError('tridiagonalQL: zt must be n x n');
  if (n === 0) return;
  off[n - 1] = 0;

  for (let l = 0; l < n; l++) {
    let sweeps = 0;
    for (;;) {
      // First negligible off-diagonal at or below l bounds the active block.
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(diag[m]) + Math.abs(diag[m + 1]);
        if (Math.abs(off[m]) <= EPS * dd) break;
      }
      if (m === l) break;
      if (++sweeps > MAX_SWEEPS_PER_VALUE) {
        throw new Error(`tridiagonalQL: no convergence after ${MAX_SWEEPS_PER_VALUE} sweeps (non-finite input?)`);
      }

      // Shift: eigenvalue of the leading 2x2 of the block closest to diag[l].
      let g = (diag[l + 1] - diag[l]) / (2 * off[l]);
      let r = Math.hypot(g, 1);
      g = diag[m] - diag[l] + off[l] / (g + (g >= 0 ? r : -r));

      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * off[i];
        const b = c * off[i];
        r = Math.hypot(f, g);
        off[i + 1] = r;
        if (r === 0) {
          // The rotation degenerated: the block has already split at i+1.
          diag[i + 1] -= p;
          off[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = diag[i + 1] - p;
        r = (diag[i] - g) * s + 2 * c * b;
        p = s * r;
        diag[i + 1] = g + p;
        g = c * r - b;
        if (zt !== undefined) rotateRows(zt, n, i, c, s);
      }
      if (underflow) continue;
      diag[l] -= p;
      off[l] = g;
      off[m] = 0;
    }
  }
}

/** Rows i and i+1 of zt: (z_i, z_{i+1}) <- (c z_i - s z_{i+1}, s z_i + c z_{i+1}). */
function rotateRows(zt: Float64Array, n: number, i: number, c: number, s: number): void {
  const r0 = i * n, r1 = r0 + n;
  for (let k = 0; k < n; k++) {
    const x = zt[r0 + k], y = zt[r1 + k];
    zt[r0 + k] = c * x - s * y;
    zt[r1 + k] = s * x + c * y;
  }
}
