/**
 * What a metric declares about itself, so that the evaluation pipeline, the
 * plan checks, the report and the CLI can all be derived from one object in
 * the metric's own file (registered in registry.ts):
 *   - needs: what to keep of the evaluated set (streaming statistics, pool3 rows,
 *     logits, class ids), what the reference must be (statistics, features,
 *     labelled features), the fewest samples it can be computed from;
 *   - options: its settings with defaults, CLI flags and report keys;
 *   - display: how its results read in the summary line and the sweep table;
 *   - compute: the inputs to named scalar results.
 */
import { UserError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import type { GaussianStats } from './gaussian-stats.js';

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
  /** Class id of each row of fakeFeatures / realFeatures (per-class metrics). */
  readonly fakeClasses?: Int32Array;
  readonly realClasses?: Int32Array;
  /** Names of the class ids, for messages (class k is classNames[k]). */
  readonly classNames?: readonly string[];
}

/** Named scalar results, e.g. { fid: 12.3 } or { is_mean: 9.1, is_std: 0.2 }. */
export type MetricResult = Record<string, number>;

export type OptionValue = number | string;

/** One setting of a metric: a compute option with its default, CLI flag and report key. */
export interface MetricOption {
  /** The compute option it sets (e.g. 'subsetSize' of KidOptions). */
  readonly key: string;
  /**
   * The CLI flag (e.g. '--kid-subset-size'); its camelCase form (kidSubsetSize)
   * names the setting in plan inputs and in the library's evaluate() options.
   */
  readonly flag: string;
  /** The value's placeholder in --help (`--kid-subset-size <m>`). */
  readonly arg: string;
  readonly description: string;
  readonly type: { readonly kind: 'int'; readonly min: number } | { readonly kind: 'choice'; readonly choices: readonly string[] };
  readonly default: OptionValue;
  /** Its key in the report's metric_settings. */
  readonly reportAs: string;
}

/**
 * What the reference (real) side must provide:
 *   'none'           nothing (IS);
 *   'stats'          mean and covariance: a statistics file, or computed from real images (FID);
 *   'features'       the real images' pool3 rows: real images, a statistics file is not enough (KID, PR, DC);
 *   'class-features' pool3 rows of real images with class labels (iFID).
 */
export type ReferenceNeed = 'none' | 'stats' | 'features' | 'class-features';

export interface MetricNeeds {
  /** What is kept of the evaluated set besides the running statistics (which are always kept). */
  readonly fake: {
    /** Mean and covariance (from the streaming accumulator). */
    readonly stats?: boolean;
    /** Every pool3 row, as a float64 matrix. */
    readonly features?: boolean;
    readonly logits?: boolean;
    /** The class id of every row (generated: the class it was sampled with; images: their labels). */
    readonly classes?: boolean;
  };
  readonly reference: ReferenceNeed;
  /** Per-class metrics: the fewest images of every class in each set. */
  readonly perClass?: number;
}

export interface SampleContext {
  /** Which set is checked: the evaluated ('fake') one or the reference ('real') one. */
  readonly set: 'fake' | 'real';
  /** Number of classes the set is drawn from, when known and balanced (a generator sampled class-balanced). */
  readonly classes?: number;
}

/** How a result reads: "IS 4.832 ± 0.391", "precision 0.8123". */
export interface DisplayItem {
  readonly label: string;
  /** Result key of the value, and of its spread (shown as ± spread) if any. */
  readonly value: string;
  readonly spread?: string;
  readonly digits: number;
}

export interface MetricSpec<N extends string = string> {
  /** The name in --metrics (lower case). */
  readonly name: N;
  /** The name in messages ('FID', 'precision/recall'). */
  readonly label: string;
  /** One line for --help and listings. */
  readonly description: string;
  /** Computed when no metrics are named and its reference is at hand. */
  readonly byDefault?: boolean;
  readonly needs: MetricNeeds;
  readonly options: readonly MetricOption[];
  /** Settings recorded in the report that are not options (fixed seeds). */
  readonly fixedSettings?: Readonly<Record<string, OptionValue>>;
  readonly display: readonly DisplayItem[];
  /** The fewest samples of one set it can be computed from, with the reason (undefined: any number). */
  minSamples(options: Readonly<Record<string, OptionValue>>, ctx: SampleContext): { n: number; why: string } | undefined;
  /**
   * The results. `options` holds this metric's compute options (defaults
   * already applied by an evaluation plan; a direct call may leave them out).
   */
  compute(inputs: MetricInputs, options: object): MetricResult;
}

/** Identity with the name's literal type kept (so the registry can derive the union of names). */
export function defineMetric<N extends string>(spec: MetricSpec<N>): MetricSpec<N> {
  return spec;
}

/** `--kid-subset-size` -> `kidSubsetSize`: the setting's name outside the CLI. */
export function optionSettingName(option: MetricOption): string {
  return option.flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `value`, or the one-line UserError "metric NAME needs WHAT" (a direct call left an input out). */
export function requireInput<T>(value: T | undefined, metric: string, what: string): T {
  if (value === undefined) throw new UserError(`metric ${metric} needs ${what}`);
  return value;
}
