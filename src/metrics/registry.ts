/**
 * Metric registry (in the spirit of stylegan2-ada's metric_main): every metric
 * is a spec in its own file (metric-spec.ts says what a spec declares), listed
 * here once. The evaluation plan, pipeline, report and CLI read the specs, so a
 * new metric is its own file plus one line in METRICS. The order of METRICS is
 * the order of --metrics listings, summary lines, sweep columns and report
 * settings.
 */
import { UserError } from '../errors.js';
import { densityCoverageMetric } from './density-coverage.js';
import { fidMetric } from './fid.js';
import { inceptionScoreMetric } from './inception-score.js';
import { intraClassFidMetric } from './intra-class-fid.js';
import { kidMetric } from './kid.js';
import type { MetricInputs, MetricOption, MetricResult, MetricSpec } from './metric-spec.js';
import { precisionRecallMetric } from './precision-recall.js';

export type { MetricInputs, MetricResult, MetricSpec };

const METRICS = [
  inceptionScoreMetric,
  fidMetric,
  kidMetric,
  precisionRecallMetric,
  densityCoverageMetric,
  intraClassFidMetric,
] as const;

/** 'is' | 'fid' | 'kid' | ...: the names --metrics accepts. */
export type MetricName = (typeof METRICS)[number]['name'];

/** Compute options by metric name, e.g. { kid: { subsets: 5, subsetSize: 50 } }. */
export type MetricOptions = Readonly<Record<string, object | undefined>>;

const byName = new Map<string, MetricSpec>();
for (const spec of METRICS) {
  if (!/^[a-z][a-z0-9_]*$/.test(spec.name)) throw new Error(`invalid metric name ${JSON.stringify(spec.name)}`);
  if (byName.has(spec.name)) throw new Error(`metric ${spec.name} is listed twice`);
  byName.set(spec.name, spec);
}

const options = new Map<string, MetricOption>();
for (const spec of METRICS) {
  for (const o of spec.options) {
    const seen = options.get(o.flag);
    // metrics may share a setting (iFID uses FID's --fid-eps-offset), but only as one declaration
    if (seen && seen !== o) throw new Error(`metric option ${o.flag} is declared twice differently`);
    options.set(o.flag, o);
  }
}

export function isValidMetric(name: string): name is MetricName {
  return byName.has(name);
}

export function listMetrics(): readonly MetricSpec<MetricName>[] {
  return METRICS;
}

/** Every metric option once (shared ones once), in registry order. */
export function metricOptions(): MetricOption[] {
  return [...options.values()];
}

export function getMetric(name: string): MetricSpec {
  const spec = byName.get(name);
  if (!spec) throw new UserError(`unknown metric '${name}' (available: ${[...byName.keys()].join(', ')})`);
  return spec;
}

/** Runs the named metrics in order and merges their results; `options[name]` goes to that metric. */
export function computeMetrics(names: readonly string[], inputs: MetricInputs, options: MetricOptions = {}): MetricResult {
  const specs = names.map(getMetric); // unknown names fail before any work
  const out: MetricResult = {};
  for (const spec of specs) Object.assign(out, spec.compute(inputs, options[spec.name] ?? {}));
  return out;
}
