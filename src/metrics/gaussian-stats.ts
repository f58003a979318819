/**
 * The Gaussian summary (mean, covariance) that FID compares, with checks and
 * the exact two-pass computation from an in-memory feature matrix
 * (np.mean(axis=0), np.cov(rowvar=False) with ddof = 1, as pytorch-fid does).
 */
import { UserError } from '../errors.js';
import { type Matrix, matrix, allFinite } from '../linalg/matrix.js';
import { gemmABt } from '../linalg/gemm.js';

export interface GaussianStats {
  /** Mean feature vector, length d. */
  readonly mu: Float64Array;
  /** d x d covariance (ddof = 1). */
  readonly sigma: Matrix;
}

/** Throws a UserError unless mu/sigma are consistent, finite and sigma is (nearly) symmetric. */
export function checkGaussianStats(stats: GaussianStats, what: string): GaussianStats {
  const { mu, sigma } = stats;
  if (sigma.rows !== sigma.cols) throw new UserError(`${what}: sigma must be square, got ${sigma.rows}x${sigma.cols}`);
  if (mu.length !== sigma.rows) {
    throw new UserError(`${what}: mu has ${mu.length} entries but sigma is ${sigma.rows}x${sigma.cols}`);
  }
  if (!allFinite(mu)) throw new UserError(`${what}: mu contains NaN or infinite values`);
  if (!allFinite(sigma.data)) throw new UserError(`${what}: sigma contains NaN or infinite values`);
  const n = sigma.rows, s = sigma.data;
  let scale = 0, asym = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      scale = Math.max(scale, Math.abs(s[i * n + j]));
      asym = Math.max(asym, Math.abs(s[i * n + j] - s[j * n + i]));
    }
  }
  // float32 round trips leave ~1e-7 relative asymmetry; much more means this is not a covariance.
  if (asym > 1e-5 * scale) {
    throw new UserError(`${what}: sigma is not symmetric (max |s_ij - s_ji| = ${asym.toExponential(3)}), not a covariance matrix`);
  }
  return stats;
}

/** Mean and ddof-1 covariance of the rows of `features` [n, d]; needs n >= 2. */
export function gaussianStatsFromFeatures(features: Matrix, what = 'features'): GaussianStats {
  const { rows: n, cols: d, data } = features;
  if (n < 2) throw new UserError(`${what}: too few samples for the covariance: got ${n}, need at least 2`);
  if (!allFinite(data)) throw new UserError(`${what}: features contain NaN or infinite values`);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const r = i * d;
    for (let j = 0; j < d; j++) mu[j] += data[r + j];
  }
  for (let j = 0; j < d; j++) mu[j] /= n;
  // Centre first (two-pass): the covariance then has no cancellation against the mean.
  const ct = new Float64Array(d * n); // centred, transposed: one feature per row
  for (let i = 0; i < n; i++) {
    const r = i * d;
    for (let j = 0; j < d; j++) ct[j * n + i] = data[r + j] - mu[j];
  }
  const sigma = matrix(d, d);
  const op = { data: ct, offset: 0, ld: n };
  gemmABt(d, d, n, 1, op, op, { data: sigma.data, offset: 0, ld: d }, true);
  const s = sigma.data;
  const denom = n - 1;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = s[i * d + j] / denom;
      s[i * d + j] = v;
      s[j * d + i] = v;
    }
  }
  return { mu, sigma };
}
