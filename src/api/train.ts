/**
 * Training as a library call, with the options and defaults of `biggan train`
 * (camelCase of its flags):
 *
 *   const result = await train({ data: 'cifar10/', out: 'run', resolution: 32, ch: 64, steps: 1000,
 *                                onProgress: (p) => console.log(p.step, p.gLoss) });
 *
 * Without `data`, the embedded demo (synthetic classes, demo preset). Resumes with
 * `resume: true`; `signal` (an AbortSignal) stops after the current iteration with a checkpoint.
 */
import { UserError } from '../errors.js';
import type { TrainFlags } from '../train/run/config.js';
import { RUN_FLAGS, TRAIN_FLAGS, flagsFromOptions, type RunFlagValues, type TrainFlagValues } from '../train/run/train-flags.js';
import type { LatentDistribution } from '../train/run/latents.js';
import type { OrthoVariant } from '../train/orthogonal-regularization.js';
import type { Communicator } from '../distributed/communicator.js';
import { ReplicaRun } from '../train/run/replica-run.js';
import { TrainRun, type EvalInfo, type PhaseInfo, type ProgressInfo, type TrainEvalOptions, type TrainResult, type TrainRunOptions } from '../train/run/train-run.js';

export type { EvalInfo, PhaseInfo, ProgressInfo, TrainResult, LatentDistribution, OrthoVariant };

/**
 * `biggan train`'s model and recipe flags, camelCased (`--d-ch` is `dCh`, `--no-hier` is `hier: false`);
 * absent: the paper's default (or, on resume, the run's own). Their meaning and defaults: train/run/train-flags.ts.
 */
export type TrainFlagOptions = TrainFlagValues;

/** The flags of `biggan train` (run-level ones: --out, --resume, data preparation, threads, evaluation) and callbacks. */
export interface TrainOptions extends TrainFlagOptions, RunFlagValues {
  /** Run directory: checkpoint.safetensors, checkpoints/, log.jsonl, samples/. */
  out: string;
  /** After every iteration. */
  onProgress?: (p: ProgressInfo) => void;
  /** Progress of the long parts outside iterations (data preparation, standing statistics, checkpoint, sheets, evaluation). */
  onPhase?: (p: PhaseInfo) => void;
  /** One-line notes (data preparation, compiled graphs, checkpoints...). */
  onNote?: (line: string) => void;
  /** Abort to stop after the current iteration, with a checkpoint (result status 'interrupted'). */
  signal?: AbortSignal;
}

const CALLBACKS = ['onProgress', 'onPhase', 'onNote', 'signal'] as const satisfies readonly (keyof TrainOptions)[];
const OPTION_NAMES: ReadonlySet<string> = new Set([...TRAIN_FLAGS, ...RUN_FLAGS].map((f) => f.option as string).concat(CALLBACKS));

/** The run's flags from the options (undefined: not given). */
export function flagsFrom(o: TrainFlagOptions): TrainFlags {
  return flagsFromOptions(o as Readonly<Record<string, unknown>>);
}

/** The evaluation options, when any is given (checked when the run opens). */
function evalOptionsFrom(o: TrainOptions): TrainEvalOptions | undefined {
  const e: TrainEvalOptions = { stats: o.stats, inception: o.inception, every: o.evalEvery, n: o.evalN, truncation: o.evalTruncation };
  return Object.values(e).some((v) => v !== undefined) ? e : undefined;
}

/** Opens (or resumes) a run, ready to train; the CLI uses this to attach signal handlers before training. */
export async function openTrainingRun(options: TrainOptions, internal: { faultNanAtStep?: number; comm?: Communicator } = {}): Promise<TrainRun> {
  return TrainRun.open(runOptions(options, internal));
}

/**
 * A rank other than 0 of a data-parallel job (`mpiexec -n N biggan train`): trains in
 * lockstep with rank 0 (which opens the run with openTrainingRun and `comm`), writes nothing;
 * resolves with whether rank 0 stopped it early (interrupted).
 */
export async function followTrainingRun(options: TrainOptions, comm: Communicator): Promise<{ interrupted: boolean }> {
  const run = await ReplicaRun.open(runOptions({ ...options, onNote: undefined, onProgress: undefined, onPhase: undefined }, { comm }));
  return run.train();
}

function runOptions(options: TrainOptions, internal: { faultNanAtStep?: number; comm?: Communicator }): TrainRunOptions {
  if (!options || typeof options !== 'object') throw new UserError('train: options must be an object');
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.has(k) && (options as unknown as Record<string, unknown>)[k] !== undefined);
  if (unknown.length) throw new UserError(`train: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  if (typeof options.out !== 'string' || options.out.length === 0) throw new UserError('train: out (the run directory) is required');
  return {
    flags: flagsFrom(options),
    outDir: options.out,
    resume: !!options.resume,
    skipBad: !!options.skipBad,
    cache: options.cache,
    runtime: { threads: options.threads },
    note: options.onNote ?? (() => {}),
    faultNanAtStep: internal.faultNanAtStep,
    progress: options.onProgress,
    phase: options.onPhase,
    eval: evalOptionsFrom(options),
    ...(internal.comm ? { comm: internal.comm } : {}),
  };
}

/** Trains (or resumes) a run to `steps` iterations; resolves with how it ended. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const run = await openTrainingRun(options);
  const stop = (): void => run.requestStop();
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    return await run.train();
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}
