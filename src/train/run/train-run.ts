/**
 * A training run: `biggan train` without the command line.
 *
 *   const run = await TrainRun.open({ flags, outDir, resume });
 *   const result = await run.train();
 *
 * open() prepares the run directory (run-dir.ts), the data (a prepared dataset or the
 * embedded synthetic one) and the networks, either fresh or restored exactly from
 * DIR/checkpoint.safetensors. train() runs iterations (GanTrainer: compiled graphs)
 * until --steps, and along the way:
 *   - logs to DIR/log.jsonl (run-log.ts) and reports progress;
 *   - measures σ0..σ2 of every weight matrix (singular-values.ts);
 *   - writes fixed-latent sample sheets of the EMA generator (sample-sheet.ts);
 *   - writes checkpoints (train-checkpoint.ts) with standing statistics for G_ema
 *     (standing-stats.ts), keeps the last K, and replaces checkpoint.safetensors atomically;
 *   - with --stats / --eval-every, scores G_ema (standing statistics applied) by IS and
 *     FID (eval/periodic-eval.ts) and logs 'eval' records;
 *   - watches for collapse (collapse-watch.ts) and stops with a report naming the last
 *     healthy checkpoint (optionally making it the current one again);
 *   - stops at the first NaN/Inf loss or gradient norm, writing nothing, so the last
 *     good checkpoint stays as it was.
 * The run ends with a checkpoint and DIR/samples/final.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import type { Param } from '../../engine/graph.js';
import type { NdArray } from '../../io/ndarray.js';
import type { RuntimeOptions } from '../../engine/runtime.js';
import { openDataset, PreparedDataset, readPreparedHeader } from '../../data/prepared-dataset.js';
import { isCifar10BatchFile, looksLikeCifar10 } from '../../data/sources/cifar10.js';
import { resolveDataSpec } from '../../data/sources/npy.js';
import { BatchLoader } from '../../data/batch-loader.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { GanTrainer, type IterationResult } from '../train-step.js';
import { orthoTargets } from '../orthogonal-regularization.js';
import { sigmaRegWeights } from '../sigma-regularization.js';
import { architecture } from '../../models/architectures.js';
import { emaDecayAt } from '../ema.js';
import { hyperOf, mergeForResume, parseStoredConfig, resolveConfig, type TrainConfig, type TrainFlags } from './config.js';
import { buildForFile } from '../../models/load-state.js';
import { buildRunModels, type RunModels } from './build-models.js';
import { drawClasses, drawLatents, iterationNoise, iterationPenaltyNoise, streamRng, type NoiseSpec } from './latents.js';
import { RunDir } from './run-dir.js';
import { RunLog } from './run-log.js';
import { CollapseWatch, watchedLayers, type CollapseSignal } from './collapse-watch.js';
import { SpectralMonitor } from './singular-values.js';
import { SampleSheet } from './sample-sheet.js';
import { StandingStatistics, bnStatEntries } from './standing-stats.js';
import { SigmaClamper } from './sigma-clamp.js';
import { section } from '../../models/checkpoint.js';
import { PeriodicEvaluator } from '../../eval/periodic-eval.js';
import { chooseInception } from '../../eval/inception-source.js';
import { IS_DEFAULT_SPLITS } from '../../metrics/inception-score.js';
import { readTrainingCheckpoint, restoreTrainingState, writeTrainingCheckpoint, type TrainingCheckpoint, type TrainingMeta } from './train-checkpoint.js';

export interface TrainRunOptions {
  /** Flags the user gave (undefined fields: defaults, or the saved config on resume). */
  flags: TrainFlags;
  outDir: string;
  /** Continue from DIR/checkpoint.safetensors (an error when there is none). */
  resume?: boolean;
  /** Data preparation: leave out unreadable images; explicit cache file/folder. */
  skipBad?: boolean;
  cache?: string;
  runtime?: RuntimeOptions;
  /** One-line notes for the user. */
  note?: (line: string) => void;
  /** Called after every iteration. */
  progress?: (p: ProgressInfo) => void;
  /**
   * Called during the long parts outside iterations (data preparation, graph compilation,
   * standing statistics, checkpoint writing, sample sheets, evaluation): at the start
   * (done 0), as it goes, and at the end (done === total).
   */
  phase?: (p: PhaseInfo) => void;
  /** Testing hook: poison D's weights before this iteration, as a diverging run would. */
  faultNanAtStep?: number;
  /** Periodic IS/FID of G_ema (not part of the run's config: give it again on --resume). */
  eval?: TrainEvalOptions;
}

/** `biggan train --stats S --inception F --eval-every K --eval-n N --eval-truncation T`. */
export interface TrainEvalOptions {
  /** Reference statistics (.npz, from `biggan fid-stats`): FID besides IS. */
  stats?: string;
  /** Inception weights file or 'procedural' (default $BIGGAN_INCEPTION). */
  inception?: string;
  /** Iterations between evaluations (default: --checkpoint-every); the last iteration is always evaluated. */
  every?: number;
  /** Images per evaluation (default 5000). */
  n?: number;
  truncation?: number;
}

/** The latest evaluation, for the progress line. */
export interface EvalInfo {
  step: number;
  isMean: number;
  isStd: number;
  fid?: number;
}

/**
 * After an iteration. The rates and losses are those of the latest 'train' record of
 * DIR/log.jsonl (means over its --log-every window, at step loggedStep), so the
 * progress line and the log agree; before the first record loggedStep is 0 and they are NaN.
 */
export interface ProgressInfo {
  step: number;
  total: number;
  loggedStep: number;
  itPerS: number;
  dLossReal: number;
  dLossFake: number;
  gLoss: number;
  /** Seconds of training so far (iterations only, across resumes). */
  elapsed: number;
  /** The latest evaluation so far, if any. */
  eval?: EvalInfo;
}

export interface PhaseInfo {
  /** e.g. 'standing statistics', 'writing checkpoint'. */
  what: string;
  done: number;
  total: number;
  /** The training step it belongs to (0 before training). */
  step: number;
}

export interface CheckpointRef {
  step: number;
  file: string;
}

export type TrainResult =
  | { status: 'completed'; step: number; checkpoint: string; sheet: string }
  | { status: 'interrupted'; step: number; checkpoint: string }
  | { status: 'collapsed'; step: number; signals: CollapseSignal[]; lastHealthy: CheckpointRef | null; rolledBack: boolean; report: string }
  | { status: 'diverged'; step: number; what: string; lastGood: CheckpointRef | null };

interface Window {
  n: number;
  dReal: number;
  dFake: number;
  g: number;
  dGrad: number;
  gGrad: number;
  gGradTotal: number;
  /** Sums of R1 (last D step) and of the σ0 regulariser term (logged only when those are on). */
  r1: number;
  penalty: number;
  sigmaReg: number;
  seconds: number;
}

const emptyWindow = (): Window => ({ n: 0, dReal: 0, dFake: 0, g: 0, dGrad: 0, gGrad: 0, gGradTotal: 0, r1: 0, penalty: 0, sigmaReg: 0, seconds: 0 });

export class TrainRun {
  private step = 0;
  private elapsed = 0;
  private readonly monitor = new SpectralMonitor();
  private sheet: SampleSheet | null = null;
  private standingGraph: StandingStatistics | null = null;
  private standingCache: { step: number; stats: Map<string, Float32Array> } | null = null;
  private readonly checkpoints: CheckpointRef[] = [];
  private healthy = true;
  private stopRequested = false;
  private evaluator: PeriodicEvaluator | null = null;
  private lastEval: EvalInfo | undefined;
  /** What the latest 'train' record of log.jsonl holds, for the progress line. */
  private logged = { step: 0, itPerS: NaN, dLossReal: NaN, dLossFake: NaN, gLoss: NaN };

  private constructor(
    readonly config: TrainConfig,
    readonly dir: RunDir,
    private readonly dataset: PreparedDataset,
    private readonly loader: BatchLoader,
    readonly models: RunModels,
    readonly trainer: GanTrainer,
    private readonly watch: CollapseWatch,
    private readonly clamper: SigmaClamper | null,
    private readonly log: RunLog,
    private readonly opts: TrainRunOptions,
  ) {}

  private note(line: string): void {
    this.opts.note?.(line);
  }

  private phase(what: string, done: number, total: number): void {
    this.opts.phase?.({ what, done, total, step: this.step });
  }

  static async open(opts: TrainRunOptions): Promise<TrainRun> {
    const dir = new RunDir(opts.outDir);
    const note = opts.note ?? (() => {});
    const resuming = !!opts.resume;
    if (resuming && !dir.hasCheckpoint()) {
      throw new UserError(
        fs.existsSync(dir.root)
          ? `--resume: ${dir.root} holds no checkpoint (checkpoint.safetensors) to continue from; start a new run there without --resume`
          : `--resume: ${dir.root} does not exist; start a new run without --resume`,
      );
    }
    if (!opts.resume && dir.hasCheckpoint()) {
      throw new UserError(`${dir.root} already holds a run (checkpoint.safetensors); continue it with --resume, or choose another --out`);
    }
    // Inception and the statistics load first: a missing file fails before any work
    const evaluator = opts.eval ? createEvaluator(opts.eval, opts.runtime) : null;
    try {
      dir.create();
      dir.lock();
      try {
        const run = await TrainRun.openLocked(opts, dir, resuming, note);
        run.evaluator = evaluator;
        return run;
      } catch (err) {
        dir.removeIfEmpty(); // a run that never started leaves no empty run folder
        throw err;
      }
    } catch (err) {
      await evaluator?.release();
      throw err;
    }
  }

  private static async openLocked(opts: TrainRunOptions, dir: RunDir, resuming: boolean, note: (line: string) => void): Promise<TrainRun> {
    dir.removeStaleTemporaries();
    // absolute paths, so a run resumes from any working directory
    if (opts.flags.data) opts = { ...opts, flags: { ...opts.flags, data: resolveDataSpec(opts.flags.data, process.cwd()) } };
    if (!resuming && opts.flags.data && opts.flags.resolution === undefined) {
      const native = nativeResolution(opts.flags.data);
      const arch = architecture(opts.flags.arch ?? 'biggan', '--arch');
      if (native && arch.resolutions.includes(native)) {
        note(`--resolution ${native} (the data's own)`);
        opts = { ...opts, flags: { ...opts.flags, resolution: native } };
      } else if (native) {
        note(`--resolution ${arch.defaultResolution} (${arch.name} has no ${native}x${native}; the data's images are resized)`);
      }
    }

    let config: TrainConfig;
    let saved: TrainingCheckpoint | null = null;
    if (resuming) {
      saved = readTrainingCheckpoint(dir.checkpoint);
      const stored = parseStoredConfig(saved.meta.config, dir.checkpoint);
      const merged = mergeForResume(stored, opts.flags);
      config = merged.config;
      if (merged.changed.length) note(`resuming with changed ${merged.changed.join(', ')}: the continuation will differ from an uninterrupted run`);
      if (config.steps <= saved.meta.step) note(`the checkpoint is at step ${saved.meta.step}, already at --steps ${config.steps}`);
    } else {
      config = resolveConfig(opts.flags);
    }

    // the demo's tiny networks gain nothing from a second onnxruntime thread: on a quiet 2-core
    // machine 2 threads took the same wall time (1 min 49 s vs 1 min 46 s) at twice the CPU
    if (config.data === null && opts.runtime?.threads === undefined) opts = { ...opts, runtime: { ...opts.runtime, threads: DEMO_THREADS } };
    const dataset = await openRunDataset(config, opts, note);
    try {
      return await TrainRun.build(opts, dir, config, saved, dataset, note);
    } catch (err) {
      dataset.close();
      throw err;
    }
  }

  private static async build(
    opts: TrainRunOptions, dir: RunDir, config: TrainConfig, saved: TrainingCheckpoint | null, dataset: PreparedDataset, note: (line: string) => void,
  ): Promise<TrainRun> {
    if (dataset.numClasses < 1) throw new UserError('the dataset has no classes');
    const loaderOpts = { batchSize: config.batch, seed: config.seed, flip: config.flip };
    const loader = new BatchLoader(dataset, loaderOpts, saved?.meta.loader);

    // On resume the config comes from the checkpoint: its sizes are checked against the tensors it holds.
    const models = saved
      ? buildForFile(dir.checkpoint, saved.tensors, () => buildRunModels(config, dataset.numClasses, { init: false }))
      : buildRunModels(config, dataset.numClasses, { init: true });
    // Training graphs hold large activations: without onnxruntime's memory arena peak memory is
    // ~35 % lower (BigGAN 32, ch 64, batch 50: 1359 vs 2092 MiB) at ~13 % of the speed (bench:
    // training). BIGGAN_MEM_ARENA=1 brings the arena back.
    const trainRuntime: RuntimeOptions = { memArena: process.env.BIGGAN_MEM_ARENA === '1', ...opts.runtime };
    const trainer = new GanTrainer({ G: models.G, D: models.D, G_ema: models.G_ema, hyper: hyperOf(config), batch: config.batch, graphs: config.graphs, runtime: trainRuntime });
    if (config.sigmaReg && sigmaRegWeights(models.G).length === 0) {
      throw new UserError(`--sigma-reg / --sigma-reg-ratio regularise spectrally normalised G weights, and the ${config.arch} generator has none`);
    }
    const clamper = config.sigmaClamp ? new SigmaClamper(config.sigmaClamp, orthoTargets(models.G)) : null;
    const log = new RunLog(dir.log);
    let watch: CollapseWatch;
    let run: TrainRun;
    let monitorState = new Map<string, NdArray>();
    if (saved) {
      if (saved.meta.data.count !== dataset.count) {
        throw new UserError(`the run was trained on ${saved.meta.data.count} images, but the data now has ${dataset.count}; resume with the same data`);
      }
      if (saved.meta.data.fingerprint && saved.meta.data.fingerprint !== dataFingerprint(dataset)) {
        note('the data changed since the run started (same number of images); continuing with the data as it is now');
      }
      const classes = saved.classNames;
      if (classes.length && classes.length !== dataset.numClasses) {
        throw new UserError(`the run was trained with ${classes.length} classes, but the data now has ${dataset.numClasses}`);
      }
      restoreTrainingState(saved, dir.checkpoint, models, trainer.gOptim, trainer.dOptim);
      trainer.itr = saved.meta.step;
      clamper?.restore(section(saved.tensors, 'sigma_clamp'), clampName);
      monitorState = section(saved.tensors, 'sv_monitor');
      watch = new CollapseWatch(config.collapse, saved.meta.watch);
      const dropped = log.truncateAfter(saved.meta.step);
      run = new TrainRun(config, dir, dataset, loader, models, trainer, watch, clamper, log, opts);
      run.monitor.restore(monitorState);
      run.step = saved.meta.step;
      run.elapsed = saved.meta.elapsedSeconds;
      run.healthy = saved.meta.healthy;
      for (const c of dir.stepCheckpoints()) if (c.step <= run.step) run.checkpoints.push(c);
      log.write({ type: 'resume', step: run.step, from: dir.relative(dir.checkpoint), dropped_records: dropped, config });
      note(`resuming ${dir.root} at step ${run.step} of ${config.steps}`);
    } else {
      watch = new CollapseWatch(config.collapse);
      if (fs.existsSync(dir.log)) fs.rmSync(dir.log);
      run = new TrainRun(config, dir, dataset, loader, models, trainer, watch, clamper, log, opts);
      log.write({
        type: 'start',
        step: 0,
        config,
        data: run.dataInfo(),
        class_names: dataset.classNames,
        parameters: { G: models.G.parameterCount(), D: models.D.parameterCount() },
      });
    }
    fs.writeFileSync(dir.config, JSON.stringify(config, null, 2) + '\n');
    return run;
  }

  private dataInfo(): TrainingMeta['data'] {
    const h = this.dataset.header;
    return { kind: h.source.kind, source: h.source.path, count: this.dataset.count, fingerprint: dataFingerprint(this.dataset) };
  }

  private noiseSpec(): NoiseSpec {
    const c = this.config;
    return {
      seed: c.seed, batch: c.batch, zDim: this.models.G.zDim, numClasses: this.models.G.numClasses, dSteps: c.dSteps,
      dAccumulations: c.dAccumulations, gAccumulations: c.gAccumulations, latent: c.latent, zStd: c.zStd,
    };
  }

  /** Iterations done so far. */
  get currentStep(): number {
    return this.step;
  }

  /** Ends the run after the current iteration, with a checkpoint (SIGINT / SIGTERM). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Runs iterations until --steps (or a stop). */
  async train(): Promise<TrainResult> {
    const c = this.config;
    try {
      if (this.step < c.steps) {
        const t0 = performance.now();
        this.phase('compiling the training graphs', 0, 1);
        await this.trainer.prepare();
        this.phase('compiling the training graphs', 1, 1);
        this.note(`compiled the training graphs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      const B = c.batch;
      const R = this.models.G.resolution;
      const img = 3 * R * R;
      // real micro-batches per iteration: every accumulation of every D step takes the next loader batch (as upstream's loader batch)
      const realBatches = c.dSteps * c.dAccumulations;
      const xReal = new Float32Array(realBatches * B * img);
      const yReal = new BigInt64Array(realBatches * B);
      let win = emptyWindow();
      while (this.step < c.steps) {
        const t = performance.now();
        for (let k = 0; k < realBatches; k++) {
          const b = this.loader.next();
          xReal.set(b.images, k * B * img);
          // unconditional: every image is of the one class 0 (yReal stays zero)
          if (!c.unconditional) yReal.set(b.labels, k * B);
        }
        const noise = iterationNoise(this.noiseSpec(), this.step + 1);
        const penaltyShape = this.trainer.penaltyNoiseShape();
        const penaltyNoise = penaltyShape
          ? iterationPenaltyNoise(c.seed, this.step + 1, c.dSteps * c.dAccumulations, penaltyShape.reduce((a, b) => a * b, 1))
          : undefined;
        if (this.opts.faultNanAtStep === this.step + 1) poison(this.models.D);
        const r = await this.trainer.iteration({ xReal, yReal, ...noise, ...(penaltyNoise ? { penaltyNoise } : {}) });
        const bad = nonFinite(r);
        if (bad) return this.diverged(r.itr, bad);
        this.step = r.itr;
        if (this.clamper) this.clamper.apply();
        const seconds = (performance.now() - t) / 1000;
        this.elapsed += seconds;
        win = accumulate(win, r, seconds);
        const signals: CollapseSignal[] = [];
        const dSignal = this.watch.onIteration(this.step, r.dLossReal + r.dLossFake);
        if (dSignal) signals.push(dSignal);
        if (this.step % c.logEvery === 0 || this.step === c.steps) {
          this.logTrain(win);
          win = emptyWindow();
        }
        if (this.evalDue()) await this.evaluate();
        const l = this.logged;
        this.opts.progress?.({
          step: this.step, total: c.steps, loggedStep: l.step, itPerS: l.itPerS, dLossReal: l.dLossReal, dLossFake: l.dLossFake, gLoss: l.gLoss,
          elapsed: this.elapsed, eval: this.lastEval,
        });
        if (c.svEvery && this.step % c.svEvery === 0) {
          const s = this.measureSingularValues();
          if (s) signals.push(s);
        }
        if (c.sampleEvery && this.step % c.sampleEvery === 0 && this.step !== c.steps) {
          const s = await this.writeSheet(this.dir.sampleSheet(this.step));
          if (s) signals.push(s);
        }
        if (signals.length) return await this.collapsed(signals);
        if (this.step % c.checkpointEvery === 0 || this.step === c.steps || this.stopRequested) await this.saveCheckpoint();
        if (this.stopRequested && this.step < c.steps) {
          this.log.write({ type: 'interrupted', step: this.step });
          return { status: 'interrupted', step: this.step, checkpoint: this.dir.checkpoint };
        }
      }
      const sheet = this.dir.sampleSheet('final');
      await this.writeSheet(sheet, true);
      this.log.write({ type: 'end', step: this.step, elapsed_s: this.elapsed });
      return { status: 'completed', step: this.step, checkpoint: this.dir.checkpoint, sheet };
    } finally {
      await this.release();
    }
  }

  private logTrain(w: Window): void {
    const c = this.config;
    const n = Math.max(w.n, 1);
    this.logged = { step: this.step, itPerS: w.n / w.seconds, dLossReal: w.dReal / n, dLossFake: w.dFake / n, gLoss: w.g / n };
    this.log.write({
      type: 'train',
      step: this.step,
      epoch: this.loader.currentEpoch,
      d_loss_real: this.logged.dLossReal,
      d_loss_fake: this.logged.dLossFake,
      g_loss: this.logged.gLoss,
      d_grad_norm: w.dGrad / n,
      g_grad_norm: w.gGrad / n,
      g_grad_norm_total: w.gGradTotal / n,
      ...(c.r1Gamma > 0 ? { r1: w.r1 / n, r1_gamma: c.r1Gamma } : {}),
      ...(c.penalty && c.penalty !== 'none' ? { penalty: w.penalty / n } : {}),
      ...(c.sigmaReg ? { sigma_reg: w.sigmaReg / n } : {}),
      g_lr: c.gLr,
      d_lr: c.dLr,
      ema_decay: emaDecayAt(this.step, { decay: c.emaDecay, start: c.emaStart }),
      it_per_s: this.logged.itPerS,
      img_per_s: (w.n * c.dSteps * c.dAccumulations * c.batch) / w.seconds,
      elapsed_s: this.elapsed,
    });
  }

  private measureSingularValues(): CollapseSignal | null {
    const G = this.monitor.measure('G', this.models.G);
    const D = this.monitor.measure('D', this.models.D);
    this.log.write({ type: 'sv', step: this.step, G, D });
    // the ratio form of the σ0 regulariser targets r · σ1 as last measured
    const gByPath = new Map(this.models.G.namedParams());
    this.trainer.setSigma1(new Map(Object.entries(G).flatMap(([path, sv]) => (gByPath.has(path) && sv.length > 1 ? [[gByPath.get(path)!, sv[1]] as const] : []))));
    return this.watch.onSingularValues(this.step, watchedLayers(this.models.G, G));
  }

  /** Standing statistics of G_ema at the current step (computed once per step). */
  private async standing(): Promise<Map<string, Float32Array> | null> {
    const c = this.config;
    if (c.standingPasses === 0) return null;
    if (this.standingCache?.step === this.step) return this.standingCache.stats;
    this.standingGraph ??= await StandingStatistics.create(this.models.G_ema, c.standingBatch, this.opts.runtime);
    const G = this.models.G_ema;
    const stats = await this.standingGraph.compute(c.standingPasses, (pass) => {
      this.phase('standing statistics', pass, c.standingPasses);
      const rng = streamRng(c.seed, 'standing', this.step * 4096 + pass);
      return { z: drawLatents(rng, c.standingBatch * G.zDim, c.latent, c.zStd), y: drawClasses(rng, c.standingBatch, G.numClasses) };
    });
    this.phase('standing statistics', c.standingPasses, c.standingPasses);
    this.standingCache = { step: this.step, stats };
    return stats;
  }

  /** Runs fn with G_ema's BN statistics replaced by its standing statistics (when configured). */
  private async withStanding<T>(fn: () => Promise<T>): Promise<T> {
    const stats = await this.standing();
    if (!stats) return fn();
    const entries = bnStatEntries(this.models.G_ema);
    const saved = entries.map((e) => e.param.data);
    entries.forEach((e) => (e.param.data = stats.get(e.path)!));
    try {
      return await fn();
    } finally {
      entries.forEach((e, i) => (e.param.data = saved[i]));
    }
  }

  private evalDue(): boolean {
    if (!this.evaluator) return false;
    const every = this.opts.eval?.every ?? this.config.checkpointEvery;
    return this.step % every === 0 || this.step === this.config.steps;
  }

  /**
   * IS (and FID) of G_ema with its standing statistics, as `biggan sample` would draw
   * from this step's checkpoint. The evaluator's latents come from its own seeded
   * stream and the weights are restored afterwards, so training is not perturbed.
   */
  private async evaluate(): Promise<void> {
    const t = performance.now();
    const e = this.opts.eval!;
    const n = e.n ?? DEFAULT_EVAL_N;
    const m = await this.withStanding(() => this.evaluator!.evaluate(this.models.G_ema, (done) => this.phase('evaluation', done, n)));
    this.log.write({
      type: 'eval',
      step: this.step,
      ...m,
      n,
      ...(e.truncation !== undefined ? { truncation: e.truncation } : {}),
      standing: this.config.standingPasses > 0,
      seconds: (performance.now() - t) / 1000,
    });
    this.lastEval = { step: this.step, isMean: m.is_mean, isStd: m.is_std, ...(m.fid !== undefined ? { fid: m.fid } : {}) };
  }

  private async writeSheet(file: string, final = false): Promise<CollapseSignal | null> {
    this.sheet ??= new SampleSheet(
      this.models.G_ema,
      { seed: this.config.seed, latent: this.config.latent, zStd: this.config.zStd, classNames: this.config.unconditional ? ['unconditional'] : this.dataset.classNames },
      this.opts.runtime,
    );
    const res = await this.withStanding(async () => {
      this.phase('sample sheet', 0, 1);
      const r = await this.sheet!.write(file);
      this.phase('sample sheet', 1, 1);
      return r;
    });
    this.log.write({ type: 'samples', step: this.step, file: this.dir.relative(file), diversity: res.diversity, ...(final ? { final: true } : {}) });
    return final ? null : this.watch.onSamples(this.step, res.diversity);
  }

  private async saveCheckpoint(): Promise<void> {
    const t = performance.now();
    for (const m of [this.models.G, this.models.D, this.models.G_ema]) {
      const bad = m.namedParams().find(([, p]) => !p.data.every(Number.isFinite));
      if (bad) throw new UserError(`${bad[0]} holds NaN or Inf at step ${this.step}; not writing a checkpoint (the last good one is kept)`);
    }
    const standing = await this.standing();
    const file = this.dir.stepCheckpoint(this.step);
    const c = this.config;
    this.phase('writing checkpoint', 0, 1);
    writeTrainingCheckpoint(file, {
      meta: {
        step: this.step,
        config: c,
        loader: this.loader.state(),
        watch: this.watch.state(),
        healthy: this.healthy,
        standing: standing ? { passes: c.standingPasses, batch: c.standingBatch } : null,
        data: this.dataInfo(),
        elapsedSeconds: this.elapsed,
      },
      models: this.models,
      gOptim: this.trainer.gOptim,
      dOptim: this.trainer.dOptim,
      standing,
      // an unconditional model's one class has no name
      classNames: this.config.unconditional ? [] : this.dataset.classNames,
      extra: [
        ...(this.clamper?.state((p) => `sigma_clamp.${clampName(p)}`) ?? []),
        ...this.monitor.state().map(([k, t]): [string, NdArray] => [`sv_monitor.${k}`, t]),
      ],
    });
    this.dir.promote(file);
    this.phase('writing checkpoint', 1, 1);
    this.checkpoints.push({ step: this.step, file });
    // keep the newest K, plus the newest one older than any collapse still undetected
    const lag = Math.max(c.svEvery * c.collapse.sigmaWindow, c.sampleEvery, c.collapse.dLossWindow);
    const settled = [...this.checkpoints].reverse().find((x) => x.step <= this.step - lag);
    const pinned = new Set([file, ...(settled ? [settled.file] : [])]);
    this.dir.prune(c.keepCheckpoints, pinned);
    this.log.write({ type: 'checkpoint', step: this.step, file: this.dir.relative(file), healthy: this.healthy, seconds: (performance.now() - t) / 1000 });
  }

  private diverged(step: number, what: string): TrainResult {
    const last = this.latestCheckpoint();
    this.log.write({ type: 'diverged', step, what, last_good: last ? this.dir.relative(last.file) : null });
    return { status: 'diverged', step, what, lastGood: last };
  }

  private latestCheckpoint(): CheckpointRef | null {
    if (!this.dir.hasCheckpoint()) return null;
    return { step: readTrainingCheckpoint(this.dir.checkpoint).meta.step, file: this.dir.checkpoint };
  }

  private async collapsed(signals: CollapseSignal[]): Promise<TrainResult> {
    this.healthy = false;
    const onset = Math.min(...signals.map((s) => s.onset));
    const candidates = this.dir.stepCheckpoints().filter((x) => x.step <= onset);
    const best = candidates[candidates.length - 1] ?? null;
    let rolledBack = false;
    if (best && this.config.collapse.action === 'rollback') {
      this.dir.promote(best.file);
      rolledBack = true;
    }
    const lines = [
      `collapse detected at step ${this.step}:`,
      ...signals.map((s) => `  - ${s.kind}: ${s.detail}`),
      best
        ? `last healthy checkpoint: ${best.file} (step ${best.step})${rolledBack ? ' — now DIR/checkpoint.safetensors again' : ''}`
        : `no checkpoint from before step ${onset} is kept; raise --keep-checkpoints or checkpoint more often`,
      rolledBack
        ? `to continue from it: biggan train --out ${this.dir.root} --resume (e.g. with lower learning rates)`
        : best
          ? `to sample it: biggan sample --weights ${best.file} --out samples.png`
          : '',
    ].filter(Boolean);
    const report = lines.join('\n');
    fs.writeFileSync(this.dir.collapseReport, report + '\n');
    this.log.write({
      type: 'collapse',
      step: this.step,
      signals,
      last_healthy: best ? { step: best.step, file: this.dir.relative(best.file) } : null,
      action: this.config.collapse.action,
      rolled_back: rolledBack,
    });
    return { status: 'collapsed', step: this.step, signals, lastHealthy: best, rolledBack, report };
  }

  async release(): Promise<void> {
    await this.trainer.release();
    await this.sheet?.release();
    await this.standingGraph?.release();
    await this.evaluator?.release();
    this.evaluator = null;
    this.sheet = null;
    this.standingGraph = null;
    this.dataset.close();
    this.dir.unlock();
  }
}

const DEFAULT_EVAL_N = 5000;
/** onnxruntime intra-op threads of the embedded demo unless --threads says otherwise. */
const DEMO_THREADS = 1;

/** The periodic evaluator of --stats / --eval-every (one-line UserErrors for bad settings or files). */
function createEvaluator(e: TrainEvalOptions, runtime: RuntimeOptions = {}): PeriodicEvaluator | null {
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

/** The run's data: the prepared dataset of --data, or the embedded synthetic one. */
async function openRunDataset(c: TrainConfig, opts: TrainRunOptions, note: (line: string) => void): Promise<PreparedDataset> {
  if (c.data === null) {
    const s = c.synthetic;
    note(`no --data: training on the embedded synthetic dataset (${s.numClasses} classes of shape and colour, ${s.count} images, ${c.resolution}x${c.resolution})`);
    return syntheticDataset({ numClasses: s.numClasses, count: s.count, resolution: c.resolution, seed: s.seed });
  }
  if (!fs.existsSync(c.data.replace(/:[^:]*\.npy$/i, ''))) throw new UserError(`--data ${c.data} does not exist`);
  const onProgress = opts.phase ? (done: number, total: number) => opts.phase!({ what: 'preparing data', done, total, step: 0 }) : undefined;
  // a class-less folder trains an unconditional model; a one-class conditional one would only carry a dead class input
  const requireClasses = c.unconditional ? undefined
    : 'train it with --unconditional (or move the images into one sub-folder, <folder>/<class>/, for a one-class conditional model)';
  return openDataset(c.data, { resolution: c.resolution, skipBad: opts.skipBad, cache: opts.cache, log: note, onProgress, requireClasses });
}

/** The resolution a dataset comes in, where there is one: CIFAR-10 and its batches (32), a prepared .bgd file (its own). */
function nativeResolution(spec: string): number | undefined {
  if (/\.bgd$/i.test(spec) && fs.existsSync(spec)) return readPreparedHeader(spec).resolution;
  if (looksLikeCifar10(spec) || isCifar10BatchFile(spec)) return 32;
  return undefined;
}

/** What identifies the data's content (file list, sizes, mtimes); '' for in-memory data. */
function dataFingerprint(ds: PreparedDataset): string {
  return ds.header.source.fingerprint;
}


function nonFinite(r: IterationResult): string | null {
  const named: [string, number][] = [
    ['D loss on real images', r.dLossReal],
    ['D loss on fake images', r.dLossFake],
    ['G loss', r.gLoss],
    ['G gradient norm', r.gStep.gradNormWithOrtho],
    ...r.dSteps.map((s, k) => [`D gradient norm (D step ${k + 1})`, s.gradNorm] as [string, number]),
  ];
  const bad = named.find(([, v]) => !Number.isFinite(v));
  return bad ? `${bad[0]} is ${bad[1]}` : null;
}

function accumulate(w: Window, r: IterationResult, seconds: number): Window {
  return {
    n: w.n + 1,
    dReal: w.dReal + r.dLossReal,
    dFake: w.dFake + r.dLossFake,
    g: w.g + r.gLoss,
    dGrad: w.dGrad + r.dSteps[r.dSteps.length - 1].gradNorm,
    gGrad: w.gGrad + r.gStep.gradNorm,
    gGradTotal: w.gGradTotal + r.gStep.gradNormWithOrtho,
    r1: w.r1 + (r.dSteps[r.dSteps.length - 1].r1 ?? 0),
    penalty: w.penalty + (r.dSteps[r.dSteps.length - 1].penalty ?? 0),
    sigmaReg: w.sigmaReg + (r.gStep.sigmaReg ?? 0),
    seconds: w.seconds + seconds,
  };
}

/** What a diverging run looks like: a NaN in one of D's weights. */
function poison(D: RunModels['D']): void {
  const [, p] = D.namedParams().find(([, q]) => q.trainable && q.shape.length >= 2)!;
  const next = Float32Array.from(p.data);
  next[0] = NaN;
  p.data = next;
}

/** Tensor-name stem of a G parameter in the clamp's saved state (its path under G). */
function clampName(p: Param): string {
  return p.name.replace(/^G\./, '');
}
