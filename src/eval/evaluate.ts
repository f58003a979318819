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
import type { InceptionFeatureExtractor } from '../metrics/inception/feature-extractor.js';
import { type MetricResult, computeMetrics } from '../metrics/registry.js';
import type { GeneratorModel } from '../models/interfaces.js';
import { Sampler } from '../sample/sampler.js';
import { type CollectedFeatures, collectFeatures } from './feature-collector.js';
import { type GenerationPlan, generatedBatches } from './generated-images.js';
import { type ImageBatch, imageBatches, openImageInput } from './image-input.js';
import { type MetricPlan, checkSampleCount } from './metric-plan.js';
import { type LoadedStats, readReferenceStats } from './stats-shards.js';

/** What generated / scored images are compared against. */
export interface Reference {
  /** Statistics for FID (from --stats, else from the real images). */
  stats?: GaussianStats;
  /** Real pool3 rows (KID). */
  features?: Matrix;
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
  batch?: number;
  skipBad?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Reads the statistics file and/or featurises the real images the plan needs. */
export async function loadReference(extractor: InceptionFeatureExtractor, plan: MetricPlan, opts: ReferenceOptions): Promise<Reference> {
  const ref: Reference = {};
  if (opts.statsFile) {
    const loaded = opts.statsLoaded ?? readReferenceStats(opts.statsFile);
    ref.statsFile = { file: opts.statsFile, loaded };
    ref.stats = loaded.stats;
  }
  const needReal = opts.real !== undefined && (plan.metrics.includes('kid') || (plan.metrics.includes('fid') && !ref.stats));
  if (needReal) {
    const input = openImageInput(opts.real!, { limit: opts.realLimit });
    try {
      const wantFeatures = plan.metrics.includes('kid');
      const realPlan = { ...plan, metrics: plan.metrics.filter((m) => m !== 'is') };
      checkSampleCount(realPlan, input.count, `the real set ${opts.real}`);
      const collected = await collectFeatures(extractor, imageBatches(input, opts.batch ?? 16, { skipBad: opts.skipBad }), {
        features: wantFeatures,
        onProgress: (done) => opts.onProgress?.(done, input.count),
      });
      checkSampleCount(realPlan, collected.count, `the real set ${opts.real} (after skipping unreadable images)`);
      if (!ref.stats) ref.stats = collected.stats.toMeanCov(`real images ${opts.real}`);
      if (wantFeatures) ref.features = collected.features;
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
  const { plan, reference } = ctx;
  const collected = await collectFeatures(ctx.extractor, batches, {
    logits: plan.metrics.includes('is'),
    features: plan.metrics.includes('kid'),
    onProgress,
  });
  checkSampleCount(plan, collected.count, 'the evaluated set');
  const fakeStats = plan.metrics.includes('fid') ? collected.stats.toMeanCov('evaluated images') : undefined;
  const metrics = computeMetrics(
    plan.metrics,
    {
      fakeStats,
      realStats: reference.stats,
      fakeLogits: collected.logits,
      fakeFeatures: collected.features,
      realFeatures: reference.features,
    },
    { is: { splits: plan.splits }, kid: { subsets: plan.kidSubsets, subsetSize: plan.kidSubsetSize }, fid: { epsOffset: plan.fidEpsOffset } },
  );
  const constantFeatures = !!fakeStats && (hasZeroVariance(fakeStats) || (!!reference.stats && hasZeroVariance(reference.stats)));
  return { metrics: clampNegativeFid(metrics), collected, constantFeatures };
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

/** Generates `gen.n` images and scores them. */
export async function evaluateGenerator(
  model: GeneratorModel,
  ctx: EvalContext,
  gen: GenerationPlan,
  opts: { threads?: number; onProgress?: (done: number) => void; sampler?: Sampler } = {},
): Promise<ScoreResult> {
  checkSampleCount(ctx.plan, gen.n, '-n');
  const sampler = opts.sampler ?? Sampler.of(model, { threads: opts.threads });
  try {
    return await scoreBatches(ctx, generatedBatches(model, sampler, gen), opts.onProgress);
  } finally {
    if (!opts.sampler) await sampler.release();
  }
}
