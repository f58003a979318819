/**
 * Householder reduction of a real symmetric matrix to tridiagonal form,
 * A = Q T Q^T. Only the lower triangle of A is read.
 *
 * Rows are reduced from the bottom up: step i turns row i's entries left of
 * the diagonal into a single off-diagonal value with a reflector acting on
 * indices 0..i-1, so the reflector vector is the (contiguous) row itself. The
 * symmetric rank-2 update of step i and the matrix-vector product of step i-1
 * are done in the same sweep over each row of the lower triangle, so the
 * O(n^3) part touches the matrix once per step (it is memory-bound otherwise).
 */
import type { Matrix } from './matrix.js';

export interface Tridiagonal {
  /** Diagonal of T, length n. */
  readonly diag: Float64Array;
  /** off[i] = T[i, i+1] = T[i+1, i] for i < n-1; off[n-1] = 0. */
  readonly off: Float64Array;
}

export interface TridiagonalWithQ extends Tridiagonal {
  /** Q^T, n x n row-major, so that A = Q T Q^T. */
  readonly qt: Float64Array;
}

/** Tridiagonal form only (no Q): the fast path for eigenvalues. */
export function tridiagonalize(a: Matrix): Tridiagonal {
  const r = reduce(a);
  return { diag: r.diag, off: r.off };
}

/** Tridiagonal form and Q^T (needed for eigenvectors). */
export function tridiagonalizeWithQ(a: Matrix): TridiagonalWithQ {
  const r = reduce(a);
  return { diag: r.diag, off: r.off, qt: formQt(r.work, r.beta, a.rows) };
}

interface Reduction {
  diag: Float64Array;
  off: Float64Array;
  /** Row i (columns < i) holds the reflector vector of step i. */
  work: Float64Array;
  /** Reflector i is I - beta[i] v v^T (beta 0 = identity). */
  beta: Float64Array;
}

function reduce(a: Matrix): Reduction {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`tridiagonalize: matrix is ${a.rows}x${a.cols}, not square`);
  const w = a.data.slice(); // working copy; lower triangle used
  const diag = new Float64Array(n), off = new Float64Array(n), beta = new Float64Array(n);
  if (n === 0) return { diag, off, work: w, beta };

  // Pending rank-2 update from the previous step: rows/cols < i get
  // A[j][k] -= vp[j] qp[k] + qp[j] vp[k]. `pending` is false when there is none.
  let vp = new Float64Array(n), qp = new Float64Array(n);
  let v = new Float64Array(n), p = new Float64Array(n);
  let pending = false;

  for (let i = n - 1; i >= 1; i--) {
    const ri = i * n;
    // Bring row i up to date (its diagonal too) before reading it.
    if (pending) {
      const vpi = vp[i], qpi = qp[i];
      for (let k = 0; k < i; k++) w[ri + k] -= vpi * qp[k] + qpi * vp[k];
      w[ri + i] -= 2 * vpi * qpi;
    }
    diag[i] = w[ri + i];

    // Reflector mapping x = row i (cols < i) onto alpha * e_{i-1}.
    let scale = 0;
    for (let k = 0; k < i; k++) scale = Math.max(scale, Math.abs(w[ri + k]));
    let b = 0;
    if (i === 1 || scale === 0) {
      off[i - 1] = w[ri + i - 1]; // already tridiagonal in this row
    } else {
      // Scaled norm: avoids overflow/underflow of the sum of squares.
      let ss = 0;
      for (let k = 0; k < i; k++) {
        const x = w[ri + k] / scale;
        ss += x * x;
      }
      const xLast = w[ri + i - 1];
      // Sign opposite to the last entry, so v = x - alpha e has no cancellation.
      const alpha = (xLast >= 0 ? -1 : 1) * scale * Math.sqrt(ss);
      const sigma = ss * scale * scale;
      for (let k = 0; k < i; k++) v[k] = w[ri + k];
      v[i - 1] = xLast - alpha;
      // v^T v = 2 (sigma - alpha * xLast) and beta = 2 / v^T v.
      b = 1 / (sigma - alpha * xLast);
      off[i - 1] = alpha;
      for (let k = 0; k < i; k++) w[ri + k] = v[k]; // keep the reflector for Q
    }
    beta[i] = b;

    // One sweep over rows j < i: apply the pending update, then accumulate
    // p = A v. Zero vectors stand in for "no pending update" / "no reflector"
    // (rare steps), which keeps a single hot loop.
    const doProduct = b !== 0;
    if (!pending) { vp.fill(0, 0, i); qp.fill(0, 0, i); }
    if (!doProduct) v.fill(0, 0, i);
    p.fill(0, 0, i);
    sweepRows(w, n, i, vp, qp, v, p);

    if (doProduct) {
      // p = beta A v; q = p - (beta v^T p / 2) v; the update is A -= v q^T + q v^T.
      let vtp = 0;
      for (let k = 0; k < i; k++) {
        p[k] *= b;
        vtp += v[k] * p[k];
      }
      const kk = 0.5 * b * vtp;
      for (let k = 0; k < i; k++) p[k] -= kk * v[k];
      // Swap buffers: (v, p) become the pending (vp, qp).
      const tv = vp; vp = v; v = tv;
      const tq = qp; qp = p; p = tq;
      pending = true;
    } else {
      pending = false;
    }
  }
  // Row 0 was brought up to date by the last sweep (step 1 never leaves a pending update).
  diag[0] = w[0];
  off[n - 1] = 0;
  return { diag, off, work: w, beta };
}

/**
 * Q^T = H_1 H_2 ... H_{n-1} (the reflectors were applied in the order H_{n-1}
 * first). Built left to right: before step j the product differs from I only
 * in its leading (j-1) x (j-1) block, so step j costs O(j^2).
 */
function formQt(work: Float64Array, beta: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  const t = new Float64Array(n);
  for (let j = 2; j < n; j++) {
    const b = beta[j];
    if (b === 0) continue;
    const rv = j * n; // reflector vector: work[rv + c], c < j
    // t = M v (rows < j), then M[r][c] -= b t[r] v[c].
    for (let r = 0; r < j; r++) {
      const rr = r * n;
      let s = 0;
      for (let c = 0; c < j; c++) s += m[rr + c] * work[rv + c];
      t[r] = b * s;
    }
    for (let r = 0; r < j; r++) {
      const rr = r * n, tr = t[r];
      if (tr === 0) continue;
      for (let c = 0; c < j; c++) m[rr + c] -= tr * work[rv + c];
    }
  }
  return m;
}

/**
 * For rows j < i of the lower triangle (columns k <= j):
 *   A[j][k] -= vp[j] qp[k] + qp[j] vp[k]      (pending rank-2 update)
 *   p += A v                                  (with the updated values, using symmetry)
 * Four rows at a time share the loads of vp, qp, v and p[k]; the small
 * triangle right of column j in those rows is finished row by row.
 */
function sweepRows(
  w: Float64Array, n: number, i: number,
  vp: Float64Array, qp: Float64Array, v: Float64Array, p: Float64Array,
): void {
  let j = 0;
  for (; j + 4 <= i; j += 4) {
    const r0 = j * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    const a0 = vp[j], b0 = qp[j], c0 = v[j];
    const a1 = vp[j + 1], b1 = qp[j + 1], c1 = v[j + 1];
    const a2 = vp[j + 2], b2 = qp[j + 2], c2 = v[j + 2];
    const a3 = vp[j + 3], b3 = qp[j + 3], c3 = v[j + 3];
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < j; k++) {
      const q = qp[k], u = vp[k], vk = v[k];
      const x0 = w[r0 + k] - a0 * q - b0 * u;
      const x1 = w[r1 + k] - a1 * q - b1 * u;
      const x2 = w[r2 + k] - a2 * q - b2 * u;
      const x3 = w[r3 + k] - a3 * q - b3 * u;
      w[r0 + k] = x0; w[r1 + k] = x1; w[r2 + k] = x2; w[r3 + k] = x3;
      s0 += x0 * vk; s1 += x1 * vk; s2 += x2 * vk; s3 += x3 * vk;
      p[k] += (x0 * c0 + x1 * c1) + (x2 * c2 + x3 * c3);
    }
    p[j] += s0; p[j + 1] += s1; p[j + 2] += s2; p[j + 3] += s3;
    for (let jj = j; jj < j + 4; jj++) sweepRowPart(w, n, jj, j, vp, qp, v, p);
  }
  for (; j < i; j++) sweepRowPart(w, n, j, 0, vp, qp, v, p);
}

/** sweepRows for one row j, columns kStart <= k <= j (diagonal included). */
function sweepRowPart(
  w: Float64Array, n: number, j: number, kStart: number,
  vp: Float64Array, qp: Float64Array, v: Float64Array, p: Float64Array,
): void {
  const rj = j * n;
  const vpj = vp[j], qpj = qp[j], vj = v[j];
  let s = 0;
  for (let k = kStart; k < j; k++) {
    const x = w[rj + k] - vpj * qp[k] - qpj * vp[k];
    w[rj + k] = x;
    s += x * v[k];
    p[k] += x * vj;
  }
  const dj = w[rj + j] - 2 * vpj * qpj;
  w[rj + j] = dj;
  p[j] += s + dj * vj;
}
