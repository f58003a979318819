/**
 * The configuration of a training run: every knob of the paper's recipe (with the
 * paper's values as defaults), the architecture, and the run's bookkeeping. It is
 * plain JSON, stored in every checkpoint, so `--resume` continues with exactly the
 * settings the run started with; flags given again on resume override them, within
 * the rules of `compareForResume`.
 *
 * Defaults that depend on the architecture or resolution (width, latent size, G's BN
 * epsilon, the resolution itself) come from the architecture's registry entry
 * (models/architectures.ts) in `resolveConfig`. Without --data, the embedded demo preset applies:
 * a small, fast network on the synthetic dataset, with learning rates and an EMA
 * horizon that suit a few hundred iterations.
 */
import { LOSS_NAMES, type LossName } from '../losses.js';
import { PENALTIES, PENALTY_NAMES, type PenaltyName } from '../penalties/penalties.js';
import { UserError, inFile } from '../../errors.js';
import type { OrthoVariant } from '../orthogonal-regularization.js';
import { ORTHO_VARIANTS } from '../orthogonal-regularization.js';
import { PAPER_HYPER, type GanHyper } from '../train-step.js';
import { architecture } from '../../models/architectures.js';
import type { ArchitectureSpecificOption } from '../../models/architecture-entry.js';
import { D_NORMS, type DNorm } from '../../models/landscape/d-layers.js';
import { LATENT_DISTRIBUTIONS, type LatentDistribution } from './latents.js';

/** An architecture of the registry (models/architectures.ts): biggan, biggan-deep, sndcgan, resnet19, resnet-cifar. */
export type Arch = string;
export type CollapseAction = 'stop' | 'rollback';

/** Top-singular-value clamp of G's weights after every G step (paper §4.1); null: off. */
export type SigmaClamp = { kind: 'value'; value: number } | { kind: 'ratio'; ratio: number } | null;

/** σ0 regularisation of G towards a fixed value or r · σ1 (paper §4.1's alternative to the clamp); null: off. */
export type SigmaReg = { target: number } | { ratio: number } | null;

export interface CollapseConfig {
  enabled: boolean;
  /** 'rollback': make the last healthy checkpoint DIR/checkpoint.safetensors again, then stop. */
  action: CollapseAction;
  /** No signal is raised before this iteration (early training moves fast and legitimately). */
  warmup: number;
  /** A G layer's σ0 growing by more than this factor over `sigmaWindow` measurements counts as an explosion. */
  sigmaFactor: number;
  sigmaWindow: number;
  /** D's loss (real + fake, averaged over `dLossWindow` iterations) must first fall below `dLossLow`... */
  dLossLow: number;
  /** ...and then rise above `dLossHigh` to count as the collapse jump. */
  dLossHigh: number;
  dLossWindow: number;
  /** Sample-sheet diversity below this fraction of its best value so far counts as degenerate samples. */
  diversityFraction: number;
}

export interface TrainConfig {
  /** Data spec (folder, CIFAR-10 folder, .npy, prepared .bgd); null: the embedded synthetic dataset. */
  data: string | null;
  /** Synthetic data (data = null): classes and images. */
  synthetic: { numClasses: number; count: number; seed: number };
  resolution: number;
  /** Random horizontal flips of the real images. */
  flip: boolean;
  arch: Arch;
  /** D's normalisation (spectral for the BigGAN family; the GAN-landscape architectures have more). */
  dNorm: DNorm;
  /** Unconditional G and D (the GAN-landscape study's setting; the BigGAN family: one class). */
  unconditional: boolean;
  gCh: number;
  dCh: number;
  dimZ: number;
  /** Class-embedding size (BigGAN: the shared embedding; BigGAN-deep: class_embed_dim). */
  sharedDim: number;
  /** BigGAN: hierarchical latents. */
  hier: boolean;
  /** Self-attention resolutions, as BigGAN-PyTorch's attention strings (BigGAN-deep G: none when empty, else at 64). */
  gAttn: number[];
  dAttn: number[];
  bnEps: number;
  snEps: number;

  /** Images per forward pass (fakes and reals each in a D step): the micro-batch when accumulating. */
  batch: number;
  /**
   * Micro-batches whose gradients each D step / the G step sums before its one Adam step
   * (BigGAN-PyTorch num_D_accumulations / num_G_accumulations): effective batch = batch ×
   * accumulations. Each forward normalises with its own micro-batch's BN statistics.
   */
  dAccumulations: number;
  gAccumulations: number;
  steps: number;
  seed: number;
  gLr: number;
  dLr: number;
  gBetas: [number, number];
  dBetas: [number, number];
  adamEps: number;
  dSteps: number;
  orthoBeta: number;
  orthoVariant: OrthoVariant;
  emaDecay: number;
  emaStart: number;
  /** Forward passes of G_ema gathering its BN statistics at each checkpoint (0: keep the EMA's running statistics). */
  standingPasses: number;
  /** Images per standing-statistics pass (default: batch). */
  standingBatch: number;
  latent: LatentDistribution;
  /** Scale of the latent draws (BigGAN-PyTorch z_var, used as a standard deviation). */
  zStd: number;
  /** R1 zero-centred gradient penalty weight γ on D (0: off). */
  r1Gamma: number;
  /** The GAN loss (the paper's: hinge; absent in configs saved before it existed). */
  loss?: LossName;
  /** The study's penalty on D ('none': off) and its weight λ (null: the penalty's default). */
  penalty?: PenaltyName;
  penaltyWeight?: number | null;
  sigmaClamp: SigmaClamp;
  sigmaReg: SigmaReg;
  /** β_σ of the σ0 regulariser (G_loss += β_σ Σ (σ0 − target)²). */
  sigmaRegStrength: number;
  /** 'single': one graph per iteration; 'per-step': one D-step graph and one G-step graph (needed for accumulation). */
  graphs: 'single' | 'per-step';

  checkpointEvery: number;
  /** Periodic checkpoints kept besides DIR/checkpoint.safetensors (the last healthy one is always kept too). */
  keepCheckpoints: number;
  logEvery: number;
  /** Top-3 singular values of every weight every this many iterations (0: never). */
  svEvery: number;
  /** Fixed-latent sample sheet every this many iterations (0: only at the end). */
  sampleEvery: number;
  collapse: CollapseConfig;
}

/** Flags as the user gave them (undefined: not given). */
export type TrainFlags = { [K in Exclude<keyof TrainConfig, 'collapse'>]?: TrainConfig[K] } & { collapse?: Partial<CollapseConfig> };

export const PAPER_COLLAPSE: Readonly<CollapseConfig> = {
  enabled: true,
  action: 'stop',
  warmup: 2000,
  sigmaFactor: 4,
  sigmaWindow: 5,
  dLossLow: 0.1,
  dLossHigh: 1.0,
  dLossWindow: 20,
  diversityFraction: 0.25,
};

/** What the paper (and BigGAN-PyTorch's launch scripts, where the paper is silent) prescribes. */
function paperDefaults(resolution: number, arch: Arch): TrainConfig {
  const h = PAPER_HYPER;
  const a = architecture(arch, '--arch').defaults(resolution);
  return {
    data: null,
    synthetic: { numClasses: 8, count: 800, seed: 0 },
    resolution,
    flip: false,
    arch,
    dNorm: 'spectral',
    unconditional: false,
    gCh: a.gCh,
    dCh: a.dCh,
    dimZ: a.dimZ,
    sharedDim: 128,
    hier: true,
    gAttn: [64],
    dAttn: [64],
    bnEps: a.bnEps,
    snEps: 1e-6,
    batch: 50,
    dAccumulations: 1,
    gAccumulations: 1,
    steps: 100_000,
    seed: 0,
    gLr: h.gLr,
    dLr: h.dLr,
    gBetas: [...(h.gBetas ?? h.betas)],
    dBetas: [...(h.dBetas ?? h.betas)],
    adamEps: h.adamEps,
    dSteps: h.numDSteps,
    orthoBeta: h.orthoBeta,
    orthoVariant: h.orthoVariant,
    emaDecay: h.emaDecay,
    emaStart: h.emaStart,
    standingPasses: 100,
    standingBatch: 50,
    latent: 'normal',
    zStd: 1,
    r1Gamma: 0,
    loss: 'hinge',
    penalty: 'none',
    penaltyWeight: null,
    sigmaClamp: null,
    sigmaReg: null,
    sigmaRegStrength: 0,
    // measured (bench/training.ts): per-step graphs are faster and need less memory than one graph
    graphs: 'per-step',
    checkpointEvery: 1000,
    keepCheckpoints: 3,
    logEvery: 10,
    svEvery: 500,
    sampleEvery: 1000,
    collapse: { ...PAPER_COLLAPSE },
  };
}

/**
 * The embedded demo (no --data): BigGAN 32x32 at width 8 on 8 synthetic classes (shape and colour),
 * 600 iterations of one D step each. Higher learning rates, one D step per G step and a
 * short EMA horizon than the paper's, so that samples of each class, in its colour and
 * roughly its shape, appear within a couple of minutes on 2 cores (one D step gave
 * visibly better shapes than two in the same time).
 */
export const DEMO_OVERRIDES: Readonly<TrainFlags> = {
  resolution: 32,
  gCh: 8,
  dCh: 8,
  dimZ: 32,
  sharedDim: 16,
  gAttn: [],
  dAttn: [],
  batch: 16,
  steps: 600,
  dSteps: 1,
  gLr: 5e-4,
  dLr: 5e-4,
  emaDecay: 0.99,
  emaStart: 100,
  standingPasses: 16,
  standingBatch: 16,
  checkpointEvery: 100,
  logEvery: 1,
  svEvery: 25,
  sampleEvery: 100,
  collapse: { warmup: 100, sigmaWindow: 4, dLossWindow: 10 },
};

/** The flags of the architecture-specific options. */
const OPTION_FLAGS: Record<ArchitectureSpecificOption, string> = { sharedDim: '--shared-dim', hier: '--no-hier', gAttn: '--g-attn', dAttn: '--d-attn' };

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A fresh run's config: paper defaults (or the demo preset without --data), then the flags given. */
export function resolveConfig(flags: TrainFlags): TrainConfig {
  const given = defined(flags);
  const demo = (given.data ?? null) === null;
  const arch = given.arch ?? 'biggan';
  const entry = architecture(arch, '--arch');
  const unused = entry.unusedOptions.find((k) => given[k] !== undefined);
  if (unused) throw new UserError(`${OPTION_FLAGS[unused]} does not apply to --arch ${arch}`);
  // the demo's 32x32 where the architecture has it
  const demoResolution = entry.resolutions.includes(DEMO_OVERRIDES.resolution!) ? DEMO_OVERRIDES.resolution! : entry.defaultResolution;
  const resolution = given.resolution ?? (demo ? demoResolution : entry.defaultResolution);
  const base = paperDefaults(resolution, arch);
  const preset: TrainFlags = demo ? { ...DEMO_OVERRIDES, resolution } : {};
  const cfg: TrainConfig = { ...base, ...defined(preset), ...given, collapse: { ...base.collapse, ...(preset.collapse ?? {}), ...(given.collapse ?? {}) } };
  if (given.batch !== undefined && given.standingBatch === undefined) cfg.standingBatch = given.batch;
  else if (given.standingBatch === undefined && preset.standingBatch === undefined) cfg.standingBatch = cfg.batch;
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: TrainConfig): void {
  const bad = (msg: string): never => {
    throw new UserError(msg);
  };
  const posInt = (v: number, flag: string) => (Number.isInteger(v) && v > 0) || bad(`${flag} must be a positive integer, got ${v}`);
  const nonNegInt = (v: number, flag: string) => (Number.isInteger(v) && v >= 0) || bad(`${flag} must be a non-negative integer, got ${v}`);
  const posNum = (v: number, flag: string) => (Number.isFinite(v) && v > 0) || bad(`${flag} must be a positive number, got ${v}`);
  const betas = (b: [number, number], flag: string) =>
    (b.length === 2 && b.every((x) => Number.isFinite(x) && x >= 0 && x < 1)) || bad(`${flag} must be two numbers in [0, 1), got ${b.join(',')}`);
  const entry = architecture(c.arch, '--arch');
  if (!entry.resolutions.includes(c.resolution)) bad(`--resolution ${c.resolution} is not available for ${c.arch} (have ${entry.resolutions.join(', ')})`);
  if (!D_NORMS.includes(c.dNorm)) bad(`--d-norm must be one of ${D_NORMS.join(', ')}, got ${c.dNorm}`);
  if (!entry.dNorms.includes(c.dNorm)) bad(`--d-norm ${c.dNorm} is not available for ${c.arch} (have ${entry.dNorms.join(', ')})`);
  if (typeof c.unconditional !== 'boolean') bad('--unconditional setting is malformed');
  posInt(c.gCh, '--ch');
  posInt(c.dCh, '--d-ch');
  posInt(c.dimZ, '--dim-z');
  posInt(c.sharedDim, '--shared-dim');
  posNum(c.bnEps, '--bn-eps');
  posNum(c.snEps, '--sn-eps');
  const problem = entry.problem(c);
  if (problem) bad(problem);
  posInt(c.batch, '--batch');
  posInt(c.dAccumulations, '--d-accumulations');
  posInt(c.gAccumulations, '--g-accumulations');
  posInt(c.steps, '--steps');
  nonNegInt(c.seed, '--seed');
  posNum(c.gLr, '--g-lr');
  posNum(c.dLr, '--d-lr');
  betas(c.gBetas, '--g-betas');
  betas(c.dBetas, '--d-betas');
  posNum(c.adamEps, '--adam-eps');
  posInt(c.dSteps, '--d-steps');
  if (!(Number.isFinite(c.orthoBeta) && c.orthoBeta >= 0)) bad(`--ortho-beta must be >= 0, got ${c.orthoBeta}`);
  if (!ORTHO_VARIANTS.includes(c.orthoVariant)) bad(`--ortho-variant must be one of ${ORTHO_VARIANTS.join(', ')}, got ${c.orthoVariant}`);
  if (!(c.emaDecay >= 0 && c.emaDecay <= 1)) bad(`--ema-decay must be in [0, 1], got ${c.emaDecay}`);
  nonNegInt(c.emaStart, '--ema-start');
  nonNegInt(c.standingPasses, '--standing-passes');
  posInt(c.standingBatch, '--standing-batch');
  if (!LATENT_DISTRIBUTIONS.includes(c.latent)) bad(`--latent must be one of ${LATENT_DISTRIBUTIONS.join(', ')}, got ${c.latent}`);
  posNum(c.zStd, '--z-std');
  if (!(Number.isFinite(c.r1Gamma) && c.r1Gamma >= 0)) bad(`--r1-gamma must be >= 0, got ${c.r1Gamma}`);
  if (c.loss != null && !(LOSS_NAMES as readonly string[]).includes(c.loss)) bad(`--loss must be one of ${LOSS_NAMES.join(', ')}, got ${c.loss}`);
  if (c.penalty != null && !(PENALTY_NAMES as readonly string[]).includes(c.penalty)) bad(`--penalty must be one of ${PENALTY_NAMES.join(', ')}, got ${c.penalty}`);
  if (c.penaltyWeight != null && !(Number.isFinite(c.penaltyWeight) && c.penaltyWeight >= 0)) bad(`--penalty-weight must be >= 0, got ${c.penaltyWeight}`);
  if (c.penaltyWeight != null && (c.penalty ?? 'none') === 'none') bad('--penalty-weight needs --penalty wgan-gp, dragan or l2');
  // Stored configs (resume) come from a file: the optional settings must have their shapes, not just their ranges.
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (c.data != null && typeof c.data !== 'string') bad(`--data must be a path, got ${typeof c.data}`);
  if (c.sigmaClamp != null && !(isObj(c.sigmaClamp) && (c.sigmaClamp.kind === 'value' || c.sigmaClamp.kind === 'ratio'))) bad('--sigma-clamp setting is malformed');
  if (c.sigmaReg != null && !(isObj(c.sigmaReg) && ('target' in c.sigmaReg || 'ratio' in c.sigmaReg))) bad('--sigma-reg setting is malformed');
  if (c.sigmaClamp?.kind === 'value') posNum(c.sigmaClamp.value, '--sigma-clamp');
  if (c.sigmaClamp?.kind === 'ratio') posNum(c.sigmaClamp.ratio, '--sigma-clamp-ratio');
  if (c.sigmaReg && 'target' in c.sigmaReg) posNum(c.sigmaReg.target, '--sigma-reg');
  if (c.sigmaReg && 'ratio' in c.sigmaReg) posNum(c.sigmaReg.ratio, '--sigma-reg-ratio');
  if (!(Number.isFinite(c.sigmaRegStrength) && c.sigmaRegStrength >= 0)) bad(`--sigma-reg-strength must be >= 0, got ${c.sigmaRegStrength}`);
  if (c.sigmaReg && c.sigmaRegStrength === 0) bad('--sigma-reg / --sigma-reg-ratio need --sigma-reg-strength > 0');
  if (c.graphs !== 'single' && c.graphs !== 'per-step') bad(`--graphs must be single or per-step, got ${c.graphs}`);
  if (c.graphs === 'single') {
    const acc = c.dAccumulations > 1 ? `--d-accumulations ${c.dAccumulations}` : c.gAccumulations > 1 ? `--g-accumulations ${c.gAccumulations}` : null;
    if (acc) bad(`--graphs single cannot be combined with ${acc}: gradient accumulation runs only with --graphs per-step (the default)`);
  }
  posInt(c.checkpointEvery, '--checkpoint-every');
  nonNegInt(c.keepCheckpoints, '--keep-checkpoints');
  posInt(c.logEvery, '--log-every');
  nonNegInt(c.svEvery, '--sv-every');
  nonNegInt(c.sampleEvery, '--sample-every');
  const k = c.collapse;
  if (k.action !== 'stop' && k.action !== 'rollback') bad(`--collapse-action must be stop or rollback, got ${k.action}`);
  nonNegInt(k.warmup, '--collapse-warmup');
  posNum(k.sigmaFactor, '--collapse-sigma-factor');
  if (!(k.sigmaFactor > 1)) bad(`--collapse-sigma-factor must be > 1, got ${k.sigmaFactor}`);
  posInt(k.sigmaWindow, '--collapse-sigma-window');
  posNum(k.dLossLow, '--collapse-d-loss-low');
  posNum(k.dLossHigh, '--collapse-d-loss-high');
  if (!(k.dLossHigh > k.dLossLow)) bad(`--collapse-d-loss-high (${k.dLossHigh}) must exceed --collapse-d-loss-low (${k.dLossLow})`);
  posInt(k.dLossWindow, '--collapse-d-loss-window');
  if (!(k.diversityFraction > 0 && k.diversityFraction < 1)) bad(`--collapse-diversity must be in (0, 1), got ${k.diversityFraction}`);
  const s = c.synthetic;
  if (!(Number.isInteger(s.numClasses) && s.numClasses >= 2 && s.numClasses <= 36)) bad(`synthetic classes must be in [2, 36], got ${s.numClasses}`);
  posInt(s.count, 'synthetic image count');
}

/** The GanTrainer settings of a config. */
export function hyperOf(c: TrainConfig): GanHyper {
  return {
    gLr: c.gLr,
    dLr: c.dLr,
    betas: c.gBetas,
    gBetas: c.gBetas,
    dBetas: c.dBetas,
    adamEps: c.adamEps,
    numDSteps: c.dSteps,
    numDAccumulations: c.dAccumulations,
    numGAccumulations: c.gAccumulations,
    orthoBeta: c.orthoBeta,
    orthoVariant: c.orthoVariant,
    emaDecay: c.emaDecay,
    emaStart: c.emaStart,
    r1Gamma: c.r1Gamma,
    ...(c.loss && c.loss !== 'hinge' ? { loss: c.loss } : {}),
    ...(c.penalty && c.penalty !== 'none' ? { penalty: c.penalty, penaltyWeight: c.penaltyWeight ?? PENALTIES[c.penalty].defaultWeight } : {}),
    ...(c.sigmaReg ? { sigmaReg: c.sigmaReg, sigmaRegStrength: c.sigmaRegStrength } : {}),
  };
}

/** Fields that define the model, its data or the random streams (accumulations: the effective batch and the data consumed): a resumed run must keep them. */
const FIXED: (keyof TrainConfig)[] = [
  'data', 'synthetic', 'resolution', 'flip', 'arch', 'dNorm', 'unconditional', 'gCh', 'dCh', 'dimZ', 'sharedDim', 'hier', 'gAttn', 'dAttn', 'bnEps', 'snEps', 'batch', 'seed', 'dSteps',
  'dAccumulations', 'gAccumulations',
];
/** Fields that change the optimisation: allowed on resume, but the continuation is then no exact replay. */
const TUNABLE: (keyof TrainConfig)[] = [
  'gLr', 'dLr', 'gBetas', 'dBetas', 'adamEps', 'orthoBeta', 'orthoVariant', 'emaDecay', 'emaStart', 'standingPasses', 'standingBatch',
  'latent', 'zStd', 'r1Gamma', 'loss', 'penalty', 'penaltyWeight', 'sigmaClamp', 'sigmaReg', 'sigmaRegStrength', 'graphs',
];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The config a resumed run continues with: the saved one, overridden by the flags
 * given now. Changing a FIXED field is refused; changed TUNABLE fields are returned
 * so the caller can say that the continuation differs from an uninterrupted run.
 */
export function mergeForResume(saved: TrainConfig, flags: TrainFlags): { config: TrainConfig; changed: string[] } {
  const given = defined(flags);
  const cfg: TrainConfig = { ...saved, ...given, collapse: { ...saved.collapse, ...(given.collapse ?? {}) } };
  const refused = FIXED.filter((k) => k in given && !same(given[k], saved[k]));
  if (refused.length) {
    const list = refused.map((k) => `${k} ${JSON.stringify(saved[k])} -> ${JSON.stringify(given[k])}`).join(', ');
    throw new UserError(`--resume cannot change the model, data, batch or seed of a run (${list}); start a new run in another --out`);
  }
  validateConfig(cfg);
  return { config: cfg, changed: TUNABLE.filter((k) => !same(cfg[k], saved[k])) };
}

/** Parses a config stored in a checkpoint (checks it is complete). */
/**
 * The first field of `value` whose JSON type differs from the same field of `model`
 * (a default config): numbers, strings and booleans must match, arrays hold what the
 * default's elements are, objects are compared field by field; a null default allows
 * anything (validateConfig checks those). Null when every field fits.
 */
function typeMismatch(model: unknown, value: unknown, path: string): string | null {
  const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (model === null) return null; // optional settings (data, sigma clamp/regulariser): validateConfig checks them
  if (kind(model) !== kind(value)) return `${kind(value)} at ${path}, expected ${kind(model)}`;
  if (Array.isArray(model)) {
    const el = model[0];
    const bad = (value as unknown[]).findIndex((x) => el !== undefined && kind(x) !== kind(el));
    return bad >= 0 ? `${kind((value as unknown[])[bad])} at ${path}[${bad}], expected ${kind(el)}` : null;
  }
  if (kind(model) === 'object') {
    for (const [k, m] of Object.entries(model as Record<string, unknown>)) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const problem = typeMismatch(m, v, `${path}.${k}`);
      if (problem) return problem;
    }
  }
  return null;
}

export function parseStoredConfig(json: unknown, source: string): TrainConfig {
  if (!json || typeof json !== 'object') throw new UserError(`${source}: no training configuration in the checkpoint`);
  // runs saved before the σ0 regulariser / gradient accumulation / the architecture registry / the study's losses existed had them off
  const c = {
    sigmaReg: null, sigmaRegStrength: 0, dAccumulations: 1, gAccumulations: 1, dNorm: 'spectral', unconditional: false, loss: 'hinge', penalty: 'none', penaltyWeight: null,
    ...(json as object),
  } as TrainConfig;
  const defaults = paperDefaults(32, 'biggan');
  const missing = (Object.keys(defaults) as (keyof TrainConfig)[]).filter((k) => !(k in c));
  if (missing.length) throw new UserError(`${source}: the stored training configuration lacks ${missing.join(', ')}`);
  const mistyped = typeMismatch(defaults, c, 'config');
  if (mistyped) throw new UserError(`${source}: the stored training configuration has ${mistyped}`);
  inFile(source, () => validateConfig(c));
  return c;
}
