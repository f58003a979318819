/**
 * Every flag of `biggan train` that shapes the run, declared once. An entry says how the
 * flag reads (its kind: the CLI parser and the library option's type), which field of the
 * stored run config (config.ts: TrainConfig) it sets, its default and demo value, the
 * range its config value must lie in, whether it changes the compiled training graphs,
 * and whether `--resume` may change it. From this table come the commander options
 * (cli/train-flag-options.ts), the library's option type and option mapping
 * (api/train.ts), the sweep's settable options, the paper defaults and demo preset,
 * the config checks and the resume rules (config.ts).
 *
 * Run-level options (RUN_FLAGS: --out, --resume, data preparation, threads, periodic
 * evaluation) say how this process runs, not what is trained: they are not stored in
 * the run config and must be given again on resume. `--dashboard` is the CLI's own.
 *
 * Adding a training flag: one entry here (in stored-config order: the config's JSON keys
 * follow the entries), its TrainConfig field, and using the value where it matters.
 */
import { LOSSES, LOSS_NAMES } from '../losses.js';
import { PENALTIES, PENALTY_NAMES } from '../penalties/penalties.js';
import { ORTHO_VARIANTS } from '../orthogonal-regularization.js';
import { PAPER_HYPER } from '../train-step.js';
import { ARCHITECTURE_NAMES, architecture } from '../../models/architectures.js';
import type { ArchitectureDefaults } from '../../models/architecture-entry.js';
import { D_NORMS } from '../../models/landscape/d-layers.js';
import { UserError } from '../../errors.js';
import { LATENT_DISTRIBUTIONS } from './latents.js';
import type { CollapseConfig, TrainConfig, TrainFlags } from './config.js';

/** How a flag's value is written: on the command line (the parser) and as a library option (its type). */
export type FlagKind =
  | { readonly kind: 'int'; readonly min: 0 | 1 }
  | { readonly kind: 'number' }
  | { readonly kind: 'betas' }
  | { readonly kind: 'attention' }
  | { readonly kind: 'choice'; readonly choices: readonly string[] }
  /** --flip: true when given. */
  | { readonly kind: 'switch' }
  /** --no-hier: false when given (the option's default is true). */
  | { readonly kind: 'negated' }
  | { readonly kind: 'path' };

const posInt = { kind: 'int', min: 1 } as const;
const nonNegInt = { kind: 'int', min: 0 } as const;
const num = { kind: 'number' } as const;
const betas = { kind: 'betas' } as const;
const attention = { kind: 'attention' } as const;
const switchFlag = { kind: 'switch' } as const;
const negated = { kind: 'negated' } as const;
const pathFlag = { kind: 'path' } as const;
const choice = <T extends string>(choices: readonly T[]) => ({ kind: 'choice', choices }) as const;

/** The library option type of a kind. */
export type KindValue<K> = K extends { kind: 'int' | 'number' }
  ? number
  : K extends { kind: 'betas' }
    ? [number, number]
    : K extends { kind: 'attention' }
      ? number[]
      : K extends { kind: 'choice'; choices: readonly (infer C)[] }
        ? C
        : K extends { kind: 'switch' | 'negated' }
          ? boolean
          : K extends { kind: 'path' }
            ? string
            : never;

/** A stored-config field: a TrainConfig key, or a collapse-watch setting. */
export type ConfigField = Exclude<keyof TrainConfig, 'collapse'> | `collapse.${keyof CollapseConfig}`;

/**
 * 'fixed': defines the model, its data or the random streams (accumulations: the effective
 * batch and the data consumed), refused on --resume; 'tunable': changes the optimisation,
 * allowed on resume (the continuation is then no exact replay; the run says so); 'free':
 * bookkeeping (length, checkpoints, logs, collapse watch), changed silently.
 */
export type ResumeRule = 'fixed' | 'tunable' | 'free';

/** What defaults may depend on: the architecture's registry entry at the run's resolution. */
export interface DefaultContext {
  resolution: number;
  arch: string;
  archDefaults: ArchitectureDefaults;
}

/** A config value's problem (the text after the flag name), or null. */
export type RangeCheck = (v: never) => string | null;

export interface TrainFlag {
  /** Commander syntax: '--g-lr <lr>', '--flip', '--no-hier'. */
  readonly flag: string;
  /** The library option: commander's attribute name of the flag (camelCase, --no-x: x). */
  readonly option: string;
  readonly help: string;
  readonly kind: FlagKind;
  /** The config field this flag sets. Several flags may set one field (their toConfig build it). */
  readonly field?: ConfigField;
  /** Fields this flag sets when their own flags are not given (--ch: dCh; --betas: gBetas and dBetas). */
  readonly fallbackFor?: readonly ConfigField[];
  /** The other flag (option) for the same field: giving both is an error. */
  readonly excludes?: string;
  /** The field's value from this flag's value (and the other options); default: the value itself. */
  readonly toConfig?: (value: never, options: Readonly<Record<string, unknown>>) => unknown;
  /** This flag's value in a config, for its range check (undefined: not set); default: the field. */
  readonly fromConfig?: (c: TrainConfig) => unknown;
  /** The range its config value must lie in (messages follow the flag name); none: checked by config.ts's cross-field rules. */
  readonly range?: RangeCheck;
  /** null or undefined in a config means "off" (or, for settings older than the flag, the default) and passes the range check. */
  readonly nullable?: boolean;
  /** The field's paper default (the one flag that owns a field declares it); a function: depends on the architecture. */
  readonly default?: unknown;
  /** The field's value in the embedded demo (no --data). */
  readonly demo?: unknown;
  /** The default is the resolved value of this field (--standing-batch: --batch). */
  readonly defaultFrom?: ConfigField;
  /** Configs stored before this flag existed lack its field: they read as its default (the setting was off). */
  readonly absentFromOldRuns?: boolean;
  /** Whether a change of value changes the compiled training graphs (structure, not scalar inputs). */
  readonly graph: boolean;
  readonly resume: ResumeRule;
}

const positive: RangeCheck = (v: number) => (Number.isInteger(v) && v > 0 ? null : `must be a positive integer, got ${v}`);
const nonNegative: RangeCheck = (v: number) => (Number.isInteger(v) && v >= 0 ? null : `must be a non-negative integer, got ${v}`);
const positiveNumber: RangeCheck = (v: number) => (Number.isFinite(v) && v > 0 ? null : `must be a positive number, got ${v}`);
const atLeastZero: RangeCheck = (v: number) => (Number.isFinite(v) && v >= 0 ? null : `must be >= 0, got ${v}`);
const aboveOne: RangeCheck = (v: number) => positiveNumber(v as never) ?? (v > 1 ? null : `must be > 1, got ${v}`);
const betaPair: RangeCheck = (b: [number, number]) =>
  Array.isArray(b) && b.length === 2 && b.every((x) => Number.isFinite(x) && x >= 0 && x < 1) ? null : `must be two numbers in [0, 1), got ${Array.isArray(b) ? b.join(',') : b}`;
const oneOf = (choices: readonly string[]): RangeCheck => (v: string) =>
  choices.includes(v) ? null : `must be ${choices.length === 2 ? choices.join(' or ') : `one of ${choices.join(', ')}`}, got ${v}`;
const isBoolean: RangeCheck = (v: unknown) => (typeof v === 'boolean' ? null : 'setting is malformed');
const isPath: RangeCheck = (v: unknown) => (typeof v === 'string' ? null : `must be a path, got ${typeof v}`);

const h = PAPER_HYPER;
const GRAPH_MODES = ['single', 'per-step'] as const;
const COLLAPSE_ACTIONS = ['stop', 'rollback'] as const;

function syntheticFrom(o: Readonly<Record<string, unknown>>): TrainConfig['synthetic'] {
  if (o.data !== undefined) throw new UserError('--synthetic-classes / --synthetic-count apply only without --data');
  const k = (o.syntheticClasses as number | undefined) ?? 8;
  return { numClasses: k, count: (o.syntheticCount as number | undefined) ?? 100 * k, seed: 0 };
}

/** The model and recipe flags, in the order of the stored config's fields. */
export const TRAIN_FLAGS = [
  {
    flag: '--data <path>', option: 'data', kind: pathFlag, field: 'data', default: null, nullable: true, range: isPath, graph: false, resume: 'fixed',
    help: 'image folder (one sub-folder per class, or images directly in it: class-less, with --unconditional), CIFAR-10 binary folder (training split) or one batch of it (DIR/test_batch.bin), images.npy[:labels.npy], or a prepared .bgd (default: embedded synthetic data and the demo settings)',
  },
  {
    flag: '--synthetic-classes <k>', option: 'syntheticClasses', kind: posInt, field: 'synthetic', toConfig: (_: number, o) => syntheticFrom(o),
    default: { numClasses: 8, count: 800, seed: 0 }, graph: true, resume: 'fixed', help: 'embedded data: number of classes (default 8)',
  },
  {
    flag: '--synthetic-count <n>', option: 'syntheticCount', kind: posInt, field: 'synthetic', toConfig: (_: number, o) => syntheticFrom(o),
    graph: true, resume: 'fixed', help: 'embedded data: number of images (default 100 per class)',
  },
  {
    flag: '--resolution <r>', option: 'resolution', kind: posInt, field: 'resolution', default: (d: DefaultContext) => d.resolution, demo: 32, graph: true, resume: 'fixed',
    help: 'image side: 32, 64, 128, 256, 512 as the architecture has them (default 128, resnet-cifar 32; demo 32 where the architecture has it)',
  },
  { flag: '--flip', option: 'flip', kind: switchFlag, field: 'flip', default: false, range: isBoolean, graph: false, resume: 'fixed', help: 'random horizontal flips of the training images' },
  {
    flag: '--arch <arch>', option: 'arch', kind: choice(ARCHITECTURE_NAMES), field: 'arch', default: (d: DefaultContext) => d.arch, graph: true, resume: 'fixed',
    help: `network architecture (default biggan): ${ARCHITECTURE_NAMES.map((n) => `${n}: ${architecture(n).summary}`).join('; ')}`,
  },
  {
    flag: '--d-norm <norm>', option: 'dNorm', absentFromOldRuns: true, kind: choice(D_NORMS), field: 'dNorm', default: 'spectral', range: oneOf(D_NORMS), graph: true, resume: 'fixed',
    help: "D's normalisation (default spectral; sndcgan: spectral or none; resnet19, resnet-cifar: any)",
  },
  {
    flag: '--unconditional', option: 'unconditional', absentFromOldRuns: true, kind: switchFlag, field: 'unconditional', default: false, range: isBoolean, graph: true, resume: 'fixed',
    help: 'ignore the class labels: unconditional G and D (the GAN-landscape study; biggan, biggan-deep: one class)',
  },
  {
    flag: '--ch <c>', option: 'ch', kind: posInt, field: 'gCh', fallbackFor: ['dCh'], default: (d: DefaultContext) => d.archDefaults.gCh, demo: 8, range: positive, graph: true, resume: 'fixed',
    help: 'channel width of G and D (default 64 at 32x32, 96 above; biggan-deep 128; sndcgan, resnet19 64; resnet-cifar 128; demo 8)',
  },
  {
    flag: '--d-ch <c>', option: 'dCh', kind: posInt, field: 'dCh', default: (d: DefaultContext) => d.archDefaults.dCh, demo: 8, range: positive, graph: true, resume: 'fixed',
    help: 'channel width of D (default: --ch)',
  },
  {
    flag: '--dim-z <n>', option: 'dimZ', kind: posInt, field: 'dimZ', default: (d: DefaultContext) => d.archDefaults.dimZ, demo: 32, range: positive, graph: true, resume: 'fixed',
    help: 'latent size (paper: 128 at 32, 120 at 64/128, 140 at 256, 128 at 512; hier rounds it down to a multiple of the chunks; sndcgan, resnet19, resnet-cifar 128)',
  },
  {
    flag: '--shared-dim <n>', option: 'sharedDim', kind: posInt, field: 'sharedDim', default: 128, demo: 16, range: positive, graph: true, resume: 'fixed',
    help: 'size of the shared class embedding (default 128)',
  },
  { flag: '--no-hier', option: 'hier', kind: negated, field: 'hier', default: true, range: isBoolean, graph: true, resume: 'fixed', help: 'feed the whole z to the first layer (default: hierarchical latents)' },
  {
    flag: '--g-attn <res>', option: 'gAttn', kind: attention, field: 'gAttn', default: [64], demo: [], graph: true, resume: 'fixed',
    help: 'G self-attention resolutions, e.g. 64 or 32_64, 0 for none (default 64)',
  },
  { flag: '--d-attn <res>', option: 'dAttn', kind: attention, field: 'dAttn', default: [64], demo: [], graph: true, resume: 'fixed', help: 'D self-attention resolutions (default 64)' },
  {
    flag: '--bn-eps <e>', option: 'bnEps', kind: num, field: 'bnEps', default: (d: DefaultContext) => d.archDefaults.bnEps, range: positiveNumber, graph: true, resume: 'fixed',
    help: "G's batch-norm epsilon (default 1e-5; sndcgan 2e-5)",
  },
  { flag: '--sn-eps <e>', option: 'snEps', kind: num, field: 'snEps', default: 1e-6, range: positiveNumber, graph: true, resume: 'fixed', help: 'spectral-norm epsilon (default 1e-6)' },
  {
    flag: '--batch <b>', option: 'batch', kind: posInt, field: 'batch', default: 50, demo: 16, range: positive, graph: true, resume: 'fixed',
    help: 'images per forward pass: per D step and per G step, or per micro-batch with accumulation (default 50; demo 16)',
  },
  {
    flag: '--d-accumulations <k>', option: 'dAccumulations', absentFromOldRuns: true, kind: posInt, field: 'dAccumulations', default: 1, range: positive, graph: true, resume: 'fixed',
    help: 'micro-batches of --batch whose gradients each D step sums before its Adam step (effective batch --batch x k; default 1)',
  },
  {
    flag: '--g-accumulations <k>', option: 'gAccumulations', absentFromOldRuns: true, kind: posInt, field: 'gAccumulations', default: 1, range: positive, graph: true, resume: 'fixed',
    help: 'the same for the G step (default 1)',
  },
  {
    // fixed: it decides what the stored batch means to the ranks and which BN statistics the run trains with
    flag: '--cross-replica-bn', option: 'crossReplicaBn', absentFromOldRuns: true, kind: switchFlag, field: 'crossReplicaBn', default: false, range: isBoolean, graph: true, resume: 'fixed',
    help: "under mpiexec: G's BatchNorm statistics over every rank's batch (--batch per rank; one process: no effect)",
  },
  {
    flag: '--steps <n>', option: 'steps', kind: posInt, field: 'steps', default: 100_000, demo: 600, range: positive, graph: false, resume: 'free',
    help: 'total iterations of the run; one iteration = the D steps + one G step (default 100000; demo 600)',
  },
  { flag: '--seed <s>', option: 'seed', kind: nonNegInt, field: 'seed', default: 0, range: nonNegative, graph: false, resume: 'fixed', help: 'seed of init, latents and data order (default 0)' },
  { flag: '--g-lr <lr>', option: 'gLr', kind: num, field: 'gLr', default: h.gLr, demo: 5e-4, range: positiveNumber, graph: false, resume: 'tunable', help: 'G learning rate (paper 5e-5; demo 5e-4)' },
  { flag: '--d-lr <lr>', option: 'dLr', kind: num, field: 'dLr', default: h.dLr, demo: 5e-4, range: positiveNumber, graph: false, resume: 'tunable', help: 'D learning rate (paper 2e-4; demo 5e-4)' },
  { flag: '--betas <b1,b2>', option: 'betas', kind: betas, fallbackFor: ['gBetas', 'dBetas'], graph: false, resume: 'tunable', help: 'Adam betas of G and D (paper 0,0.999)' },
  { flag: '--g-betas <b1,b2>', option: 'gBetas', kind: betas, field: 'gBetas', default: [...(h.gBetas ?? h.betas)], range: betaPair, graph: false, resume: 'tunable', help: 'Adam betas of G' },
  { flag: '--d-betas <b1,b2>', option: 'dBetas', kind: betas, field: 'dBetas', default: [...(h.dBetas ?? h.betas)], range: betaPair, graph: false, resume: 'tunable', help: 'Adam betas of D' },
  { flag: '--adam-eps <e>', option: 'adamEps', kind: num, field: 'adamEps', default: h.adamEps, range: positiveNumber, graph: false, resume: 'tunable', help: 'Adam epsilon (default 1e-6)' },
  // the D steps of an iteration fix the data and latents each iteration consumes
  { flag: '--d-steps <n>', option: 'dSteps', kind: posInt, field: 'dSteps', default: h.numDSteps, demo: 1, range: positive, graph: true, resume: 'fixed', help: 'D steps per G step (paper 2; demo 1)' },
  {
    flag: '--ortho-beta <b>', option: 'orthoBeta', kind: num, field: 'orthoBeta', default: h.orthoBeta, range: atLeastZero, graph: true, resume: 'tunable',
    help: 'orthogonal regularization beta (paper 1e-4; 0 = off)',
  },
  {
    flag: '--ortho-variant <v>', option: 'orthoVariant', kind: choice(ORTHO_VARIANTS), field: 'orthoVariant', default: h.orthoVariant, range: oneOf(ORTHO_VARIANTS), graph: true, resume: 'tunable',
    help: "orthogonal regularization: biggan (off-diagonal, BigGAN-PyTorch's gradient; default), paper (exact gradient of the paper's term), full, none",
  },
  {
    flag: '--ema-decay <d>', option: 'emaDecay', kind: num, field: 'emaDecay', default: h.emaDecay, demo: 0.99, graph: false, resume: 'tunable',
    range: (v: number) => (v >= 0 && v <= 1 ? null : `must be in [0, 1], got ${v}`), help: 'EMA decay of G_ema (paper 0.9999; demo 0.99)',
  },
  {
    flag: '--ema-start <n>', option: 'emaStart', kind: nonNegInt, field: 'emaStart', default: h.emaStart, demo: 100, range: nonNegative, graph: false, resume: 'tunable',
    help: 'iteration from which G_ema averages (before: a copy of G; default 20000, demo 100)',
  },
  {
    flag: '--standing-passes <n>', option: 'standingPasses', kind: nonNegInt, field: 'standingPasses', default: 100, demo: 16, range: nonNegative, graph: false, resume: 'tunable',
    help: 'forward passes gathering standing BN statistics for G_ema at each checkpoint (default 100; 0 = off)',
  },
  {
    flag: '--standing-batch <b>', option: 'standingBatch', kind: posInt, field: 'standingBatch', default: 50, defaultFrom: 'batch', range: positive, graph: false, resume: 'tunable',
    help: 'images per standing-statistics pass (default: --batch)',
  },
  {
    flag: '--latent <dist>', option: 'latent', kind: choice(LATENT_DISTRIBUTIONS), field: 'latent', default: 'normal', range: oneOf(LATENT_DISTRIBUTIONS), graph: false, resume: 'tunable',
    help: 'latent distribution (default normal)',
  },
  { flag: '--z-std <s>', option: 'zStd', kind: num, field: 'zStd', default: 1, range: positiveNumber, graph: false, resume: 'tunable', help: 'scale of the latents (default 1)' },
  {
    flag: '--r1-gamma <g>', option: 'r1Gamma', kind: num, field: 'r1Gamma', default: 0, range: atLeastZero, graph: true, resume: 'tunable',
    help: 'R1 zero-centred gradient penalty on D: D loss += g/2 * mean |dD(x)/dx|^2 over reals (default 0 = off)',
  },
  {
    flag: '--loss <loss>', option: 'loss', absentFromOldRuns: true, kind: choice(LOSS_NAMES), field: 'loss', default: 'hinge', nullable: true, range: oneOf(LOSS_NAMES), graph: true, resume: 'tunable',
    help: `the GAN loss (default hinge, the paper's): ${LOSS_NAMES.map((n) => `${n}: ${LOSSES[n].description}`).join('; ')}`,
  },
  {
    flag: '--penalty <p>', option: 'penalty', absentFromOldRuns: true, kind: choice(PENALTY_NAMES), field: 'penalty', default: 'none', nullable: true, range: oneOf(PENALTY_NAMES), graph: true, resume: 'tunable',
    help: `a penalty on D from the large-scale study (default none): ${PENALTY_NAMES.filter((n) => n !== 'none').map((n) => `${n}: ${PENALTIES[n].description}`).join('; ')}`,
  },
  {
    flag: '--penalty-weight <l>', option: 'penaltyWeight', absentFromOldRuns: true, kind: num, field: 'penaltyWeight', default: null, nullable: true, range: atLeastZero, graph: false, resume: 'tunable',
    help: 'its weight λ: D loss += λ * penalty (default 10 for wgan-gp and dragan, 0.01 for l2)',
  },
  {
    flag: '--sigma-clamp <v>', option: 'sigmaClamp', kind: num, field: 'sigmaClamp', excludes: 'sigmaClampRatio', toConfig: (v: number) => ({ kind: 'value', value: v }),
    fromConfig: (c) => (c.sigmaClamp?.kind === 'value' ? c.sigmaClamp.value : undefined), nullable: true, range: positiveNumber, default: null, graph: false, resume: 'tunable',
    help: "clamp the top singular value of G's weights to v after every G step",
  },
  {
    flag: '--sigma-clamp-ratio <r>', option: 'sigmaClampRatio', kind: num, field: 'sigmaClamp', toConfig: (v: number) => ({ kind: 'ratio', ratio: v }),
    fromConfig: (c) => (c.sigmaClamp?.kind === 'ratio' ? c.sigmaClamp.ratio : undefined), nullable: true, range: positiveNumber, graph: false, resume: 'tunable',
    help: "clamp the top singular value of G's weights to r * sigma1",
  },
  {
    flag: '--sigma-reg <t>', option: 'sigmaReg', absentFromOldRuns: true, kind: num, field: 'sigmaReg', excludes: 'sigmaRegRatio', toConfig: (v: number) => ({ target: v }),
    fromConfig: (c) => (c.sigmaReg && 'target' in c.sigmaReg ? c.sigmaReg.target : undefined), nullable: true, range: positiveNumber, default: null, graph: true, resume: 'tunable',
    help: "regularise sigma0 of G's SN weights towards t: G loss += b * sum (sigma0 - t)^2 (needs --sigma-reg-strength)",
  },
  {
    flag: '--sigma-reg-ratio <r>', option: 'sigmaRegRatio', kind: num, field: 'sigmaReg', toConfig: (v: number) => ({ ratio: v }),
    fromConfig: (c) => (c.sigmaReg && 'ratio' in c.sigmaReg ? c.sigmaReg.ratio : undefined), nullable: true, range: positiveNumber, graph: true, resume: 'tunable',
    help: 'as --sigma-reg with target r * sigma1 (sigma1 re-measured with --sv-every)',
  },
  {
    flag: '--sigma-reg-strength <b>', option: 'sigmaRegStrength', absentFromOldRuns: true, kind: num, field: 'sigmaRegStrength', default: 0, range: atLeastZero, graph: false, resume: 'tunable',
    help: 'strength b of --sigma-reg / --sigma-reg-ratio',
  },
  {
    // measured (bench/training.ts): per-step graphs are faster and need less memory than one graph
    flag: '--graphs <mode>', option: 'graphs', kind: choice(GRAPH_MODES), field: 'graphs', default: 'per-step', range: oneOf(GRAPH_MODES), graph: true, resume: 'tunable',
    help: 'per-step: a D-step graph and a G-step graph (default: faster, less memory); single: one graph for the whole iteration',
  },
  {
    flag: '--checkpoint-every <k>', option: 'checkpointEvery', kind: posInt, field: 'checkpointEvery', default: 1000, demo: 100, range: positive, graph: false, resume: 'free',
    help: 'iterations between checkpoints (default 1000; demo 100)',
  },
  {
    flag: '--keep-checkpoints <k>', option: 'keepCheckpoints', kind: nonNegInt, field: 'keepCheckpoints', default: 3, range: nonNegative, graph: false, resume: 'free',
    help: 'periodic checkpoints kept in DIR/checkpoints (default 3)',
  },
  {
    flag: '--log-every <k>', option: 'logEvery', kind: posInt, field: 'logEvery', default: 10, demo: 1, range: positive, graph: false, resume: 'free',
    help: 'iterations per log.jsonl train record (default 10; demo 1)',
  },
  {
    flag: '--sv-every <m>', option: 'svEvery', kind: nonNegInt, field: 'svEvery', default: 500, demo: 25, range: nonNegative, graph: false, resume: 'free',
    help: 'iterations between singular-value measurements (default 500; demo 25; 0 = never)',
  },
  {
    flag: '--sample-every <m>', option: 'sampleEvery', kind: nonNegInt, field: 'sampleEvery', default: 1000, demo: 100, range: nonNegative, graph: false, resume: 'free',
    help: 'iterations between sample sheets (default 1000; demo 100; 0 = only at the end)',
  },
  { flag: '--no-collapse-watch', option: 'collapseWatch', kind: negated, field: 'collapse.enabled', default: true, graph: false, resume: 'free', help: 'do not stop when collapse is detected' },
  {
    flag: '--collapse-action <a>', option: 'collapseAction', kind: choice(COLLAPSE_ACTIONS), field: 'collapse.action', default: 'stop', range: oneOf(COLLAPSE_ACTIONS), graph: false, resume: 'free',
    help: 'on collapse: stop (default), or rollback (make the last healthy checkpoint the current one, then stop)',
  },
  {
    flag: '--collapse-warmup <n>', option: 'collapseWarmup', kind: nonNegInt, field: 'collapse.warmup', default: 2000, demo: 100, range: nonNegative, graph: false, resume: 'free',
    help: 'iterations before collapse signals count (default 2000; demo 100)',
  },
  {
    flag: '--collapse-sigma-factor <f>', option: 'collapseSigmaFactor', kind: num, field: 'collapse.sigmaFactor', default: 4, range: aboveOne, graph: false, resume: 'free',
    help: "a G layer's sigma0 growing by this factor within the window is an explosion (default 4)",
  },
  {
    flag: '--collapse-sigma-window <n>', option: 'collapseSigmaWindow', kind: posInt, field: 'collapse.sigmaWindow', default: 5, demo: 4, range: positive, graph: false, resume: 'free',
    help: 'singular-value measurements in that window (default 5)',
  },
  {
    flag: '--collapse-d-loss-low <x>', option: 'collapseDLossLow', kind: num, field: 'collapse.dLossLow', default: 0.1, range: positiveNumber, graph: false, resume: 'free',
    help: "D's loss must first fall below this (default 0.1)",
  },
  {
    flag: '--collapse-d-loss-high <x>', option: 'collapseDLossHigh', kind: num, field: 'collapse.dLossHigh', default: 1.0, range: positiveNumber, graph: false, resume: 'free',
    help: '...then rise above this (default 1.0)',
  },
  {
    flag: '--collapse-d-loss-window <n>', option: 'collapseDLossWindow', kind: posInt, field: 'collapse.dLossWindow', default: 20, demo: 10, range: positive, graph: false, resume: 'free',
    help: "iterations averaged for D's loss (default 20)",
  },
  {
    flag: '--collapse-diversity <f>', option: 'collapseDiversity', kind: num, field: 'collapse.diversityFraction', default: 0.25, graph: false, resume: 'free',
    range: (v: number) => (v > 0 && v < 1 ? null : `must be in (0, 1), got ${v}`), help: 'sample diversity below this fraction of its best is degenerate (default 0.25)',
  },
] as const satisfies readonly TrainFlag[];

/**
 * Options of how this process runs a training, not stored in the run config (given again
 * on --resume): the run directory, data preparation, threads, periodic evaluation.
 */
export const RUN_FLAGS = [
  { flag: '--out <dir>', option: 'out', kind: pathFlag, required: true, help: 'run directory: checkpoint.safetensors, checkpoints/, log.jsonl, samples/' },
  {
    flag: '--resume', option: 'resume', kind: switchFlag,
    help: 'continue the run in --out exactly where its last checkpoint left it (flags given again override the saved ones; an error when --out holds no checkpoint)',
  },
  { flag: '--skip-bad', option: 'skipBad', kind: switchFlag, help: 'leave out unreadable images (and say how many) instead of stopping' },
  {
    flag: '--cache <path>', option: 'cache', kind: pathFlag,
    help: 'prepared-data cache file or folder (default: $BIGGAN_CACHE_DIR/data, else $XDG_CACHE_HOME/biggan-ts/data, else ~/.cache/biggan-ts/data)',
  },
  { flag: '--threads <n>', option: 'threads', kind: posInt, help: 'onnxruntime intra-op threads (default: all cores; demo 1)' },
  // periodic evaluation of G_ema (IS, FID) into log.jsonl
  { flag: '--stats <file.npz>', option: 'stats', kind: pathFlag, help: 'FID reference statistics (from biggan fid-stats): evaluate IS and FID of G_ema during training' },
  {
    flag: '--inception <file>', option: 'inception', kind: pathFlag,
    help: `Inception weights for --stats / --eval-every (default: $BIGGAN_INCEPTION); 'procedural' = the test fixtures' stand-in (testing aid, meaningless scores)`,
  },
  { flag: '--eval-every <k>', option: 'evalEvery', kind: posInt, help: 'iterations between evaluations (default: --checkpoint-every; without --stats: IS alone)' },
  { flag: '--eval-n <n>', option: 'evalN', kind: posInt, help: 'generated images per evaluation (default 5000)' },
  { flag: '--eval-truncation <t>', option: 'evalTruncation', kind: num, help: 'truncation of the evaluated latents (default none)' },
] as const satisfies readonly { flag: string; option: string; kind: FlagKind; help: string; required?: boolean }[];

type OptionsOf<T extends readonly { option: string; kind: FlagKind }[]> = { [E in T[number] as E['option']]?: KindValue<E['kind']> };

/** `biggan train`'s model and recipe flags as library options (camelCase; `--no-hier` is `hier: false`). */
export type TrainFlagValues = OptionsOf<typeof TRAIN_FLAGS>;
/** The run-level options as library options. */
export type RunFlagValues = OptionsOf<typeof RUN_FLAGS>;

/** The flag's name without its argument: '--g-lr'. */
export function flagName(f: { flag: string }): string {
  return f.flag.split(' ')[0];
}

const BY_OPTION: ReadonlyMap<string, TrainFlag> = new Map((TRAIN_FLAGS as readonly TrainFlag[]).map((f) => [f.option, f]));

/** The entry of a library option name. */
export function trainFlag(option: string): TrainFlag {
  const f = BY_OPTION.get(option);
  if (!f) throw new Error(`no training flag ${option}`);
  return f;
}

/** The flag that owns (declares the default of) a config field. */
export function fieldOwner(field: ConfigField): TrainFlag {
  const f = (TRAIN_FLAGS as readonly TrainFlag[]).find((x) => x.field === field && x.default !== undefined);
  if (!f) throw new Error(`no flag owns ${field}`);
  return f;
}

/** Reads a config field ('collapse.warmup' included). */
export function getField(c: object, field: ConfigField): unknown {
  const [a, b] = field.split('.');
  const top = (c as Record<string, unknown>)[a];
  return b === undefined ? top : (top as Record<string, unknown> | undefined)?.[b];
}

/** Sets a config field, creating the collapse object when needed. */
export function setField(c: object, field: ConfigField, value: unknown): void {
  const [a, b] = field.split('.');
  const o = c as Record<string, unknown>;
  if (b === undefined) o[a] = value;
  else ((o[a] ??= {}) as Record<string, unknown>)[b] = value;
}

/**
 * The run's flags (config fields; absent: not given) from library options (the CLI's
 * parsed flags). A shared flag (--ch, --betas) sets the fields whose own flags are not given.
 */
export function flagsFromOptions(o: Readonly<Record<string, unknown>>): TrainFlags {
  const flags: Record<string, unknown> = {};
  const flagsList: readonly TrainFlag[] = TRAIN_FLAGS;
  for (const f of flagsList) {
    if (f.excludes && o[f.option] !== undefined && o[f.excludes] !== undefined) {
      throw new UserError(`give either ${flagName(f)} or ${flagName(trainFlag(f.excludes))}, not both`);
    }
  }
  const given = (field: ConfigField): boolean => flagsList.some((f) => f.field === field && o[f.option] !== undefined);
  for (const f of flagsList) {
    const v = o[f.option];
    if (v === undefined) continue;
    if (f.field) setField(flags, f.field, f.toConfig ? f.toConfig(v as never, o) : v);
    for (const field of f.fallbackFor ?? []) if (!given(field)) setField(flags, field, v);
  }
  return flags as TrainFlags;
}
