/**
 * The evaluation pipeline: images (generated or read) -> uint8 -> Inception
 * features -> metrics (metrics/registry.ts). The CLI (`biggan eval`) and the
 * training loop's periodic evaluation both go through these functions:
 *
 *   const ctx = { extractor, plan, reference: await loadReference(extractor, plan, { statsFile }) };
 *   const { metrics } = await evaluateGenerator(model, ctx, { n, seed, truncation, classSampling: 'balanced', batch });
 */
import type { Matrix } from '../linalg/matrix.js';
import type { GaussianStats } from '../metrics/gaussian-stats.js';
import type { SampleContext } from '../metrics/metric-spec.js';
import type { InceptionFeatureExtractor } from '../metrics/inception/feature-extractor.js';
import { pairedClasses } from '../metrics/class-groups.js';
import { type MetricResult, computeMetrics } from '../metrics/registry.js';
import type { GeneratorModel } from '../models/interfaces.js';
import { Sampler } from '../sample/sampler.js';
import { checkRealClasses, inputClassIds, requireLabels } from './class-checks.js';
import { type CollectedFeatures, collectFeatures } from './feature-collector.js';
import { type GenerationPlan, generatedBatches } from './generated-images.js';
import { type BatchOptions, type ImageBatch, type ImageInput, type InputLabels, imageBatches, openImageInput } from './image-input.js';
import { type MetricPlan, checkSampleCount, perClassLabels } from './metric-plan.js';
import { type LoadedStats, readReferenceStats } from './stats-shards.js';

/** What generated / scored images are compared against. */
export interface Reference {
  /** Statistics for FID (from --stats, else from the real images). */
  stats?: GaussianStats;
  /** Real pool3 rows (KID, precision/recall, density/coverage, iFID). */
  features?: Matrix;
  /** The class of each real row, and the real set's class names (per-class metrics). */
  classes?: Int32Array;
  classNames?: readonly string[];
  statsFile?: { file: string; loaded: LoadedStats };
  real?: { path: string; kind: string; count: number; sha256?: string };
}

export interface EvalContext {
  extractor: InceptionFeatureExtractor;
  plan: MetricPlan;
  reference: Reference;
}

export interface ReferenceOptions {
  statsFile?: string;
  /** The statistics file's contents when already read (readReferenceStats). */
  statsLoaded?: LoadedStats;
  /** Real images (folder, .npy, .bgd) for KID, or for FID when no statistics file is given. */
  real?: string;
  /** Use only the first `realLimit` real images. */
  realLimit?: number;
  /** Classes of the generator being evaluated: per-class metrics check the real labels against them before featurising. */
  classes?: number;
  batch?: number;
  skipBad?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Reads the statistics file and/or featurises the real images the plan needs (and their labels, for per-class metrics). */
export async function loadReference(extractor: InceptionFeatureExtractor, plan: MetricPlan, opts: ReferenceOptions): Promise<Reference> {
  const ref: Reference = {};
  const g = plan.gather;
  if (opts.statsFile) {
    const loaded = opts.statsLoaded ?? readReferenceStats(opts.statsFile);
    ref.statsFile = { file: opts.statsFile, loaded };
    ref.stats = loaded.stats;
  }
  const needReal = opts.real !== undefined && (g.real.features || (g.real.stats && !ref.stats));
  if (needReal) {
    const input = openImageInput(opts.real!, { limit: opts.realLimit });
    try {
      const where = `the real set ${opts.real}`;
      const labels = g.real.classes ? requireLabels(plan, input, where) : undefined;
      if (labels) checkRealClasses(plan, inputClassIds(input, labels), labels.classNames, where, opts.classes);
      checkSampleCount(plan, input.count, where, { set: 'real' });
      const collected = await collectFeatures(extractor, imageBatches(input, opts.batch ?? 16, { skipBad: opts.skipBad, labels }), {
        features: g.real.features,
        classes: g.real.classes,
        onProgress: (done) => opts.onProgress?.(done, input.count),
      });
      checkSampleCount(plan, collected.count, `${where} (after skipping unreadable images)`, { set: 'real' });
      if (!ref.stats && g.real.stats) ref.stats = collected.stats.toMeanCov(`real images ${opts.real}`);
      if (g.real.features) ref.features = collected.features;
      if (labels) {
        ref.classes = collected.classIds;
        ref.classNames = labels.classNames;
      }
      ref.real = { path: input.location, kind: input.kind, count: collected.count, sha256: input.sha256() };
    } finally {
      input.close();
    }
  }
  return ref;
}

export interface ScoreResult {
  metrics: MetricResult;
  collected: CollectedFeatures;
  /**
   * Some pool3 feature is exactly constant in the scored or the reference set:
   * with the default policy FID then used pytorch-fid's eps offset, which moves
   * it by up to 2 * 2048 * 1e-6 (~0.004).
   */
  constantFeatures: boolean;
}

/** Featurises a stream of uint8 batches and computes the plan's metrics. */
export async function scoreBatches(ctx: EvalContext, batches: AsyncIterable<ImageBatch>, onProgress?: (done: number) => void): Promise<ScoreResult> {
  const collected = await collectFeatures(ctx.extractor, batches, { ...fakeCollectOptions(ctx.plan), onProgress });
  return scoreCollected(ctx, collected);
}

/** What the plan keeps of the evaluated images' Inception outputs besides their statistics. */
export function fakeCollectOptions(plan: MetricPlan): { logits: boolean; features: boolean; classes: boolean } {
  const g = plan.gather;
  return { logits: g.fake.logits, features: g.fake.features, classes: g.fake.classes };
}

/** The plan's metrics of features already collected (here, or merged from evaluation shards). */
export function scoreCollected(ctx: EvalContext, collected: CollectedFeatures): ScoreResult {
  const { plan, reference } = ctx;
  const g = plan.gather;
  checkSampleCount(plan, collected.count, 'the evaluated set');
  const fakeStats = g.fake.stats ? collected.stats.toMeanCov('evaluated images') : undefined;
  const metrics = computeMetrics(
    plan.metrics,
    {
      fakeStats,
      realStats: reference.stats,
      fakeLogits: collected.logits,
      fakeFeatures: collected.features,
      realFeatures: reference.features,
      fakeClasses: collected.classIds,
      realClasses: reference.classes,
      classNames: reference.classNames,
    },
    plan.options,
  );
  const constantFeatures = !!fakeStats && (hasZeroVariance(fakeStats) || (!!reference.stats && hasZeroVariance(reference.stats)));
  return { metrics: clampNegativeFid(metrics), collected, constantFeatures };
}

/** Checks existing images (an opened --images input) against the plan before anything is read: count, and labels for per-class metrics. */
export function checkImageInput(plan: MetricPlan, input: ImageInput, what: string): void {
  checkSampleCount(plan, input.count, what);
  if (plan.gather.fake.classes) requireLabels(plan, input, what);
}

/** Scores existing images; per-class metrics take the input's labels as the classes, checked against the reference's first. */
export async function evaluateImages(
  ctx: EvalContext, input: ImageInput, opts: Omit<BatchOptions, 'labels'> & { batch: number; onProgress?: (done: number) => void },
): Promise<ScoreResult> {
  const { plan, reference } = ctx;
  let labels: InputLabels | undefined;
  if (plan.gather.fake.classes) {
    labels = requireLabels(plan, input, input.location);
    pairedClasses(inputClassIds(input, labels), reference.classes ?? new Int32Array(0), plan.gather.perClass, perClassLabels(plan), reference.classNames ?? labels.classNames);
  }
  return scoreBatches(ctx, imageBatches(input, opts.batch, { skipBad: opts.skipBad, onSkip: opts.onSkip, labels }), opts.onProgress);
}

/**
 * FID is a squared distance, but it is computed as a difference of traces that cancel
 * when the two sets are (nearly) the same, so rounding can leave it slightly below 0.
 * Such a value is 0 within rounding: it is reported as 0, and the computed value is kept
 * as fid_raw (fidNote says so in words).
 */
export function clampNegativeFid(metrics: MetricResult): MetricResult {
  const fid = metrics.fid;
  if (fid === undefined || !(fid < 0)) return metrics;
  return { ...metrics, fid: 0, fid_raw: fid };
}

/** The note for a clamped FID (see clampNegativeFid), or null. */
export function fidNote(metrics: MetricResult): string | null {
  const raw = metrics.fid_raw;
  if (raw === undefined) return null;
  return `FID came out as ${raw.toExponential(2)}, below 0 only by floating-point cancellation between its terms (the sets' statistics are the same within rounding): reported as 0 (the computed value is fid_raw in the report)`;
}

function hasZeroVariance(s: GaussianStats): boolean {
  const d = s.sigma.rows;
  for (let i = 0; i < d; i++) if (s.sigma.data[i * d + i] === 0) return true;
  return false;
}

/**
 * How the sample minimum of generated images is judged: class-balanced sampling
 * gives every class n / C images, so per-class metrics need n >= minimum x C.
 */
export function generatedSetContext(plan: MetricPlan, model: GeneratorModel, gen: Pick<GenerationPlan, 'classSampling'>): SampleContext {
  return plan.gather.perClass > 0 && gen.classSampling === 'balanced' ? { set: 'fake', classes: model.numClasses } : { set: 'fake' };
}

/** Generates `gen.n` images and scores them. */
export async function evaluateGenerator(
  model: GeneratorModel,
  ctx: EvalContext,
  gen: GenerationPlan,
  opts: { threads?: number; onProgress?: (done: number) => void; sampler?: Sampler } = {},
): Promise<ScoreResult> {
  checkSampleCount(ctx.plan, gen.n, '-n', generatedSetContext(ctx.plan, model, gen));
  const sampler = opts.sampler ?? Sampler.of(model, { threads: opts.threads });
  try {
    return await scoreBatches(ctx, generatedBatches(model, sampler, gen), opts.onProgress);
  } finally {
    if (!opts.sampler) await sampler.release();
  }
}
