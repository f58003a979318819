/**
 * BigGAN (non-deep) model configurations, and their parsing from BigGAN-PyTorch's
 * constructor arguments (`Generator(**kwargs)` / `Discriminator(**kwargs)` of
 * BigGAN.py, or the flat training config its scripts save, which holds both).
 * Arguments that only affect training bookkeeping (learning rates, init, fp16 flags
 * left off, ...) are ignored; values that would change the network in ways this port
 * does not implement are rejected with a UserError naming the argument.
 */
import { UserError, showValue } from '../errors.js';

export const BIGGAN_RESOLUTIONS = [32, 64, 128, 256, 512] as const;
export type BigGANResolution = (typeof BIGGAN_RESOLUTIONS)[number];

export interface BigGANGeneratorConfig {
  resolution: BigGANResolution;
  /** Channel multiplier (G_ch). */
  ch: number;
  /** Latent size actually consumed: with hier, dim_z rounded down to chunk * slots, as upstream does. */
  zDim: number;
  numClasses: number;
  /** Hierarchical z: one chunk for the linear, one per block (concatenated after the class embedding). */
  hier: boolean;
  /** Shared class embedding (G_shared); without it the ccbn gains/biases are per-class tables. */
  sharedEmbedding: boolean;
  sharedDim: number;
  /** Output resolutions of blocks followed by self-attention. */
  attention: number[];
  /** Conditional BN eps (BN_eps). */
  bnEps: number;
  /** The output BN's eps: upstream always builds it with its default 1e-5, whatever BN_eps says. */
  outputBnEps: number;
  /** SN_eps: the clamp in the power iteration's normalisation. */
  snEps: number;
}

export interface BigGANDiscriminatorConfig {
  resolution: BigGANResolution;
  /** Channel multiplier (D_ch). */
  ch: number;
  numClasses: number;
  /** D_wide: hidden width of a block = its output width (else its input width). */
  wide: boolean;
  /** Labelled resolutions (upstream D_arch 'resolution' entries) of blocks followed by self-attention. */
  attention: number[];
  snEps: number;
}

type Args = Record<string, unknown>;

/** Parses an attention string ('64', '32_64', '0' = none) the way upstream does. */
export function parseAttentionString(value: unknown, key: string): number[] {
  const s = typeof value === 'number' ? String(value) : value;
  if (typeof s !== 'string' || !/^\d+(_\d+)*$/.test(s)) {
    throw new UserError(`${key}: expected resolutions joined by '_' (e.g. '64' or '32_64', '0' for none), got ${showValue(value)}`);
  }
  return [...new Set(s.split('_').map(Number).filter((r) => r > 0))].sort((a, b) => a - b);
}

function get<T>(args: Args, key: string, fallback: T, check: (v: unknown) => v is T, expected: string): T {
  if (!(key in args) || args[key] === undefined) return fallback;
  const v = args[key];
  if (!check(v)) throw new UserError(`${key}: expected ${expected}, got ${showValue(v)}`);
  return v;
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isPosNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isAny = (_v: unknown): _v is unknown => true;

function resolutionOf(args: Args): BigGANResolution {
  const r = get(args, 'resolution', 128, isPosInt, 'a positive integer');
  if (!(BIGGAN_RESOLUTIONS as readonly number[]).includes(r)) {
    throw new UserError(`resolution: ${r} is not supported (BigGAN resolutions: ${BIGGAN_RESOLUTIONS.join(', ')})`);
  }
  return r as BigGANResolution;
}

function requireValue(args: Args, key: string, allowed: unknown[], why: string): void {
  if (!(key in args) || args[key] === undefined) return;
  if (!allowed.includes(args[key])) throw new UserError(`${key}: ${showValue(args[key])} is not supported (${why})`);
}

/** The activation strings upstream scripts record: only ReLU (in place or not; 'ir' = inplace_relu) exists in BigGAN. */
function requireRelu(args: Args, key: string): void {
  const v = get(args, key, 'relu', isString, 'an activation name');
  if (!/relu/i.test(v) && v !== 'ir') throw new UserError(`${key}: ${showValue(v)} is not supported (BigGAN uses ReLU)`);
}

function svArgs(args: Args, prefix: 'G' | 'D'): void {
  const svs = get(args, `num_${prefix}_SVs`, 1, isPosInt, 'a positive integer');
  const itrs = get(args, `num_${prefix}_SV_itrs`, 1, isPosInt, 'a positive integer');
  if (svs !== 1) throw new UserError(`num_${prefix}_SVs: ${svs} is not supported (only 1 singular vector per SN layer)`);
  if (itrs !== 1) throw new UserError(`num_${prefix}_SV_itrs: ${itrs} is not supported (only 1 power iteration per forward)`);
  requireValue(args, `${prefix}_param`, ['SN'], 'only spectral normalisation');
  requireValue(args, `${prefix}_fp16`, [false], 'float32 only');
  requireValue(args, `${prefix}_mixed_precision`, [false], 'float32 only');
}

/**
 * Generator config from BigGAN-PyTorch Generator keyword arguments; missing ones take
 * the upstream constructor defaults. `outputBnEps` is our extension (TF-Hub ports may
 * want 1e-4 there); upstream behaviour is 1e-5.
 */
export function parseGeneratorArgs(args: Args, overrides: { outputBnEps?: number } = {}): BigGANGeneratorConfig {
  const resolution = resolutionOf(args);
  const ch = get(args, 'G_ch', 64, isPosInt, 'a positive integer');
  const dimZ = get(args, 'dim_z', 128, isPosInt, 'a positive integer');
  const numClasses = get(args, 'n_classes', 1000, isPosInt, 'a positive integer');
  const hier = get(args, 'hier', false, isBool, 'true or false');
  const sharedEmbedding = get(args, 'G_shared', true, isBool, 'true or false');
  const sharedDimArg = get(args, 'shared_dim', 0, isNonNegInt, 'a non-negative integer');
  const bnEps = get(args, 'BN_eps', 1e-5, isPosNum, 'a positive number');
  const snEps = get(args, 'SN_eps', 1e-12, isPosNum, 'a positive number');
  const attention = parseAttentionString(get(args, 'G_attn', '64', isAny, ''), 'G_attn');
  const bottom = get(args, 'bottom_width', 4, isPosInt, 'a positive integer');
  if (bottom !== 4) throw new UserError(`bottom_width: ${bottom} is not supported (BigGAN starts from 4x4)`);
  svArgs(args, 'G');
  requireValue(args, 'norm_style', ['bn'], "only norm_style 'bn'");
  requireValue(args, 'mybn', [false], 'mybn stores its statistics under different keys');
  // cross_replica only synchronises statistics across devices; one graph already sees the whole batch.
  requireRelu(args, 'G_activation');
  requireRelu(args, 'G_nl');
  // G_kernel_size is accepted and ignored: upstream hard-codes 3x3 convolutions.
  if (hier && !sharedEmbedding) {
    throw new UserError('hier without G_shared is not supported (upstream concatenates z chunks to class ids there, which fails)');
  }
  const blocks = generatorBlockCount(resolution);
  const slots = hier ? blocks + 1 : 1;
  const chunk = Math.floor(dimZ / slots);
  if (hier && chunk === 0) throw new UserError(`dim_z: ${dimZ} is smaller than the ${slots} hierarchical z slots`);
  const outputBnEps = overrides.outputBnEps ?? 1e-5;
  if (!(outputBnEps > 0)) throw new UserError(`output BN eps must be positive, got ${outputBnEps}`);
  return {
    resolution,
    ch,
    zDim: hier ? chunk * slots : dimZ,
    numClasses,
    hier,
    sharedEmbedding,
    sharedDim: sharedDimArg > 0 ? sharedDimArg : dimZ,
    attention,
    bnEps,
    outputBnEps,
    snEps,
  };
}

export function parseDiscriminatorArgs(args: Args): BigGANDiscriminatorConfig {
  const resolution = resolutionOf(args);
  const ch = get(args, 'D_ch', 64, isPosInt, 'a positive integer');
  const numClasses = get(args, 'n_classes', 1000, isPosInt, 'a positive integer');
  const wide = get(args, 'D_wide', true, isBool, 'true or false');
  const snEps = get(args, 'SN_eps', 1e-12, isPosNum, 'a positive number');
  const attention = parseAttentionString(get(args, 'D_attn', '64', isAny, ''), 'D_attn');
  const outputDim = get(args, 'output_dim', 1, isPosInt, 'a positive integer');
  if (outputDim !== 1) throw new UserError(`output_dim: ${outputDim} is not supported (one logit per image)`);
  svArgs(args, 'D');
  requireRelu(args, 'D_activation');
  requireRelu(args, 'D_nl');
  return { resolution, ch, numClasses, wide, attention, snEps };
}

/**
 * Picks the generator and discriminator argument sets out of a constructor-args JSON:
 * either `{ "G": {...}, "D": {...} }` (as the fixtures store them) or one flat
 * upstream training config holding both (G_ch, D_ch, ... side by side).
 */
export function splitConstructorArgs(json: unknown, source: string): { G: Args; D: Args } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${source}: expected a JSON object of constructor arguments`);
  const obj = json as Args;
  const isObj = (v: unknown): v is Args => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(obj.G) || isObj(obj.D)) return { G: isObj(obj.G) ? obj.G : {}, D: isObj(obj.D) ? obj.D : {} };
  return { G: obj, D: obj };
}

/** Number of G blocks: one per doubling from 4x4. */
export function generatorBlockCount(resolution: BigGANResolution): number {
  return Math.log2(resolution / 4);
}
