/**
 * A training run: `biggan train` without the command line.
 *
 *   const run = await TrainRun.open({ flags, outDir, resume });
 *   const result = await run.train();
 *
 * open() prepares the run directory, the data and the networks, either fresh or restored
 * exactly from DIR/checkpoint.safetensors (run-setup.ts). train() runs iterations
 * (GanTrainer: compiled graphs) until --steps, and along the way:
 *   - logs to DIR/log.jsonl (run-log.ts; 'train' records: train-window.ts) and reports progress;
 *   - measures σ0..σ2 of every weight matrix (singular-values.ts);
 *   - writes fixed-latent sample sheets of the EMA generator and, with --stats /
 *     --eval-every, scores it by IS and FID (ema-outputs.ts: standing statistics applied);
 *   - writes checkpoints (run-checkpoints.ts, train-checkpoint.ts) with standing statistics
 *     for G_ema, keeps the last K, and replaces checkpoint.safetensors atomically;
 *   - watches for collapse (collapse-watch.ts) and stops with a report naming the last
 *     healthy checkpoint, optionally making it the current one again (collapse-response.ts);
 *   - stops at the first NaN/Inf loss or gradient norm, writing nothing, so the last
 *     good checkpoint stays as it was.
 * The run ends with a checkpoint and DIR/samples/final.png.
 */
import type { NdArray } from '../../io/ndarray.js';
import type { PreparedDataset } from '../../data/prepared-dataset.js';
import type { BatchLoader } from '../../data/batch-loader.js';
import type { GanTrainer, IterationResult } from '../train-step.js';
import type { TrainConfig } from './config.js';
import type { RunModels } from './build-models.js';
import type { RunDir } from './run-dir.js';
import type { RunLog } from './run-log.js';
import { watchedLayers, type CollapseSignal, type CollapseWatch } from './collapse-watch.js';
import { SpectralMonitor } from './singular-values.js';
import { clampName, type SigmaClamper } from './sigma-clamp.js';
import { dataInfo } from './run-data.js';
import { openRun } from './run-setup.js';
import { EmaOutputs } from './ema-outputs.js';
import { RunCheckpoints, checkFinite } from './run-checkpoints.js';
import { respondToCollapse } from './collapse-response.js';
import { accumulate, emptyWindow, nonFinite, trainRecord, type LoggedValues } from './train-window.js';
import type { TrainRunOptions } from './run-options.js';
import type { TrainResult } from './run-reports.js';
import { RankBatches } from './rank-batches.js';
import { abortJob, agreeOnSettings, iterationOutcome, shareRun } from './replica-run.js';

export type { TrainRunOptions, TrainEvalOptions } from './run-options.js';
export type { CheckpointRef, EvalInfo, PhaseInfo, ProgressInfo, TrainResult } from './run-reports.js';

export class TrainRun {
  private step = 0;
  private elapsed = 0;
  private readonly monitor = new SpectralMonitor();
  private healthy = true;
  /** The iterations since the last 'train' record. */
  private win = emptyWindow();
  private stopRequested = false;
  /** What the latest 'train' record of log.jsonl holds, for the progress line. */
  private logged: LoggedValues = { step: 0, itPerS: NaN, dLossReal: NaN, dLossFake: NaN, gLoss: NaN };
  private readonly outputs: EmaOutputs;
  private readonly checkpoints: RunCheckpoints;
  readonly config: TrainConfig;
  readonly dir: RunDir;
  readonly models: RunModels;
  readonly trainer: GanTrainer;
  private readonly dataset: PreparedDataset;
  private readonly loader: BatchLoader;
  private readonly watch: CollapseWatch;
  private readonly clamper: SigmaClamper | null;
  private readonly log: RunLog;
  private readonly opts: TrainRunOptions;

  private constructor(p: Awaited<ReturnType<typeof openRun>>) {
    ({ config: this.config, dir: this.dir, models: this.models, trainer: this.trainer, dataset: this.dataset, loader: this.loader } = p);
    ({ watch: this.watch, clamper: this.clamper, log: this.log, opts: this.opts } = p);
    if (p.resumed) {
      this.monitor.restore(p.resumed.monitorState);
      this.step = p.resumed.step;
      this.elapsed = p.resumed.elapsed;
      this.healthy = p.resumed.healthy;
    }
    this.checkpoints = new RunCheckpoints(this.dir, this.log, this.config, p.resumed?.checkpoints ?? []);
    this.outputs = new EmaOutputs(
      {
        config: this.config,
        G_ema: this.models.G_ema,
        // an unconditional model's one class has no name
        classNames: this.config.unconditional ? ['unconditional'] : this.dataset.classNames,
        dir: this.dir,
        log: this.log,
        runtime: this.opts.runtime,
        eval: this.opts.eval,
        phase: (what, done, total) => this.phase(what, done, total),
      },
      p.evaluator,
    );
  }

  /**
   * Opens (or, with `resume`, continues) the run in `outDir`; on rank 0 of a data-parallel
   * job also sends it to the other ranks (replica-run.ts).
   */
  static async open(opts: TrainRunOptions): Promise<TrainRun> {
    const comm = opts.comm;
    if (!comm || comm.size === 1) return new TrainRun(await openRun(opts));
    if (comm.rank !== 0) throw new Error('TrainRun is rank 0\'s: the other ranks run a ReplicaRun');
    await agreeOnSettings(comm, opts);
    let parts: Awaited<ReturnType<typeof openRun>>;
    try {
      parts = await openRun(opts);
    } catch (err) {
      await shareRun(comm, null);
      throw err;
    }
    try {
      await shareRun(comm, { ...parts, step: parts.resumed?.step ?? 0 });
    } catch (err) {
      await parts.trainer.release();
      parts.dataset.close();
      parts.dir.unlock();
      throw err;
    }
    return new TrainRun(parts);
  }

  private note(line: string): void {
    this.opts.note?.(line);
  }

  private phase(what: string, done: number, total: number): void {
    this.opts.phase?.({ what, done, total, step: this.step });
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
      const batches = new RankBatches(c, this.models, this.loader, this.trainer, 0, this.opts.comm?.size ?? 1);
      while (this.step < c.steps) {
        const t = performance.now();
        const inputs = batches.next(this.step + 1);
        if (this.opts.faultNanAtStep === this.step + 1) poison(this.models.D);
        const r = await this.trainer.iteration(inputs);
        const ended = await this.afterIteration(r, t);
        // the other ranks of a data-parallel job go on or stop with rank 0
        if (this.opts.comm && this.opts.comm.size > 1) {
          await iterationOutcome(this.opts.comm, ended?.status === 'interrupted' ? 'interrupted' : ended !== null || this.step >= c.steps ? 'ended' : 'continue');
        }
        if (ended) return ended;
      }
      const sheet = this.dir.sampleSheet('final');
      await this.outputs.writeSheet(this.step, sheet, true);
      this.log.write({ type: 'end', step: this.step, elapsed_s: this.elapsed });
      return { status: 'completed', step: this.step, checkpoint: this.dir.checkpoint, sheet };
    } catch (err) {
      // the other ranks of a data-parallel job wait for this one in a collective: end the job
      if (this.opts.comm && this.opts.comm.size > 1) abortJob(this.opts.comm, err);
      throw err;
    } finally {
      await this.release();
    }
  }

  /** What follows an iteration: logs, evaluations, sheets, checkpoints; how the run ends, if it ends here. */
  private async afterIteration(r: IterationResult, t: number): Promise<TrainResult | null> {
    const c = this.config;
    const bad = nonFinite(r);
    if (bad) return this.diverged(r.itr, bad);
    this.step = r.itr;
    if (this.clamper) this.clamper.apply();
    const seconds = (performance.now() - t) / 1000;
    this.elapsed += seconds;
    this.win = accumulate(this.win, r, seconds);
    const signals: CollapseSignal[] = [];
    const dSignal = this.watch.onIteration(this.step, r.dLossReal + r.dLossFake);
    if (dSignal) signals.push(dSignal);
    if (this.step % c.logEvery === 0 || this.step === c.steps) {
      const { record, logged } = trainRecord(this.win, c, { step: this.step, epoch: this.loader.currentEpoch, elapsed: this.elapsed });
      this.logged = logged;
      this.log.write(record);
      this.win = emptyWindow();
    }
    if (this.outputs.evalDue(this.step)) await this.outputs.evaluate(this.step);
    const l = this.logged;
    this.opts.progress?.({
      step: this.step, total: c.steps, loggedStep: l.step, itPerS: l.itPerS,
      imagesPerS: l.itPerS * c.batch * c.dSteps * c.dAccumulations, ranks: this.opts.comm?.size ?? 1, dLossReal: l.dLossReal, dLossFake: l.dLossFake, gLoss: l.gLoss,
      elapsed: this.elapsed, eval: this.outputs.lastEval,
    });
    if (c.svEvery && this.step % c.svEvery === 0) {
      const s = this.measureSingularValues();
      if (s) signals.push(s);
    }
    if (c.sampleEvery && this.step % c.sampleEvery === 0 && this.step !== c.steps) {
      const diversity = await this.outputs.writeSheet(this.step, this.dir.sampleSheet(this.step));
      const s = this.watch.onSamples(this.step, diversity);
      if (s) signals.push(s);
    }
    if (signals.length) {
      this.healthy = false;
      return respondToCollapse(this.dir, this.log, c.collapse.action, this.step, signals);
    }
    if (this.step % c.checkpointEvery === 0 || this.step === c.steps || this.stopRequested) await this.saveCheckpoint();
    if (this.stopRequested && this.step < c.steps) {
      this.log.write({ type: 'interrupted', step: this.step });
      return { status: 'interrupted', step: this.step, checkpoint: this.dir.checkpoint };
    }
    return null;
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

  private async saveCheckpoint(): Promise<void> {
    const t = performance.now();
    checkFinite(this.models, this.step);
    const standing = await this.outputs.standing(this.step);
    const c = this.config;
    const snapshot = {
      meta: {
        step: this.step,
        config: c,
        loader: this.loader.state(),
        watch: this.watch.state(),
        healthy: this.healthy,
        standing: standing ? { passes: c.standingPasses, batch: c.standingBatch } : null,
        data: dataInfo(this.dataset),
        elapsedSeconds: this.elapsed,
      },
      models: this.models,
      gOptim: this.trainer.gOptim,
      dOptim: this.trainer.dOptim,
      standing,
      // an unconditional model's one class has no name
      classNames: c.unconditional ? [] : this.dataset.classNames,
      extra: [
        ...(this.clamper?.state((p) => `sigma_clamp.${clampName(p)}`) ?? []),
        ...this.monitor.state().map(([k, t]): [string, NdArray] => [`sv_monitor.${k}`, t]),
      ],
    };
    this.checkpoints.write(this.step, snapshot, (what, done, total) => this.phase(what, done, total), t);
  }

  private diverged(step: number, what: string): TrainResult {
    const last = this.checkpoints.latest();
    this.log.write({ type: 'diverged', step, what, last_good: last ? this.dir.relative(last.file) : null });
    return { status: 'diverged', step, what, lastGood: last };
  }

  async release(): Promise<void> {
    await this.trainer.release();
    await this.outputs.release();
    this.dataset.close();
    this.dir.unlock();
  }
}

/** What a diverging run looks like: a NaN in one of D's weights. */
function poison(D: RunModels['D']): void {
  const [, p] = D.namedParams().find(([, q]) => q.trainable && q.shape.length >= 2)!;
  const next = Float32Array.from(p.data);
  next[0] = NaN;
  p.data = next;
}
