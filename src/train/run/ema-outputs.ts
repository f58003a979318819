/**
 * What a run makes of G_ema between iterations: its standing BN statistics (gathered once
 * per step and shared by checkpoint, sample sheet and evaluation), fixed-latent sample
 * sheets, and the periodic IS / FID evaluation of --stats / --eval-every. The compiled
 * graphs are made on first use and kept until release().
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import type { RuntimeOptions } from '../../engine/runtime.js';
import { PeriodicEvaluator } from '../../eval/periodic-eval.js';
import { chooseInception } from '../../eval/inception-source.js';
import { IS_DEFAULT_SPLITS } from '../../metrics/inception-score.js';
import type { TrainConfig } from './config.js';
import type { RunModels } from './build-models.js';
import { drawClasses, drawLatents, streamRng } from './latents.js';
import type { RunDir } from './run-dir.js';
import type { RunLog } from './run-log.js';
import type { TrainEvalOptions } from './run-options.js';
import type { EvalInfo } from './run-reports.js';
import { SampleSheet } from './sample-sheet.js';
import { StandingStatistics, bnStatEntries } from './standing-stats.js';

const DEFAULT_EVAL_N = 5000;

export interface EmaOutputsContext {
  config: TrainConfig;
  G_ema: RunModels['G_ema'];
  /** The sample sheets' row labels. */
  classNames: readonly string[];
  dir: RunDir;
  log: RunLog;
  runtime?: RuntimeOptions;
  eval?: TrainEvalOptions;
  /** Progress of a long part (at the current step). */
  phase: (what: string, done: number, total: number) => void;
}

export class EmaOutputs {
  private sheet: SampleSheet | null = null;
  private standingGraph: StandingStatistics | null = null;
  private standingCache: { step: number; stats: Map<string, Float32Array> } | null = null;
  /** The latest evaluation so far. */
  lastEval: EvalInfo | undefined;

  constructor(
    private readonly ctx: EmaOutputsContext,
    private evaluator: PeriodicEvaluator | null,
  ) {}

  /** Standing statistics of G_ema at `step` (computed once per step); null when --standing-passes is 0. */
  async standing(step: number): Promise<Map<string, Float32Array> | null> {
    const c = this.ctx.config;
    if (c.standingPasses === 0) return null;
    if (this.standingCache?.step === step) return this.standingCache.stats;
    this.standingGraph ??= await StandingStatistics.create(this.ctx.G_ema, c.standingBatch, this.ctx.runtime);
    const G = this.ctx.G_ema;
    const stats = await this.standingGraph.compute(c.standingPasses, (pass) => {
      this.ctx.phase('standing statistics', pass, c.standingPasses);
      const rng = streamRng(c.seed, 'standing', step * 4096 + pass);
      return { z: drawLatents(rng, c.standingBatch * G.zDim, c.latent, c.zStd), y: drawClasses(rng, c.standingBatch, G.numClasses) };
    });
    this.ctx.phase('standing statistics', c.standingPasses, c.standingPasses);
    this.standingCache = { step, stats };
    return stats;
  }

  /** Runs fn with G_ema's BN statistics replaced by its standing statistics (when configured). */
  private async withStanding<T>(step: number, fn: () => Promise<T>): Promise<T> {
    const stats = await this.standing(step);
    if (!stats) return fn();
    const entries = bnStatEntries(this.ctx.G_ema);
    const saved = entries.map((e) => e.param.data);
    entries.forEach((e) => (e.param.data = stats.get(e.path)!));
    try {
      return await fn();
    } finally {
      entries.forEach((e, i) => (e.param.data = saved[i]));
    }
  }

  /** A sample sheet of G_ema at `step` into `file`, logged; its diversity (for the collapse watch). */
  async writeSheet(step: number, file: string, final = false): Promise<number> {
    const c = this.ctx.config;
    this.sheet ??= new SampleSheet(this.ctx.G_ema, { seed: c.seed, latent: c.latent, zStd: c.zStd, classNames: this.ctx.classNames }, this.ctx.runtime);
    const res = await this.withStanding(step, async () => {
      this.ctx.phase('sample sheet', 0, 1);
      const r = await this.sheet!.write(file);
      this.ctx.phase('sample sheet', 1, 1);
      return r;
    });
    this.ctx.log.write({ type: 'samples', step, file: this.ctx.dir.relative(file), diversity: res.diversity, ...(final ? { final: true } : {}) });
    return res.diversity;
  }

  /** Whether `step` is evaluated: every --eval-every (default --checkpoint-every) and the last step. */
  evalDue(step: number): boolean {
    if (!this.evaluator) return false;
    const every = this.ctx.eval?.every ?? this.ctx.config.checkpointEvery;
    return step % every === 0 || step === this.ctx.config.steps;
  }

  /**
   * IS (and FID) of G_ema with its standing statistics, as `biggan sample` would draw
   * from this step's checkpoint. The evaluator's latents come from its own seeded
   * stream and the weights are restored afterwards, so training is not perturbed.
   */
  async evaluate(step: number): Promise<void> {
    const t = performance.now();
    const e = this.ctx.eval!;
    const n = e.n ?? DEFAULT_EVAL_N;
    const m = await this.withStanding(step, () => this.evaluator!.evaluate(this.ctx.G_ema, (done) => this.ctx.phase('evaluation', done, n)));
    this.ctx.log.write({
      type: 'eval',
      step,
      ...m,
      n,
      ...(e.truncation !== undefined ? { truncation: e.truncation } : {}),
      standing: this.ctx.config.standingPasses > 0,
      seconds: (performance.now() - t) / 1000,
    });
    this.lastEval = { step, isMean: m.is_mean, isStd: m.is_std, ...(m.fid !== undefined ? { fid: m.fid } : {}) };
  }

  async release(): Promise<void> {
    await this.sheet?.release();
    await this.standingGraph?.release();
    await this.evaluator?.release();
    this.evaluator = null;
    this.sheet = null;
    this.standingGraph = null;
  }
}

/** The periodic evaluator of --stats / --eval-every (one-line UserErrors for bad settings or files). */
export function createEvaluator(e: TrainEvalOptions, runtime: RuntimeOptions = {}): PeriodicEvaluator | null {
  if (e.stats === undefined && e.every === undefined) {
    const stray = ([['inception', '--inception'], ['n', '--eval-n'], ['truncation', '--eval-truncation']] as const).find(([k]) => e[k] !== undefined);
    if (stray) throw new UserError(`${stray[1]} applies only with --stats STATS.npz (IS and FID) or --eval-every K (IS alone)`);
    return null;
  }
  const n = e.n ?? DEFAULT_EVAL_N;
  if (!(Number.isInteger(n) && n >= IS_DEFAULT_SPLITS)) throw new UserError(`--eval-n must be an integer of at least ${IS_DEFAULT_SPLITS} (the Inception Score's splits), got ${n}`);
  if (e.every !== undefined && !(Number.isInteger(e.every) && e.every > 0)) throw new UserError(`--eval-every must be a positive integer, got ${e.every}`);
  if (e.truncation !== undefined && !(Number.isFinite(e.truncation) && e.truncation > 0)) throw new UserError(`--eval-truncation must be a positive number, got ${e.truncation}`);
  chooseInception(e.inception); // without weights: the one-line error saying where to get them, before the statistics
  if (e.stats !== undefined && !fs.existsSync(e.stats)) throw new UserError(`--stats ${e.stats} does not exist (make it with \`biggan fid-stats --data PATH --out STATS.npz\`)`);
  return PeriodicEvaluator.create({ inception: e.inception, stats: e.stats, n, truncation: e.truncation, threads: runtime.threads });
}
