/**
 * Which metrics an evaluation computes and with what settings, checked before
 * any image is generated or read: a run that would fail at the end for lack of
 * samples or of a reference fails at once, saying how many are needed or what
 * to pass. Everything here is derived from the metrics' declarations
 * (metrics/metric-spec.ts): their reference needs, sample minimums, options
 * and what the pipeline must keep for them (`gather`).
 */
import { UserError } from '../errors.js';
import { type MetricOption, type OptionValue, type SampleContext, optionSettingName } from '../metrics/metric-spec.js';
import { type MetricName, getMetric, isValidMetric, listMetrics, metricOptions } from '../metrics/registry.js';

export type EvalMetric = MetricName;
export const EVAL_METRICS: readonly EvalMetric[] = listMetrics().map((m) => m.name);

/** Below this many samples the 2048x2048 covariance is rank-deficient and FID is strongly biased upward. */
export const FULL_RANK_SAMPLES = 2049;

/** What the pipeline keeps of each set: the union of the planned metrics' needs. */
export interface Gather {
  readonly fake: { readonly stats: boolean; readonly features: boolean; readonly logits: boolean; readonly classes: boolean };
  /** Real images are featurised and kept as rows when `features`; `stats` alone is satisfied by a statistics file. */
  readonly real: { readonly stats: boolean; readonly features: boolean; readonly classes: boolean };
  /** Fewest images of every class in each set (0: no per-class metric). */
  readonly perClass: number;
}

export interface MetricPlan {
  readonly metrics: readonly EvalMetric[];
  /** Compute options of each planned metric by name, defaults applied (what computeMetrics takes). */
  readonly options: Readonly<Record<string, Readonly<Record<string, OptionValue>>>>;
  /** Every declared setting by its name (splits, kidSubsetSize, fidEpsOffset, prK, ...), defaults applied. */
  readonly settings: Readonly<Record<string, OptionValue>>;
  readonly gather: Gather;
}

/** Parses "fid,is,kid" (any order, no repeats). */
export function parseMetricList(spec: string): EvalMetric[] {
  const names = spec.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UserError('--metrics is empty (expected a list such as fid,is,kid)');
  const out: EvalMetric[] = [];
  for (const name of names) {
    if (!isValidMetric(name)) throw new UserError(`unknown metric '${name}' in --metrics (available: ${EVAL_METRICS.join(', ')})`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export interface PlanInputs {
  /** Explicit --metrics, if given. */
  metrics?: readonly string[];
  /** Whether FID statistics or real images were given. */
  hasStats: boolean;
  hasRealImages: boolean;
  /** Metric settings by name (splits, kidSubsets, kidSubsetSize, fidEpsOffset, prK, dcK, ...); undefined = the default. */
  [setting: string]: unknown;
}

/** The reason a metric's reference need is not met by what was given, or null. */
function missingReference(label: string, need: string, p: PlanInputs): string | null {
  if (need === 'stats' && !p.hasStats && !p.hasRealImages) {
    return `${label} needs reference statistics: pass --stats STATS.npz (make one with \`biggan fid-stats --data PATH --out STATS.npz\`) or --real PATH`;
  }
  if (need === 'features' && !p.hasRealImages) {
    return `${label} needs the reference images themselves, not statistics: pass --real PATH (a folder, .npy or prepared .bgd)`;
  }
  if (need === 'class-features' && !p.hasRealImages) {
    return `${label} needs labelled reference images, not statistics: pass --real PATH with class labels (a folder with one sub-folder per class, CIFAR-10, a prepared .bgd or images.npy:labels.npy)`;
  }
  return null;
}

function settingValue(o: MetricOption, p: PlanInputs): OptionValue {
  const name = optionSettingName(o);
  const v = p[name];
  if (v === undefined) return o.default;
  if (o.type.kind === 'int') {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < o.type.min) {
      throw new UserError(`${name} must be ${o.type.min === 1 ? 'a positive integer' : `an integer >= ${o.type.min}`}, got ${String(v)}`);
    }
    return v;
  }
  if (typeof v !== 'string' || !o.type.choices.includes(v)) throw new UserError(`${name} must be one of ${o.type.choices.join(', ')}`);
  return v;
}

/**
 * The metrics to compute: the explicit list, else those declared `byDefault`
 * whose reference is at hand (IS, plus FID with statistics or real images).
 */
export function makeMetricPlan(p: PlanInputs): MetricPlan {
  for (const m of p.metrics ?? []) getMetric(m); // unknown names: one-line error naming those available
  const metrics: EvalMetric[] = p.metrics
    ? [...new Set(p.metrics)] as EvalMetric[]
    : listMetrics().filter((s) => s.byDefault && missingReference(s.label, s.needs.reference, p) === null).map((s) => s.name);
  // registry order, so the first message is the same whatever the order of --metrics
  for (const spec of listMetrics()) {
    if (!metrics.includes(spec.name)) continue;
    const why = missingReference(spec.label, spec.needs.reference, p);
    if (why) throw new UserError(why);
  }
  const settings: Record<string, OptionValue> = {};
  for (const o of metricOptions()) settings[optionSettingName(o)] = settingValue(o, p);
  const options: Record<string, Record<string, OptionValue>> = {};
  for (const m of metrics) {
    options[m] = Object.fromEntries(getMetric(m).options.map((o) => [o.key, settings[optionSettingName(o)]!]));
  }
  return { metrics, options, settings, gather: gatherFor(metrics) };
}

function gatherFor(metrics: readonly EvalMetric[]): Gather {
  const specs = metrics.map(getMetric);
  const any = (f: (s: (typeof specs)[number]) => boolean | undefined): boolean => specs.some((s) => !!f(s));
  const realFeatures = any((s) => s.needs.reference === 'features' || s.needs.reference === 'class-features');
  return {
    fake: {
      stats: any((s) => s.needs.fake.stats),
      features: any((s) => s.needs.fake.features || s.needs.fake.classes),
      logits: any((s) => s.needs.fake.logits),
      classes: any((s) => s.needs.fake.classes),
    },
    real: { stats: any((s) => s.needs.reference === 'stats'), features: realFeatures, classes: any((s) => s.needs.reference === 'class-features') },
    perClass: Math.max(0, ...specs.map((s) => s.needs.perClass ?? 0)),
  };
}

/** The metrics of the plan that need a per-class reference, as named in messages ("iFID"). */
export function perClassLabels(plan: MetricPlan): string {
  return plan.metrics.map(getMetric).filter((s) => s.needs.perClass).map((s) => s.label).join(', ');
}

/**
 * The fewest samples each metric of the plan can be computed from, with the
 * reason: for the evaluated set (default), or for the real set (only metrics
 * that compare against real images count).
 */
export function minimumSamples(plan: MetricPlan, ctx: SampleContext = { set: 'fake' }): { n: number; why: string } {
  let best = { n: 1, why: '' };
  for (const spec of listMetrics()) {
    if (!plan.metrics.includes(spec.name)) continue;
    if (ctx.set === 'real' && spec.needs.reference === 'none') continue;
    const need = spec.minSamples(plan.options[spec.name]!, ctx);
    if (need && need.n > best.n) best = need;
  }
  return best;
}

/** Throws a one-line UserError when `n` samples (of `what`) are too few for the plan. */
export function checkSampleCount(plan: MetricPlan, n: number, what: string, ctx: SampleContext = { set: 'fake' }): void {
  const min = minimumSamples(plan, ctx);
  if (n < min.n) throw new UserError(`too few samples: ${what} has ${n}, but ${min.why}`);
}
