/**
 * A whole evaluation as one library call, the numbers of `biggan eval`:
 *
 *   const { metrics } = await evaluate({ weights: 'G_ema.pth', stats: 'I128_inception_moments.npz', n: 50000 });
 *   const { metrics } = await evaluate({ images: 'samples/', stats: 'cifar10-train.npz' });
 *
 * Generated images are sampled as `biggan eval` samples them (class-balanced by
 * default, seeded); the CLI adds reports, truncation sweeps and shards on the
 * same pipeline (src/eval).
 */
import { UserError } from '../errors.js';
import { type ClassSampling, parseClassSampling } from '../eval/class-balance.js';
import { type EvalContext, type ScoreResult, checkImageInput, evaluateGenerator, evaluateImages, generatedSetContext, loadReference } from '../eval/evaluate.js';
import { openImageInput } from '../eval/image-input.js';
import { chooseInception, loadExtractor } from '../eval/inception-source.js';
import { type EvalMetric, checkSampleCount, makeMetricPlan } from '../eval/metric-plan.js';
import type { EpsOffsetPolicy } from '../metrics/fid.js';
import { type InceptionPipeline, parseInceptionPipeline } from '../metrics/inception/preprocess.js';
import { loadGenerator as loadGeneratorModel } from '../models/checkpoint.js';
import { checkTruncation } from '../sample/latents.js';

export type { EvalMetric, ClassSampling, EpsOffsetPolicy };

export interface EvaluateOptions {
  /** A generator checkpoint to sample from (any format `biggan sample` reads)... */
  weights?: string;
  config?: string;
  /** ...or existing images: a folder, an .npy (uint8 NHWC or float NCHW), a CIFAR-10 folder or a prepared .bgd. */
  images?: string;
  /** Reference FID statistics (.npz with mu, sigma). */
  stats?: string;
  /** Reference images (KID, precision/recall, density/coverage, iFID with class labels; FID when no stats are given). */
  real?: string;
  /** Inception weights file (default $BIGGAN_INCEPTION), or 'procedural' (a testing aid). */
  inception?: string;
  /** Any of 'is', 'fid', 'kid', 'pr', 'dc', 'ifid'. Default: is, plus fid when there is a reference. */
  metrics?: EvalMetric[];
  /** Generated images (default 50000), or the first n of `images` (default all). */
  n?: number;
  seed?: number;
  truncation?: number;
  classSampling?: ClassSampling;
  pipeline?: InceptionPipeline;
  batch?: number;
  threads?: number;
  splits?: number;
  kidSubsets?: number;
  kidSubsetSize?: number;
  fidEpsOffset?: EpsOffsetPolicy;
  /** Any metric's settings by the camelCase of its `biggan eval` flag, e.g. { prK: 5, dcK: 3 } (the four above may go here too; they win). */
  metricSettings?: Record<string, number | string>;
  skipBad?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluationResult {
  /** e.g. { is_mean, is_std, fid, kid_mean, kid_std, precision, recall, density, coverage, ifid } */
  metrics: Record<string, number>;
  /** Images scored. */
  n: number;
  /** Some pool3 feature was constant, so FID took pytorch-fid's eps offset (moves it by up to ~0.004). */
  constantFeatures: boolean;
}

const DEFAULT_N = 50000;

export async function evaluate(opts: EvaluateOptions): Promise<EvaluationResult> {
  if (!opts || !!opts.weights === !!opts.images) throw new UserError('evaluate: give either weights (generate and score) or images (score existing images)');
  const batch = opts.batch ?? 16;
  if (!(Number.isInteger(batch) && batch > 0)) throw new UserError(`batch must be a positive integer, got ${batch}`);
  if (opts.n !== undefined && !(Number.isInteger(opts.n) && opts.n > 0)) throw new UserError(`n must be a positive integer, got ${opts.n}`);
  const pipeline = parseInceptionPipeline(opts.pipeline ?? 'pytorch-fid');
  const classSampling = parseClassSampling(opts.classSampling ?? 'balanced');
  // settings are checked by the plan (one-line errors naming them); the named fields win over metricSettings
  const named = { splits: opts.splits, kidSubsets: opts.kidSubsets, kidSubsetSize: opts.kidSubsetSize, fidEpsOffset: opts.fidEpsOffset };
  const plan = makeMetricPlan({
    ...opts.metricSettings,
    ...Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined)),
    metrics: opts.metrics, hasStats: opts.stats !== undefined, hasRealImages: opts.real !== undefined,
  });
  const choice = chooseInception(opts.inception);
  const generator = opts.weights ? loadGeneratorModel(opts.weights, opts.config) : undefined;
  if (generator && opts.truncation !== undefined) checkTruncation(opts.truncation, generator.model.usesTruncation, 'truncation');
  const input = opts.images ? openImageInput(opts.images, { limit: opts.n }) : undefined;
  try {
    const n = generator ? opts.n ?? DEFAULT_N : input!.count;
    if (generator) checkSampleCount(plan, n, 'n', generatedSetContext(plan, generator.model, { classSampling }));
    else checkImageInput(plan, input!, opts.images!);
    const extractor = loadExtractor(choice, { pipeline, batchSize: batch, threads: opts.threads });
    try {
      const reference = await loadReference(extractor, plan, { statsFile: opts.stats, real: opts.real, classes: generator?.model.numClasses, batch, skipBad: opts.skipBad });
      const ctx: EvalContext = { extractor, plan, reference };
      const progress = (done: number): void => opts.onProgress?.(done, n);
      const result: ScoreResult = generator
        ? await evaluateGenerator(generator.model, ctx, { n, seed: opts.seed ?? 0, truncation: opts.truncation, classSampling, batch }, { threads: opts.threads, onProgress: progress })
        : await evaluateImages(ctx, input!, { batch, skipBad: opts.skipBad, onProgress: progress });
      return { metrics: { ...result.metrics }, n: result.collected.count, constantFeatures: result.constantFeatures };
    } finally {
      await extractor.release();
    }
  } finally {
    input?.close();
  }
}
