/**
 * Metric registry (in the spirit of stylegan2-ada's metric_main): each metric
 * has a name, a one-line description, and a compute function from the
 * evaluated inputs to named scalar results. Callers (CLI, training loop)
 * gather the inputs once and run any subset of metrics by name.
 */
import { UserError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { type FrechetOptions, frechetDistanceFromStats } from './fid.js';
import { type GaussianStats, gaussianStatsFromFeatures } from './gaussian-stats.js';
import { type InceptionScoreOptions, inceptionScore } from './inception-score.js';
import { type KidOptions, kernelInceptionDistance } from './kid.js';

export interface MetricInputs {
  /** Pool3 features [n, d] of generated samples. */
  readonly fakeFeatures?: Matrix;
  /** Pool3 features [n, d] of real samples. */
  readonly realFeatures?: Matrix;
  /** Precomputed statistics; FID prefers these over features (e.g. a stats file for the real set). */
  readonly fakeStats?: GaussianStats;
  readonly realStats?: GaussianStats;
  /** Unbiased logits [n, classes] of generated samples (Inception Score input). */
  readonly fakeLogits?: Matrix;
}

export interface MetricOptions {
  readonly fid?: FrechetOptions;
  readonly is?: InceptionScoreOptions;
  readonly kid?: KidOptions;
}

/** Named scalar results, e.g. { fid: 12.3 } or { is_mean: 9.1, is_std: 0.2 }. */
export type MetricResult = Record<string, number>;

export interface MetricSpec {
  readonly name: string;
  readonly description: string;
  readonly compute: (inputs: MetricInputs, options: MetricOptions) => MetricResult;
}

const registry = new Map<string, MetricSpec>();

export function registerMetric(spec: MetricSpec): void {
  if (!/^[a-z][a-z0-9_]*$/.test(spec.name)) throw new Error(`invalid metric name ${JSON.stringify(spec.name)}`);
  if (registry.has(spec.name)) throw new Error(`metric ${spec.name} is already registered`);
  registry.set(spec.name, spec);
}

export function isValidMetric(name: string): boolean {
  return registry.has(name);
}

export function listMetrics(): MetricSpec[] {
  return [...registry.values()];
}

export function getMetric(name: string): MetricSpec {
  const spec = registry.get(name);
  if (!spec) throw new UserError(`unknown metric '${name}' (available: ${[...registry.keys()].join(', ')})`);
  return spec;
}

/** Runs the named metrics in order and merges their results. */
export function computeMetrics(names: readonly string[], inputs: MetricInputs, options: MetricOptions = {}): MetricResult {
  const specs = names.map(getMetric); // unknown names fail before any work
  const out: MetricResult = {};
  for (const spec of specs) Object.assign(out, spec.compute(inputs, options));
  return out;
}

function statsOf(which: 'fake' | 'real', inputs: MetricInputs, metric: string): GaussianStats {
  const stats = which === 'fake' ? inputs.fakeStats : inputs.realStats;
  if (stats) return stats;
  const features = which === 'fake' ? inputs.fakeFeatures : inputs.realFeatures;
  if (!features) throw new UserError(`metric ${metric} needs ${which} features or ${which} statistics`);
  return gaussianStatsFromFeatures(features, `${which} features`);
}

function need<T>(value: T | undefined, metric: string, what: string): T {
  if (value === undefined) throw new UserError(`metric ${metric} needs ${what}`);
  return value;
}

registerMetric({
  name: 'fid',
  description: 'Frechet Inception Distance between fake and real pool3 statistics (pytorch-fid)',
  compute: (inputs, options) => ({
    fid: frechetDistanceFromStats(statsOf('fake', inputs, 'fid'), statsOf('real', inputs, 'fid'), options.fid),
  }),
});

registerMetric({
  name: 'is',
  description: 'Inception Score of fake samples from unbiased logits, 10 splits (torch-fidelity)',
  compute: (inputs, options) => {
    const r = inceptionScore(need(inputs.fakeLogits, 'is', 'fake logits'), options.is);
    return { is_mean: r.mean, is_std: r.std };
  },
});

registerMetric({
  name: 'kid',
  description: 'Kernel Inception Distance, cubic polynomial kernel, 100 subsets of 1000 (torch-fidelity)',
  compute: (inputs, options) => {
    const r = kernelInceptionDistance(
      need(inputs.fakeFeatures, 'kid', 'fake features (statistics are not enough)'),
      need(inputs.realFeatures, 'kid', 'real features (statistics are not enough)'),
      options.kid,
    );
    return { kid_mean: r.mean, kid_std: r.std };
  },
});
