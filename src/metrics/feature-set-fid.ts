/**
 * FID between two sets of feature rows: the number fid.ts gives for their
 * means and ddof-1 covariances, computed without a d x d matrix when the sets
 * are small (intra-class FID: tens of images per class against 2048 features).
 *
 * Both covariances vanish outside the span U of the centred rows, so
 *   tr sqrtm(S1 S2) = tr sqrtm(S1_U S2_U),
 * S_U being the covariances in an orthonormal basis of U (u = dim U <= n1 + n2).
 * With pytorch-fid's eps offset, each of the d - u directions outside U is an
 * eigenvector of (S1 + eps I)(S2 + eps I) with eigenvalue eps^2 and adds eps.
 * Coordinates in U come from a pivoted Cholesky factor C of the rows' Gram
 * matrix: G = Z Z^T = C C^T means C = Z Q for an orthonormal Q, and tr sqrtm is
 * the same in any orthonormal basis. Cost O((n1 + n2)^2 d) instead of
 * O((n1 + n2) d^2) for the covariances plus the factorisations of d x d matrices.
 * With at least as many rows as dimensions the covariance route is cheaper
 * and is taken.
 */
import { UserError } from '../errors.js';
import { type Matrix, allFinite, matrix } from '../linalg/matrix.js';
import { gemmABt } from '../linalg/gemm.js';
import { pivotedCholesky } from '../linalg/pivoted-cholesky.js';
import { traceSqrtProductDetails } from '../linalg/trace-sqrt-product.js';
import { type FrechetOptions, PYTORCH_FID_EPS, frechetDistanceFromFeatures } from './fid.js';

export interface FeatureSetFidOptions extends FrechetOptions {
  /** 'span' (above), 'covariance' (fid.ts on the d x d statistics), or 'auto' (default: 'span' when n1 + n2 < d). */
  route?: 'auto' | 'span' | 'covariance';
}

/** FID between feature sets x [n1, d] and y [n2, d] (n1, n2 >= 2). */
export function featureSetFid(x: Matrix, y: Matrix, options: FeatureSetFidOptions = {}): number {
  const d = x.cols;
  if (y.cols !== d) throw new UserError(`FID: feature sets have different dimensions (${d} vs ${y.cols})`);
  for (const [set, what] of [[x, 'first feature set'], [y, 'second feature set']] as const) {
    if (set.rows < 2) throw new UserError(`${what}: too few samples for the covariance: got ${set.rows}, need at least 2`);
    if (!allFinite(set.data)) throw new UserError(`${what}: features contain NaN or infinite values`);
  }
  const route = options.route ?? 'auto';
  if (route === 'covariance' || (route === 'auto' && x.rows + y.rows >= d)) return frechetDistanceFromFeatures(x, y, options);

  const n1 = x.rows, n2 = y.rows, m = n1 + n2;
  const cx = centred(x), cy = centred(y);
  let meanTerm = 0;
  for (let j = 0; j < d; j++) {
    const t = cx.mu[j]! - cy.mu[j]!;
    meanTerm += t * t;
  }
  const policy = options.epsOffset ?? 'pytorch-fid';
  const eps = options.eps ?? PYTORCH_FID_EPS;
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`eps must be a finite non-negative number, got ${eps}`);
  // fid.ts's proxy for SciPy's sqrtm failing: a feature exactly constant in either set
  const shift = policy === 'always' || (policy === 'pytorch-fid' && (cx.constantFeature || cy.constantFeature)) ? eps : 0;

  // Gram matrix of Z = [x centred / sqrt(n1 - 1); y centred / sqrt(n2 - 1)], so S1 = Z1^T Z1, S2 = Z2^T Z2
  const z = new Float64Array(m * d);
  z.set(cx.z);
  z.set(cy.z, n1 * d);
  const g = matrix(m, m);
  gemmABt(m, m, d, 1, { data: z, offset: 0, ld: d }, { data: z, offset: 0, ld: d }, { data: g.data, offset: 0, ld: m }, true);
  mirrorLower(g.data, m, 0);
  const f = pivotedCholesky(g);
  const r = f.rank;
  let tsp = (d - r) * shift;
  if (r > 0) {
    // C^T (r x m) with the rows back in their original order: columns [0, n1) are x's, [n1, m) y's
    const ct = new Float64Array(r * m);
    for (let j = 0; j < r; j++) for (let i = 0; i < m; i++) ct[j * m + f.perm[i]!] = f.lt[j * m + i]!;
    const a = matrix(r, r), b = matrix(r, r);
    gemmABt(r, r, n1, 1, { data: ct, offset: 0, ld: m }, { data: ct, offset: 0, ld: m }, { data: a.data, offset: 0, ld: r }, true);
    gemmABt(r, r, n2, 1, { data: ct, offset: n1, ld: m }, { data: ct, offset: n1, ld: m }, { data: b.data, offset: 0, ld: r }, true);
    mirrorLower(a.data, r, shift);
    mirrorLower(b.data, r, shift);
    // as fid.ts: with the offset every eigenvalue is genuine (>= eps^2), so none is floored as noise
    tsp += traceSqrtProductDetails(a, b, { method: options.method, relativeFloor: shift > 0 ? 0 : undefined }).value;
  }
  return meanTerm + cx.trace + cy.trace - 2 * tsp;
}

/** Rows minus their mean, scaled by 1 / sqrt(n - 1); the mean, tr of the ddof-1 covariance, and whether a feature is constant. */
function centred(x: Matrix): { z: Float64Array; mu: Float64Array; trace: number; constantFeature: boolean } {
  const n = x.rows, d = x.cols, data = x.data;
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += data[i * d + j]!;
  for (let j = 0; j < d; j++) mu[j] /= n; // as gaussian-stats.ts: sum, then divide
  const scale = 1 / Math.sqrt(n - 1);
  const z = new Float64Array(n * d), ss = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const c = data[i * d + j]! - mu[j]!;
      ss[j] += c * c;
      z[i * d + j] = c * scale;
    }
  }
  let trace = 0, constantFeature = false;
  for (let j = 0; j < d; j++) {
    trace += ss[j]! / (n - 1);
    if (ss[j] === 0) constantFeature = true;
  }
  return { z, mu, trace, constantFeature };
}

/** Copies the lower triangle of the n x n array onto the upper and adds `shift` to the diagonal. */
function mirrorLower(a: Float64Array, n: number, shift: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j]!;
    a[i * n + i] += shift;
  }
}
