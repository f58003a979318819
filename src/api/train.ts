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
import type { LossName } from '../train/losses.js';
import type { PenaltyName } from '../train/penalties/penalties.js';
import { UserError } from '../errors.js';
import type { CollapseConfig, TrainFlags } from '../train/run/config.js';
import type { LatentDistribution } from '../train/run/latents.js';
import type { OrthoVariant } from '../train/orthogonal-regularization.js';
import { TrainRun, type EvalInfo, type PhaseInfo, type ProgressInfo, type TrainEvalOptions, type TrainResult } from '../train/run/train-run.js';

export type { EvalInfo, PhaseInfo, ProgressInfo, TrainResult, LatentDistribution, OrthoVariant };

/** `biggan train`'s flags, camelCased (`--d-ch` is `dCh`); absent: the paper's default (or, on resume, the run's own). */
export interface TrainFlagOptions {
  /**
   * Image folder (one sub-folder per class, or images directly in it: class-less, with `unconditional`), CIFAR-10
   * binary folder (training split) or one of its batches (DIR/test_batch.bin), images.npy[:labels.npy] or a prepared .bgd;
   * absent: the embedded demo.
   */
  data?: string;
  /** A registry architecture: biggan (default), biggan-deep, sndcgan, resnet19, resnet-cifar. */
  arch?: string;
  resolution?: number;
  /** D's normalisation: spectral (default), none, batch, layer (which ones an architecture has: its registry entry). */
  dNorm?: 'spectral' | 'none' | 'batch' | 'layer';
  /** Unconditional G and D (the GAN-landscape study's setting; the BigGAN family trains one class). */
  unconditional?: boolean;
  /** Channel width of G and D. */
  ch?: number;
  dCh?: number;
  dimZ?: number;
  sharedDim?: number;
  hier?: boolean;
  /** Self-attention resolutions of G ([] for none). */
  gAttn?: number[];
  dAttn?: number[];
  bnEps?: number;
  snEps?: number;
  batch?: number;
  dAccumulations?: number;
  gAccumulations?: number;
  steps?: number;
  seed?: number;
  gLr?: number;
  dLr?: number;
  /** Adam betas of G and D. */
  betas?: [number, number];
  gBetas?: [number, number];
  dBetas?: [number, number];
  adamEps?: number;
  dSteps?: number;
  orthoBeta?: number;
  orthoVariant?: OrthoVariant;
  emaDecay?: number;
  emaStart?: number;
  standingPasses?: number;
  standingBatch?: number;
  latent?: LatentDistribution;
  zStd?: number;
  r1Gamma?: number;
  /** The GAN loss (default hinge, the paper's): hinge, ns, minimax, wgan, ls. */
  loss?: LossName;
  /** A penalty on D from the large-scale study (default none): wgan-gp, dragan, l2. */
  penalty?: PenaltyName;
  /** Its weight λ (default: 10 for wgan-gp and dragan, 0.01 for l2). */
  penaltyWeight?: number;
  sigmaClamp?: number;
  sigmaClampRatio?: number;
  sigmaReg?: number;
  sigmaRegRatio?: number;
  sigmaRegStrength?: number;
  graphs?: 'single' | 'per-step';
  checkpointEvery?: number;
  keepCheckpoints?: number;
  logEvery?: number;
  svEvery?: number;
  sampleEvery?: number;
  collapseWatch?: boolean;
  collapseAction?: 'stop' | 'rollback';
  collapseWarmup?: number;
  collapseSigmaFactor?: number;
  collapseSigmaWindow?: number;
  collapseDLossLow?: number;
  collapseDLossHigh?: number;
  collapseDLossWindow?: number;
  collapseDiversity?: number;
  flip?: boolean;
  syntheticClasses?: number;
  syntheticCount?: number;
}

export interface TrainOptions extends TrainFlagOptions {
  /** Run directory: checkpoint.safetensors, checkpoints/, log.jsonl, samples/. */
  out: string;
  /** Continue the run in `out` exactly where its last checkpoint left it. */
  resume?: boolean;
  skipBad?: boolean;
  /** Prepared-data cache file or folder. */
  cache?: string;
  threads?: number;
  /** Periodic IS/FID of G_ema: reference statistics (.npz from `biggan fid-stats`). */
  stats?: string;
  /** Inception weights file, or 'procedural' (a testing aid). */
  inception?: string;
  evalEvery?: number;
  evalN?: number;
  evalTruncation?: number;
  /** After every iteration. */
  onProgress?: (p: ProgressInfo) => void;
  /** Progress of the long parts outside iterations (data preparation, standing statistics, checkpoint, sheets, evaluation). */
  onPhase?: (p: PhaseInfo) => void;
  /** One-line notes (data preparation, compiled graphs, checkpoints...). */
  onNote?: (line: string) => void;
  /** Abort to stop after the current iteration, with a checkpoint (result status 'interrupted'). */
  signal?: AbortSignal;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'data', 'arch', 'dNorm', 'unconditional', 'resolution', 'ch', 'dCh', 'dimZ', 'sharedDim', 'hier', 'gAttn', 'dAttn', 'bnEps', 'snEps', 'batch', 'dAccumulations', 'gAccumulations',
  'steps', 'seed', 'gLr', 'dLr', 'betas', 'gBetas', 'dBetas', 'adamEps', 'dSteps', 'orthoBeta', 'orthoVariant', 'emaDecay', 'emaStart', 'standingPasses',
  'standingBatch', 'latent', 'zStd', 'r1Gamma', 'loss', 'penalty', 'penaltyWeight', 'sigmaClamp', 'sigmaClampRatio', 'sigmaReg', 'sigmaRegRatio', 'sigmaRegStrength', 'graphs', 'checkpointEvery',
  'keepCheckpoints', 'logEvery', 'svEvery', 'sampleEvery', 'collapseWatch', 'collapseAction', 'collapseWarmup', 'collapseSigmaFactor', 'collapseSigmaWindow',
  'collapseDLossLow', 'collapseDLossHigh', 'collapseDLossWindow', 'collapseDiversity', 'flip', 'syntheticClasses', 'syntheticCount',
  'out', 'resume', 'skipBad', 'cache', 'threads', 'stats', 'inception', 'evalEvery', 'evalN', 'evalTruncation', 'onProgress', 'onPhase', 'onNote', 'signal',
]);

/** The run's flags from the options (undefined: not given). */
export function flagsFrom(o: TrainFlagOptions): TrainFlags {
  const collapse: Partial<CollapseConfig> = {};
  const setC = <K extends keyof CollapseConfig>(k: K, v: CollapseConfig[K] | undefined): void => {
    if (v !== undefined) collapse[k] = v;
  };
  setC('enabled', o.collapseWatch);
  setC('action', o.collapseAction);
  setC('warmup', o.collapseWarmup);
  setC('sigmaFactor', o.collapseSigmaFactor);
  setC('sigmaWindow', o.collapseSigmaWindow);
  setC('dLossLow', o.collapseDLossLow);
  setC('dLossHigh', o.collapseDLossHigh);
  setC('dLossWindow', o.collapseDLossWindow);
  setC('diversityFraction', o.collapseDiversity);
  if (o.sigmaClamp !== undefined && o.sigmaClampRatio !== undefined) throw new UserError('give either --sigma-clamp or --sigma-clamp-ratio, not both');
  if (o.sigmaReg !== undefined && o.sigmaRegRatio !== undefined) throw new UserError('give either --sigma-reg or --sigma-reg-ratio, not both');
  const flags: TrainFlags = {
    data: o.data,
    resolution: o.resolution,
    flip: o.flip,
    arch: o.arch,
    dNorm: o.dNorm,
    unconditional: o.unconditional,
    gCh: o.ch,
    dCh: o.dCh ?? o.ch,
    dimZ: o.dimZ,
    sharedDim: o.sharedDim,
    hier: o.hier,
    gAttn: o.gAttn,
    dAttn: o.dAttn,
    bnEps: o.bnEps,
    snEps: o.snEps,
    batch: o.batch,
    dAccumulations: o.dAccumulations,
    gAccumulations: o.gAccumulations,
    steps: o.steps,
    seed: o.seed,
    gLr: o.gLr,
    dLr: o.dLr,
    gBetas: o.gBetas ?? o.betas,
    dBetas: o.dBetas ?? o.betas,
    adamEps: o.adamEps,
    dSteps: o.dSteps,
    orthoBeta: o.orthoBeta,
    orthoVariant: o.orthoVariant,
    emaDecay: o.emaDecay,
    emaStart: o.emaStart,
    standingPasses: o.standingPasses,
    standingBatch: o.standingBatch,
    latent: o.latent,
    zStd: o.zStd,
    r1Gamma: o.r1Gamma,
    loss: o.loss,
    penalty: o.penalty,
    penaltyWeight: o.penaltyWeight,
    sigmaClamp: o.sigmaClamp !== undefined ? { kind: 'value', value: o.sigmaClamp } : o.sigmaClampRatio !== undefined ? { kind: 'ratio', ratio: o.sigmaClampRatio } : undefined,
    sigmaReg: o.sigmaReg !== undefined ? { target: o.sigmaReg } : o.sigmaRegRatio !== undefined ? { ratio: o.sigmaRegRatio } : undefined,
    sigmaRegStrength: o.sigmaRegStrength,
    graphs: o.graphs,
    checkpointEvery: o.checkpointEvery,
    keepCheckpoints: o.keepCheckpoints,
    logEvery: o.logEvery,
    svEvery: o.svEvery,
    sampleEvery: o.sampleEvery,
    ...(Object.keys(collapse).length ? { collapse } : {}),
  };
  if (o.syntheticClasses !== undefined || o.syntheticCount !== undefined) {
    if (o.data !== undefined) throw new UserError('--synthetic-classes / --synthetic-count apply only without --data');
    const k = o.syntheticClasses ?? 8;
    flags.synthetic = { numClasses: k, count: o.syntheticCount ?? 100 * k, seed: 0 };
  }
  return flags;
}

/** The evaluation options, when any is given (checked when the run opens). */
function evalOptionsFrom(o: TrainOptions): TrainEvalOptions | undefined {
  const e: TrainEvalOptions = { stats: o.stats, inception: o.inception, every: o.evalEvery, n: o.evalN, truncation: o.evalTruncation };
  return Object.values(e).some((v) => v !== undefined) ? e : undefined;
}

/** Opens (or resumes) a run, ready to train; the CLI uses this to attach signal handlers before training. */
export async function openTrainingRun(options: TrainOptions, testing: { faultNanAtStep?: number } = {}): Promise<TrainRun> {
  if (!options || typeof options !== 'object') throw new UserError('train: options must be an object');
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.has(k) && (options as unknown as Record<string, unknown>)[k] !== undefined);
  if (unknown.length) throw new UserError(`train: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  if (typeof options.out !== 'string' || options.out.length === 0) throw new UserError('train: out (the run directory) is required');
  return TrainRun.open({
    flags: flagsFrom(options),
    outDir: options.out,
    resume: !!options.resume,
    skipBad: !!options.skipBad,
    cache: options.cache,
    runtime: { threads: options.threads },
    note: options.onNote ?? (() => {}),
    faultNanAtStep: testing.faultNanAtStep,
    progress: options.onProgress,
    phase: options.onPhase,
    eval: evalOptionsFrom(options),
  });
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
