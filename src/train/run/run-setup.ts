/**
 * Opening a training run: the run directory (refusing a fresh run over an existing one
 * and --resume without a checkpoint; locked while the run lives; a run that fails before
 * training removes the folders it made), the config (resolved, or the checkpoint's merged
 * with the flags given again), the data, the networks and the trainer, and on resume the
 * exact state of the checkpoint: weights, optimiser moments, clamp and monitor vectors,
 * collapse-watch state, data-loader position and the log cut back to its step.
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import type { NdArray } from '../../io/ndarray.js';
import type { RuntimeOptions } from '../../engine/runtime.js';
import type { PreparedDataset } from '../../data/prepared-dataset.js';
import { BatchLoader } from '../../data/batch-loader.js';
import { GanTrainer } from '../train-step.js';
import { orthoTargets } from '../orthogonal-regularization.js';
import { sigmaRegWeights } from '../sigma-regularization.js';
import { section } from '../../models/checkpoint.js';
import { buildForFile } from '../../models/load-state.js';
import type { PeriodicEvaluator } from '../../eval/periodic-eval.js';
import { mergeForResume, parseStoredConfig, type TrainConfig } from './config.js';
import { buildRunModels, type RunModels } from './build-models.js';
import { CollapseWatch } from './collapse-watch.js';
import { createEvaluator } from './ema-outputs.js';
import { dataFingerprint, dataInfo, openRunDataset, withDataSpec } from './run-data.js';
import { RunDir } from './run-dir.js';
import { RunLog } from './run-log.js';
import type { TrainRunOptions } from './run-options.js';
import type { CheckpointRef } from './run-reports.js';
import { SigmaClamper, clampName } from './sigma-clamp.js';
import { checkJobConfig, freshJobConfig, jobFlags, rankShare } from './replica-config.js';
import { readTrainingCheckpoint, restoreTrainingState, type TrainingCheckpoint } from './train-checkpoint.js';

/** onnxruntime intra-op threads of the embedded demo unless --threads says otherwise. */
const DEMO_THREADS = 1;

/** Everything a run trains with, as opened. */
export interface RunParts {
  config: TrainConfig;
  dir: RunDir;
  dataset: PreparedDataset;
  loader: BatchLoader;
  models: RunModels;
  trainer: GanTrainer;
  watch: CollapseWatch;
  clamper: SigmaClamper | null;
  log: RunLog;
  evaluator: PeriodicEvaluator | null;
  /** The options as the run uses them (--data absolute, the data's resolution, the demo's threads). */
  opts: TrainRunOptions;
  /** Where the checkpoint resumed from left off (fresh run: null). */
  resumed: { step: number; elapsed: number; healthy: boolean; checkpoints: CheckpointRef[]; monitorState: Map<string, NdArray> } | null;
}

export async function openRun(opts: TrainRunOptions): Promise<RunParts> {
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
      return { ...(await openLocked(opts, dir, resuming, note)), evaluator };
    } catch (err) {
      dir.removeIfEmpty(); // a run that never started leaves no empty run folder
      throw err;
    }
  } catch (err) {
    await evaluator?.release();
    throw err;
  }
}

async function openLocked(opts: TrainRunOptions, dir: RunDir, resuming: boolean, note: (line: string) => void): Promise<Omit<RunParts, 'evaluator'>> {
  dir.removeStaleTemporaries();
  const size = opts.comm?.size ?? 1;
  opts = { ...opts, flags: withDataSpec(opts.flags, resuming, note) };

  let config: TrainConfig;
  let saved: TrainingCheckpoint | null = null;
  if (resuming) {
    saved = readTrainingCheckpoint(dir.checkpoint);
    const stored = parseStoredConfig(saved.meta.config, dir.checkpoint);
    const merged = mergeForResume(stored, jobFlags(opts.flags, size, stored));
    config = merged.config;
    if (merged.changed.length) note(`resuming with changed ${merged.changed.join(', ')}: the continuation will differ from an uninterrupted run`);
    if (config.steps <= saved.meta.step) note(`the checkpoint is at step ${saved.meta.step}, already at --steps ${config.steps}`);
  } else {
    config = freshJobConfig(jobFlags(opts.flags, size, null), size);
  }
  checkJobConfig(config, size);

  opts = withRunThreads(opts, config);
  const dataset = await openRunDataset(config, opts, note);
  try {
    return build(opts, dir, config, saved, dataset, note);
  } catch (err) {
    dataset.close();
    throw err;
  }
}

/** The options with the onnxruntime threads the run uses. */
export function withRunThreads(opts: TrainRunOptions, config: TrainConfig): TrainRunOptions {
  // the demo's tiny networks gain nothing from a second onnxruntime thread: on a quiet 2-core
  // machine 2 threads took the same wall time (1 min 49 s vs 1 min 46 s) at twice the CPU
  if (config.data === null && opts.runtime?.threads === undefined) return { ...opts, runtime: { ...opts.runtime, threads: DEMO_THREADS } };
  return opts;
}

/** The run's trainer (on a data-parallel rank: its share of the accumulations, synchronised with the others). */
export function buildTrainer(config: TrainConfig, models: RunModels, opts: TrainRunOptions): GanTrainer {
  // Training graphs hold large activations: without onnxruntime's memory arena peak memory is
  // ~35 % lower (BigGAN 32, ch 64, batch 50: 1359 vs 2092 MiB) at ~13 % of the speed (bench:
  // training). BIGGAN_MEM_ARENA=1 brings the arena back.
  const runtime: RuntimeOptions = { memArena: process.env.BIGGAN_MEM_ARENA === '1', ...opts.runtime };
  const size = opts.comm?.size ?? 1;
  const share = rankShare(config, size);
  return new GanTrainer({
    G: models.G, D: models.D, G_ema: models.G_ema, hyper: share.hyper, batch: share.batch, graphs: config.graphs, runtime,
    ...(size > 1 ? { replicas: opts.comm, crossReplicaBn: share.crossReplicaBn } : {}),
  });
}

function build(
  opts: TrainRunOptions, dir: RunDir, config: TrainConfig, saved: TrainingCheckpoint | null, dataset: PreparedDataset, note: (line: string) => void,
): Omit<RunParts, 'evaluator'> {
  if (dataset.numClasses < 1) throw new UserError('the dataset has no classes');
  const loaderOpts = { batchSize: config.batch, seed: config.seed, flip: config.flip };
  const loader = new BatchLoader(dataset, loaderOpts, saved?.meta.loader);

  // On resume the config comes from the checkpoint: its sizes are checked against the tensors it holds.
  const models = saved
    ? buildForFile(dir.checkpoint, saved.tensors, () => buildRunModels(config, dataset.numClasses, { init: false }))
    : buildRunModels(config, dataset.numClasses, { init: true });
  const trainer = buildTrainer(config, models, opts);
  if (config.sigmaReg && sigmaRegWeights(models.G).length === 0) {
    throw new UserError(`--sigma-reg / --sigma-reg-ratio regularise spectrally normalised G weights, and the ${config.arch} generator has none`);
  }
  const clamper = config.sigmaClamp ? new SigmaClamper(config.sigmaClamp, orthoTargets(models.G)) : null;
  const log = new RunLog(dir.log);
  const parts = { config, dir, dataset, loader, models, trainer, clamper, log, opts };
  let result: Omit<RunParts, 'evaluator'>;
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
    const monitorState = section(saved.tensors, 'sv_monitor');
    const watch = new CollapseWatch(config.collapse, saved.meta.watch);
    const dropped = log.truncateAfter(saved.meta.step);
    const step = saved.meta.step;
    const checkpoints = dir.stepCheckpoints().filter((c) => c.step <= step);
    result = { ...parts, watch, resumed: { step, elapsed: saved.meta.elapsedSeconds, healthy: saved.meta.healthy, checkpoints, monitorState } };
    log.write({ type: 'resume', step, from: dir.relative(dir.checkpoint), dropped_records: dropped, config });
    note(`resuming ${dir.root} at step ${step} of ${config.steps}`);
  } else {
    const watch = new CollapseWatch(config.collapse);
    if (fs.existsSync(dir.log)) fs.rmSync(dir.log);
    result = { ...parts, watch, resumed: null };
    log.write({
      type: 'start',
      step: 0,
      config,
      data: dataInfo(dataset),
      class_names: dataset.classNames,
      parameters: { G: models.G.parameterCount(), D: models.D.parameterCount() },
    });
  }
  fs.writeFileSync(dir.config, JSON.stringify(config, null, 2) + '\n');
  return result;
}
