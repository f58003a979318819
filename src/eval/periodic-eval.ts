/**
 * The hook for evaluating during training (`biggan train --stats S --inception F
 * --eval-every K`): Inception and the reference statistics are loaded once, then
 * each call scores the current generator (normally the EMA copy) on the same
 * seeded latents and classes, so successive numbers differ only by the weights.
 *
 *   const ev = PeriodicEvaluator.create({ inception: opts.inception, stats: opts.stats, n: 5000 });
 *   ... every K steps: log({ step, ...(await ev.evaluate(G_ema)) });   // { is_mean, is_std, fid }
 *   await ev.release();
 */
import type { MetricResult } from '../metrics/registry.js';
import type { InceptionPipeline } from '../metrics/inception/preprocess.js';
import type { GeneratorModel } from '../models/interfaces.js';
import type { ClassSampling } from './class-balance.js';
import { type EvalContext, type Reference, evaluateGenerator } from './evaluate.js';
import { chooseInception, loadExtractor } from './inception-source.js';
import { makeMetricPlan } from './metric-plan.js';
import { readReferenceStats } from './stats-shards.js';

export interface PeriodicEvalOptions {
  /** Inception weights file or 'procedural' (default $BIGGAN_INCEPTION). */
  inception?: string;
  /** Reference statistics (.npz); without them only IS is computed. */
  stats?: string;
  /** Images per evaluation (default 5000: cheaper than the final 50000, still stable). */
  n?: number;
  seed?: number;
  truncation?: number;
  classSampling?: ClassSampling;
  pipeline?: InceptionPipeline;
  batch?: number;
  threads?: number;
}

export class PeriodicEvaluator {
  private constructor(
    private readonly ctx: EvalContext,
    private readonly opts: Required<Pick<PeriodicEvalOptions, 'n' | 'seed' | 'classSampling' | 'batch'>> & PeriodicEvalOptions,
  ) {}

  /** Loads Inception and the statistics; fails at once (one-line UserError) when either is missing or malformed. */
  static create(opts: PeriodicEvalOptions): PeriodicEvaluator {
    const full = { n: 5000, seed: 0, classSampling: 'balanced' as const, batch: 16, ...opts };
    const plan = makeMetricPlan({ hasStats: opts.stats !== undefined, hasRealImages: false });
    const choice = chooseInception(opts.inception);
    const reference: Reference = {};
    if (opts.stats) {
      const loaded = readReferenceStats(opts.stats);
      Object.assign(reference, { stats: loaded.stats, statsFile: { file: opts.stats, loaded } });
    }
    const extractor = loadExtractor(choice, { pipeline: opts.pipeline, batchSize: full.batch, threads: opts.threads });
    return new PeriodicEvaluator({ extractor, plan, reference }, full);
  }

  /** IS (and FID with statistics) of `model` now. */
  async evaluate(model: GeneratorModel, onProgress?: (done: number) => void): Promise<MetricResult> {
    const { n, seed, truncation, classSampling, batch, threads } = this.opts;
    const r = await evaluateGenerator(model, this.ctx, { n, seed, truncation, classSampling, batch }, { threads, onProgress });
    return r.metrics;
  }

  async release(): Promise<void> {
    await this.ctx.extractor.release();
  }
}
