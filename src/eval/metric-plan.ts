/**
 * Which metrics an evaluation computes and with what settings, checked before
 * any image is generated or read: a run that would fail at the end for lack of
 * samples or of a reference fails at once, saying how many are needed.
 */
import { UserError } from '../errors.js';
import type { EpsOffsetPolicy } from '../metrics/fid.js';
import { IS_DEFAULT_SPLITS } from '../metrics/inception-score.js';
import { KID_DEFAULTS } from '../metrics/kid.js';

export type EvalMetric = 'is' | 'fid' | 'kid';
export const EVAL_METRICS: readonly EvalMetric[] = ['is', 'fid', 'kid'];

export interface MetricPlan {
  readonly metrics: readonly EvalMetric[];
  /** Inception Score splits (torch-fidelity: 10). */
  readonly splits: number;
  /** KID subsets and subset size (torch-fidelity: 100 x 1000). */
  readonly kidSubsets: number;
  readonly kidSubsetSize: number;
  /** When FID takes sqrtm((s1 + eps I)(s2 + eps I)) (metrics/fid.ts); default pytorch-fid's. */
  readonly fidEpsOffset: EpsOffsetPolicy;
}

export const FID_EPS_POLICIES: readonly EpsOffsetPolicy[] = ['pytorch-fid', 'never', 'always'];

/** Below this many samples the 2048x2048 covariance is rank-deficient and FID is strongly biased upward. */
export const FULL_RANK_SAMPLES = 2049;

/** Parses "fid,is,kid" (any order, no repeats). */
export function parseMetricList(spec: string): EvalMetric[] {
  const names = spec.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UserError('--metrics is empty (expected a list such as fid,is,kid)');
  const out: EvalMetric[] = [];
  for (const name of names) {
    if (!(EVAL_METRICS as readonly string[]).includes(name)) {
      throw new UserError(`unknown metric '${name}' in --metrics (available: ${EVAL_METRICS.join(', ')})`);
    }
    if (!out.includes(name as EvalMetric)) out.push(name as EvalMetric);
  }
  return out;
}

export interface PlanInputs {
  /** Explicit --metrics, if given. */
  metrics?: EvalMetric[];
  /** Whether FID statistics or real images were given. */
  hasStats: boolean;
  hasRealImages: boolean;
  splits?: number;
  kidSubsets?: number;
  kidSubsetSize?: number;
  fidEpsOffset?: EpsOffsetPolicy;
}

/**
 * The metrics to compute: the explicit list, else IS plus FID when there is
 * something to compare against (IS alone otherwise).
 */
export function makeMetricPlan(p: PlanInputs): MetricPlan {
  const metrics = p.metrics ?? (p.hasStats || p.hasRealImages ? ['is', 'fid'] : ['is']);
  if (metrics.includes('fid') && !p.hasStats && !p.hasRealImages) {
    throw new UserError('FID needs reference statistics: pass --stats STATS.npz (make one with `biggan fid-stats --data PATH --out STATS.npz`) or --real PATH');
  }
  if (metrics.includes('kid') && !p.hasRealImages) {
    throw new UserError('KID needs the reference images themselves, not statistics: pass --real PATH (a folder, .npy or prepared .bgd)');
  }
  return {
    metrics,
    splits: p.splits ?? IS_DEFAULT_SPLITS,
    kidSubsets: p.kidSubsets ?? KID_DEFAULTS.subsets,
    kidSubsetSize: p.kidSubsetSize ?? KID_DEFAULTS.subsetSize,
    fidEpsOffset: p.fidEpsOffset ?? 'pytorch-fid',
  };
}

/** The fewest samples each metric of the plan can be computed from, with the reason. */
export function minimumSamples(plan: MetricPlan): { n: number; why: string } {
  let best = { n: 1, why: '' };
  const need = (n: number, why: string): void => {
    if (n > best.n) best = { n, why };
  };
  if (plan.metrics.includes('fid')) need(2, 'FID needs at least 2 samples for the covariance');
  if (plan.metrics.includes('is')) need(plan.splits, `the Inception Score with ${plan.splits} splits needs at least ${plan.splits} samples (lower --splits)`);
  if (plan.metrics.includes('kid')) need(plan.kidSubsetSize, `KID with subsets of ${plan.kidSubsetSize} needs at least ${plan.kidSubsetSize} samples per set (lower --kid-subset-size)`);
  return best;
}

/** Throws a one-line UserError when `n` samples (of `what`) are too few for the plan. */
export function checkSampleCount(plan: MetricPlan, n: number, what: string): void {
  const min = minimumSamples(plan);
  if (n < min.n) throw new UserError(`too few samples: ${what} has ${n}, but ${min.why}`);
}
