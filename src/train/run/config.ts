/**
 * The configuration of a training run: every knob of the paper's recipe (with the
 * paper's values as defaults), the architecture, and the run's bookkeeping. It is
 * plain JSON, stored in every checkpoint, so `--resume` continues with exactly the
 * settings the run started with; flags given again on resume override them, within
 * the rules of `mergeForResume`.
 *
 * Each field's flag, default, demo value, range and resume rule are declared once in
 * train-flags.ts; this file builds configs from that table and adds the rules between
 * fields. Defaults that depend on the architecture or resolution (width, latent size,
 * G's BN epsilon, the resolution itself) come from the architecture's registry entry
 * (models/architectures.ts). Without --data, the embedded demo preset applies: a small,
 * fast network on the synthetic dataset, with learning rates and an EMA horizon that
 * suit a few hundred iterations.
 */
import type { LossName } from '../losses.js';
import { PENALTIES, type PenaltyName } from '../penalties/penalties.js';
import { UserError, inFile } from '../../errors.js';
import type { OrthoVariant } from '../orthogonal-regularization.js';
import type { GanHyper } from '../train-step.js';
import { architecture } from '../../models/architectures.js';
import type { DNorm } from '../../models/landscape/d-layers.js';
import type { LatentDistribution } from './latents.js';
import { TRAIN_FLAGS, fieldOwner, flagName, getField, setField, type DefaultContext, type ResumeRule, type TrainFlag } from './train-flags.js';

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
  /**
   * Data-parallel ranks split each micro-batch of `batch` (G's BatchNorm statistics summed
   * over them: cross-replica BN) instead of the micro-batches (per-replica BN); one process: no effect.
   */
  crossReplicaBn: boolean;
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

/** A config object in the making: fields set by path. */
type Draft = Record<string, unknown>;

/** The flags as entries of the table (its literal types are for the library option type). */
const FLAGS: readonly TrainFlag[] = TRAIN_FLAGS;

/**
 * What the paper (and BigGAN-PyTorch's launch scripts, where the paper is silent) prescribes:
 * the table's defaults, in its order (the stored config's field order).
 */
function paperDefaults(resolution: number, arch: Arch): TrainConfig {
  const d: DefaultContext = { resolution, arch, archDefaults: architecture(arch, '--arch').defaults(resolution) };
  const c: Draft = {};
  for (const f of FLAGS) {
    if (f.field === undefined || f.default === undefined) continue;
    setField(c, f.field, typeof f.default === 'function' ? (f.default as (d: DefaultContext) => unknown)(d) : structuredClone(f.default));
  }
  return c as unknown as TrainConfig;
}

/**
 * The embedded demo (no --data): BigGAN 32x32 at width 8 on 8 synthetic classes (shape and colour),
 * 600 iterations of one D step each. Higher learning rates, one D step per G step and a
 * short EMA horizon than the paper's, so that samples of each class, in its colour and
 * roughly its shape, appear within a couple of minutes on 2 cores (one D step gave
 * visibly better shapes than two in the same time). The values are the table's `demo`.
 */
function demoOverrides(): TrainFlags {
  const c: Draft = {};
  for (const f of FLAGS) if (f.field !== undefined && f.demo !== undefined) setField(c, f.field, structuredClone(f.demo));
  return c as TrainFlags;
}

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
  if (unused) throw new UserError(`${flagName(fieldOwner(unused))} does not apply to --arch ${arch}`);
  const demoPreset = demoOverrides();
  // the demo's 32x32 where the architecture has it
  const demoResolution = entry.resolutions.includes(demoPreset.resolution!) ? demoPreset.resolution! : entry.defaultResolution;
  const resolution = given.resolution ?? (demo ? demoResolution : entry.defaultResolution);
  const base = paperDefaults(resolution, arch);
  const preset: TrainFlags = demo ? { ...demoPreset, resolution } : {};
  const cfg: TrainConfig = { ...base, ...defined(preset), ...given, collapse: { ...base.collapse, ...(preset.collapse ?? {}), ...(given.collapse ?? {}) } };
  // defaults that are another field's value (--standing-batch: --batch)
  for (const f of FLAGS) if (f.field && f.defaultFrom && getField(given, f.field) === undefined) setField(cfg, f.field, getField(cfg, f.defaultFrom));
  validateConfig(cfg);
  return cfg;
}

/** Checks a config (fresh, resumed or read from a checkpoint): each flag's range, then the rules between fields. */
export function validateConfig(c: TrainConfig): void {
  const bad = (msg: string): never => {
    throw new UserError(msg);
  };
  const entry = architecture(c.arch, '--arch');
  // Stored configs (resume) come from a file: the optional settings must have their shapes, not just their ranges.
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (c.sigmaClamp != null && !(isObj(c.sigmaClamp) && (c.sigmaClamp.kind === 'value' || c.sigmaClamp.kind === 'ratio'))) bad('--sigma-clamp setting is malformed');
  if (c.sigmaReg != null && !(isObj(c.sigmaReg) && ('target' in c.sigmaReg || 'ratio' in c.sigmaReg))) bad('--sigma-reg setting is malformed');
  for (const f of FLAGS) {
    if (!f.range || !f.field) continue;
    const v = f.fromConfig ? f.fromConfig(c) : getField(c, f.field);
    if (v == null && (f.nullable || f.fromConfig)) continue;
    const problem = f.range(v as never);
    if (problem) bad(`${flagName(f)} ${problem}`);
  }
  if (!entry.resolutions.includes(c.resolution)) bad(`--resolution ${c.resolution} is not available for ${c.arch} (have ${entry.resolutions.join(', ')})`);
  if (!entry.dNorms.includes(c.dNorm)) bad(`--d-norm ${c.dNorm} is not available for ${c.arch} (have ${entry.dNorms.join(', ')})`);
  const problem = entry.problem(c);
  if (problem) bad(problem);
  if (c.penaltyWeight != null && (c.penalty ?? 'none') === 'none') bad('--penalty-weight needs --penalty wgan-gp, dragan or l2');
  if (c.sigmaReg && c.sigmaRegStrength === 0) bad('--sigma-reg / --sigma-reg-ratio need --sigma-reg-strength > 0');
  if (c.graphs === 'single') {
    const acc = c.dAccumulations > 1 ? `--d-accumulations ${c.dAccumulations}` : c.gAccumulations > 1 ? `--g-accumulations ${c.gAccumulations}` : null;
    if (acc) bad(`--graphs single cannot be combined with ${acc}: gradient accumulation runs only with --graphs per-step (the default)`);
  }
  const k = c.collapse;
  if (!(k.dLossHigh > k.dLossLow)) bad(`--collapse-d-loss-high (${k.dLossHigh}) must exceed --collapse-d-loss-low (${k.dLossLow})`);
  const s = c.synthetic;
  if (!(Number.isInteger(s.numClasses) && s.numClasses >= 2 && s.numClasses <= 36)) bad(`synthetic classes must be in [2, 36], got ${s.numClasses}`);
  if (!(Number.isInteger(s.count) && s.count > 0)) bad(`synthetic image count must be a positive integer, got ${s.count}`);
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

/** The top-level config fields of the flags with a resume rule, in table order. */
function resumeFields(rule: ResumeRule): (keyof TrainConfig)[] {
  const fields = FLAGS.filter((f) => f.resume === rule && f.field !== undefined && !f.field.includes('.')).map((f) => f.field as keyof TrainConfig);
  return [...new Set(fields)];
}
/** Fields that define the model, its data or the random streams: a resumed run must keep them. */
const FIXED = resumeFields('fixed');
/** Fields that change the optimisation: allowed on resume, but the continuation is then no exact replay. */
const TUNABLE = resumeFields('tunable');

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
  // runs saved before a flag existed (the σ0 regulariser, gradient accumulation, the architecture registry,
  // the study's losses) had it off: the table marks those fields, and a config without one reads as its default
  const c = { ...(json as object) } as Draft;
  for (const f of FLAGS) {
    if (f.absentFromOldRuns && f.field && !(f.field in c)) setField(c, f.field, structuredClone(f.default));
  }
  const defaults = paperDefaults(32, 'biggan');
  const missing = (Object.keys(defaults) as (keyof TrainConfig)[]).filter((k) => !(k in c));
  if (missing.length) throw new UserError(`${source}: the stored training configuration lacks ${missing.join(', ')}`);
  const mistyped = typeMismatch(defaults, c, 'config');
  if (mistyped) throw new UserError(`${source}: the stored training configuration has ${mistyped}`);
  inFile(source, () => validateConfig(c as unknown as TrainConfig));
  return c as unknown as TrainConfig;
}
