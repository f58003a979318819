/**
 * Frechet Inception Distance between two Gaussians:
 *   FID = |mu1 - mu2|^2 + tr(s1) + tr(s2) - 2 tr(sqrtm(s1 s2)).
 *
 * tr(sqrtm(s1 s2)) is computed from a symmetric PSD matrix congruent to
 * s1 s2 (see linalg/trace-sqrt-product.ts), never from a general matrix
 * square root, so it is real and stable even for rank-deficient covariances
 * (fewer samples than feature dimensions).
 *
 * pytorch-fid's eps branch: when SciPy's sqrtm(s1 @ s2) fails (non-finite
 * result), pytorch-fid recomputes tr sqrtm((s1 + eps I)(s2 + eps I)) with
 * eps = 1e-6 while the traces keep the un-offset sigmas. SciPy's Schur-based
 * sqrtm breaks down on exact zero eigenvalues, which in practice come from
 * features that are exactly constant (dead ReLU units: zero variance) in
 * either set. The default policy 'pytorch-fid' therefore applies the offset
 * when a covariance has an exactly-zero diagonal entry: it reproduces the
 * reference fixtures (main, rank-deficient: no offset; singular: offset).
 * Whether SciPy fails is build-dependent, so this is a faithful proxy rather
 * than a guarantee. 'never' is torch-fidelity's behaviour (eigenvalues of
 * s1 s2, no eps); 'always' offsets unconditionally.
 */
import { UserError } from '../errors.js';
import { type Matrix, matrix, trace } from '../linalg/matrix.js';
import { type TraceSqrtMethod, traceSqrtProductDetails } from '../linalg/trace-sqrt-product.js';
import { type GaussianStats, checkGaussianStats, gaussianStatsFromFeatures } from './gaussian-stats.js';
import { type MetricInputs, type MetricOption, defineMetric, requireInput } from './metric-spec.js';

export { type GaussianStats, gaussianStatsFromFeatures };

export type EpsOffsetPolicy = 'pytorch-fid' | 'never' | 'always';

export interface FrechetOptions {
  /** When to use (s1 + eps I)(s2 + eps I) inside the square root; default 'pytorch-fid'. */
  epsOffset?: EpsOffsetPolicy;
  /** The offset; default 1e-6 (pytorch-fid). */
  eps?: number;
  /** Factorisation behind tr sqrtm; default 'cholesky' (fast), 'eigh' for cross-checks. */
  method?: TraceSqrtMethod;
}

export interface FrechetDetails {
  readonly fid: number;
  /** |mu1 - mu2|^2 */
  readonly meanTerm: number;
  readonly traceSigma1: number;
  readonly traceSigma2: number;
  /** tr(sqrtm(s1 s2)), or of the eps-offset product when `epsOffsetApplied`. */
  readonly traceSqrtProduct: number;
  readonly epsOffsetApplied: boolean;
}

export const PYTORCH_FID_EPS = 1e-6;

export function frechetDistance(
  mu1: Float64Array, sigma1: Matrix, mu2: Float64Array, sigma2: Matrix, options: FrechetOptions = {},
): number {
  return frechetDistanceDetails(mu1, sigma1, mu2, sigma2, options).fid;
}

export function frechetDistanceFromStats(a: GaussianStats, b: GaussianStats, options: FrechetOptions = {}): number {
  return frechetDistanceDetails(a.mu, a.sigma, b.mu, b.sigma, options).fid;
}

/** FID between the feature sets [n1, d] and [n2, d] (mean and ddof-1 covariance of each). */
export function frechetDistanceFromFeatures(f1: Matrix, f2: Matrix, options: FrechetOptions = {}): number {
  return frechetDistanceFromStats(gaussianStatsFromFeatures(f1, 'first feature set'),
    gaussianStatsFromFeatures(f2, 'second feature set'), options);
}

export function frechetDistanceDetails(
  mu1: Float64Array, sigma1: Matrix, mu2: Float64Array, sigma2: Matrix, options: FrechetOptions = {},
): FrechetDetails {
  checkGaussianStats({ mu: mu1, sigma: sigma1 }, 'first statistics');
  checkGaussianStats({ mu: mu2, sigma: sigma2 }, 'second statistics');
  if (mu1.length !== mu2.length) {
    throw new UserError(
      `statistics have different dimensions (${mu1.length} vs ${mu2.length}): they come from different feature layers`,
    );
  }
  const policy = options.epsOffset ?? 'pytorch-fid';
  const eps = options.eps ?? PYTORCH_FID_EPS;
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`eps must be a finite non-negative number, got ${eps}`);

  let meanTerm = 0;
  for (let i = 0; i < mu1.length; i++) {
    const dlt = mu1[i] - mu2[i];
    meanTerm += dlt * dlt;
  }
  const traceSigma1 = trace(sigma1);
  const traceSigma2 = trace(sigma2);

  const offset = policy === 'always' || (policy === 'pytorch-fid' && (hasZeroVariance(sigma1) || hasZeroVariance(sigma2)));
  const shift = offset ? eps : 0;
  // With the offset both factors are positive definite: every eigenvalue is
  // genuine (>= eps^2), so none is floored as noise.
  const tsp = traceSqrtProductDetails(symmetrized(sigma1, shift), symmetrized(sigma2, shift), {
    method: options.method,
    relativeFloor: shift > 0 ? 0 : undefined,
  }).value;
  // Same association as pytorch-fid: diff.dot(diff) + tr(s1) + tr(s2) - 2 * tr_covmean.
  const fid = meanTerm + traceSigma1 + traceSigma2 - 2 * tsp;
  return { fid, meanTerm, traceSigma1, traceSigma2, traceSqrtProduct: tsp, epsOffsetApplied: offset };
}

/** A feature that is exactly constant in its set: the case where SciPy's sqrtm breaks down. */
function hasZeroVariance(sigma: Matrix): boolean {
  const n = sigma.rows;
  for (let i = 0; i < n; i++) if (sigma.data[i * n + i] === 0) return true;
  return false;
}

/** (s + s^T) / 2 + shift * I: the factorisations read one triangle only, so average both. */
function symmetrized(s: Matrix, shift: number): Matrix {
  const n = s.rows, src = s.data;
  const out = matrix(n, n);
  const d = out.data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (src[i * n + j] + src[j * n + i]);
      d[i * n + j] = v;
      d[j * n + i] = v;
    }
    d[i * n + i] = src[i * n + i] + shift;
  }
  return out;
}

/** The --fid-eps-offset setting; intra-class FID shares it (one flag sets both). */
export const FID_EPS_OFFSET_OPTION: MetricOption = {
  key: 'epsOffset',
  flag: '--fid-eps-offset',
  arg: 'policy',
  description: "when FID's matrix square root uses (s1 + eps I)(s2 + eps I): pytorch-fid (when a feature is constant, where SciPy's sqrtm fails), never (torch-fidelity), always",
  type: { kind: 'choice', choices: ['pytorch-fid', 'never', 'always'] satisfies EpsOffsetPolicy[] },
  default: 'pytorch-fid',
  reportAs: 'fid_sqrtm_eps_policy',
};

/** Given statistics, else those of the given features. */
function statsOf(which: 'fake' | 'real', inputs: MetricInputs): GaussianStats {
  const stats = which === 'fake' ? inputs.fakeStats : inputs.realStats;
  if (stats) return stats;
  const features = requireInput(which === 'fake' ? inputs.fakeFeatures : inputs.realFeatures, 'fid', `${which} features or ${which} statistics`);
  return gaussianStatsFromFeatures(features, `${which} features`);
}

export const fidMetric = defineMetric({
  name: 'fid',
  label: 'FID',
  description: 'Frechet Inception Distance between fake and real pool3 statistics (pytorch-fid)',
  byDefault: true,
  needs: { fake: { stats: true }, reference: 'stats' },
  options: [FID_EPS_OFFSET_OPTION],
  display: [{ label: 'FID', value: 'fid', digits: 3 }],
  minSamples: () => ({ n: 2, why: 'FID needs at least 2 samples for the covariance' }),
  compute: (inputs, options: FrechetOptions) => ({
    fid: frechetDistanceFromStats(statsOf('fake', inputs), statsOf('real', inputs), options),
  }),
});
