/**
 * The metric maths on plain arrays (platform-neutral): features, logits and
 * statistics cross as `{ data, shape }` and come back the same way. Numbers are
 * those of fid.ts / inception-score.ts / kid.ts (pytorch-fid and torch-fidelity
 * conventions).
 */
import { UserError } from '../errors.js';
import type { ArrayView } from '../io/ndarray.js';
import { matrixFromNdArray, statsFromArrays } from './feature-matrix.js';
import { type FrechetOptions, frechetDistanceDetails } from './fid.js';
import { type GaussianStats, gaussianStatsFromFeatures } from './gaussian-stats.js';
import { type InceptionScoreOptions, inceptionScore as inceptionScoreOfMatrix } from './inception-score.js';
import { type KidOptions, kernelInceptionDistance as kidOfMatrices } from './kid.js';

export type { FrechetOptions, InceptionScoreOptions, KidOptions };

/** FID statistics: mean [d] and ddof-1 covariance [d, d], float64. */
export interface FeatureStatistics {
  readonly mu: { readonly dtype: 'float64'; readonly data: Float64Array; readonly shape: [number] };
  readonly sigma: { readonly dtype: 'float64'; readonly data: Float64Array; readonly shape: [number, number] };
}

export function statisticsOf(stats: GaussianStats): FeatureStatistics {
  const d = stats.mu.length;
  return { mu: { dtype: 'float64', data: stats.mu, shape: [d] }, sigma: { dtype: 'float64', data: stats.sigma.data, shape: [d, d] } };
}

export function gaussianOf(s: { mu: ArrayView; sigma: ArrayView }, what: string): GaussianStats {
  if (!s || !s.mu || !s.sigma) throw new UserError(`${what}: expected { mu, sigma }`);
  return statsFromArrays(new Map([['mu', s.mu], ['sigma', s.sigma]]), what);
}

/** Mean and covariance of features [N, d] (N >= 2), as pytorch-fid computes them. */
export function featureStatistics(features: ArrayView): FeatureStatistics {
  return statisticsOf(gaussianStatsFromFeatures(matrixFromNdArray(features, 'features'), 'features'));
}

function isStats(x: unknown): x is { mu: ArrayView; sigma: ArrayView } {
  return !!x && typeof x === 'object' && 'mu' in x && 'sigma' in x;
}

/** FID between two sets given as features [N, d] or as statistics { mu, sigma } (mixed is fine). */
export function frechetInceptionDistance(a: ArrayView | { mu: ArrayView; sigma: ArrayView }, b: ArrayView | { mu: ArrayView; sigma: ArrayView }, options: FrechetOptions = {}): number {
  const ga = isStats(a) ? gaussianOf(a, 'first statistics') : gaussianStatsFromFeatures(matrixFromNdArray(a, 'first features'), 'first features');
  const gb = isStats(b) ? gaussianOf(b, 'second statistics') : gaussianStatsFromFeatures(matrixFromNdArray(b, 'second features'), 'second features');
  if (ga.mu.length !== gb.mu.length) throw new UserError(`FID: the sets have different feature dimensions (${ga.mu.length} vs ${gb.mu.length})`);
  return frechetDistanceDetails(ga.mu, ga.sigma, gb.mu, gb.sigma, options).fid;
}

/** Inception Score of logits [N, classes] (torch-fidelity: 10 splits, shuffled with seed 2020). */
export function inceptionScore(logits: ArrayView, options: InceptionScoreOptions = {}): { mean: number; std: number } {
  const r = inceptionScoreOfMatrix(matrixFromNdArray(logits, 'logits'), options);
  return { mean: r.mean, std: r.std };
}

/** Kernel Inception Distance between features x [Nx, d] and y [Ny, d] (torch-fidelity's subsets). */
export function kernelInceptionDistance(x: ArrayView, y: ArrayView, options: KidOptions = {}): { mean: number; std: number } {
  const r = kidOfMatrices(matrixFromNdArray(x, 'first features'), matrixFromNdArray(y, 'second features'), options);
  return { mean: r.mean, std: r.std };
}
