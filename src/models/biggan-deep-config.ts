/**
 * BigGAN-deep generator configuration in pytorch-pretrained-BigGAN's config.json
 * form (the same field names, so a downloaded config.json is read as is), the real
 * 128/256/512 configurations (ARCHITECTURES.md §4.1, §5), and validation that turns a
 * config the model cannot be built from into a one-line UserError.
 *
 * One generalisation over the HF code, which hard-codes 16ch for the first linear and
 * ch for the output BN / to-RGB conv: we take those widths from layers[0].in and
 * layers[last].out. Every config HF itself can build has 16 and 1 there, so HF configs
 * mean exactly what they mean upstream; smaller models (BigGAN-PyTorch's deep 32/64
 * stage lists) become expressible too.
 */
import { UserError, showValue } from '../errors.js';
import { MAX_MODEL_DIM } from './json-fields.js';

/** One generator block: [upsample, in multiple, out multiple] of channel_width. */
export type DeepLayerSpec = [up: boolean, inMult: number, outMult: number];

export interface BigGanDeepConfig {
  output_dim: number;
  z_dim: number;
  class_embed_dim: number;
  channel_width: number;
  num_classes: number;
  layers: DeepLayerSpec[];
  /** Self-attention is inserted before layers[i]; outside [0, layers.length) means no attention (as upstream). */
  attention_layer_position: number;
  /** Every BN and SN epsilon. */
  eps: number;
  /** Rows of BN statistics: 51 for the pretrained models (one per truncation 0, 0.02, ..., 1), 1 for models trained here. */
  n_stats: number;
}

const FIELDS = ['output_dim', 'z_dim', 'class_embed_dim', 'channel_width', 'num_classes', 'layers', 'attention_layer_position', 'eps', 'n_stats'] as const;

const F = false;
const T = true;

/**
 * Generator block lists by output resolution. 128/256/512: paper Tables 7–9 = HF =
 * §4.1. 32/64: BigGAN-PyTorch's deep stage lists (each stage = plain in→in, up in→out).
 */
export const DEEP_G_LAYERS: Readonly<Record<number, readonly DeepLayerSpec[]>> = {
  32: [[F, 4, 4], [T, 4, 4], [F, 4, 4], [T, 4, 4], [F, 4, 4], [T, 4, 4]],
  64: [[F, 16, 16], [T, 16, 16], [F, 16, 16], [T, 16, 8], [F, 8, 8], [T, 8, 4], [F, 4, 4], [T, 4, 2]],
  128: [[F, 16, 16], [T, 16, 16], [F, 16, 16], [T, 16, 8], [F, 8, 8], [T, 8, 4], [F, 4, 4], [T, 4, 2], [F, 2, 2], [T, 2, 1]],
  256: [
    [F, 16, 16], [T, 16, 16], [F, 16, 16], [T, 16, 8], [F, 8, 8], [T, 8, 8],
    [F, 8, 8], [T, 8, 4], [F, 4, 4], [T, 4, 2], [F, 2, 2], [T, 2, 1],
  ],
  512: [
    [F, 16, 16], [T, 16, 16], [F, 16, 16], [T, 16, 8], [F, 8, 8], [T, 8, 8], [F, 8, 8],
    [T, 8, 4], [F, 4, 4], [T, 4, 2], [F, 2, 2], [T, 2, 1], [F, 1, 1], [T, 1, 1],
  ],
};

/**
 * Where the 64×64 non-local block goes: before the first block that takes a 64×64
 * input (index 8 at 128/256/512). At 32 and 64 no block takes a 64×64 input, so
 * those models have no attention (as in BigGAN-PyTorch, whose '64' matches nothing there).
 */
function attentionPositionFor(layers: readonly DeepLayerSpec[], atResolution = 64): number {
  let res = 4;
  for (let i = 0; i < layers.length; i++) {
    if (res === atResolution) return i;
    if (layers[i][0]) res *= 2;
  }
  return layers.length;
}

export interface DeepConfigOptions {
  channelWidth?: number;
  nStats?: number;
  numClasses?: number;
  eps?: number;
}

/** A config for a resolution in DEEP_G_LAYERS; defaults are the pretrained models' (ch 128, 51 stat rows). */
export function bigGanDeepConfig(resolution: number, opts: DeepConfigOptions = {}): BigGanDeepConfig {
  const layers = DEEP_G_LAYERS[resolution];
  if (!layers) throw new UserError(`no BigGAN-deep layout for resolution ${resolution} (have ${Object.keys(DEEP_G_LAYERS).join(', ')})`);
  return validateBigGanDeepConfig(
    {
      output_dim: resolution,
      z_dim: 128,
      class_embed_dim: 128,
      channel_width: opts.channelWidth ?? 128,
      num_classes: opts.numClasses ?? 1000,
      layers: layers.map((l) => [...l] as DeepLayerSpec),
      attention_layer_position: attentionPositionFor(layers),
      eps: opts.eps ?? 1e-4,
      n_stats: opts.nStats ?? 51,
    },
    `BigGAN-deep ${resolution} preset`,
  );
}

/** The configs of HF's biggan-deep-128 / -256 / -512 (upstream convert_tf_to_pytorch BigGAN128/256/512). */
export const PRETRAINED_DEEP_CONFIGS: Readonly<Record<128 | 256 | 512, BigGanDeepConfig>> = {
  128: bigGanDeepConfig(128),
  256: bigGanDeepConfig(256),
  512: bigGanDeepConfig(512),
};

/** Spatial side after each block (the input is 4×4). */
export function blockResolutions(cfg: BigGanDeepConfig): number[] {
  let res = 4;
  return cfg.layers.map(([up]) => (res *= up ? 2 : 1));
}

export function hasAttention(cfg: BigGanDeepConfig): boolean {
  return cfg.attention_layer_position >= 0 && cfg.attention_layer_position < cfg.layers.length;
}

/**
 * Checks a parsed config.json (or any object) and returns it typed. Unknown fields are
 * ignored (upstream's from_dict copies whatever is there); each problem is reported
 * as one line naming the field and the source.
 */
export function validateBigGanDeepConfig(raw: unknown, source: string): BigGanDeepConfig {
  const bad = (msg: string): never => {
    throw new UserError(`${source}: ${msg}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('a BigGAN-deep config must be a JSON object');
  const o = raw as Record<string, unknown>;
  const missing = FIELDS.filter((f) => !(f in o));
  if (missing.length) bad(`missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (is this a pytorch-pretrained-BigGAN config.json?)`);
  const posInt = (f: string): number => {
    const v = o[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_MODEL_DIM) bad(`${f} must be a positive integer (at most ${MAX_MODEL_DIM}), got ${showValue(v)}`);
    return v as number;
  };
  const output_dim = posInt('output_dim');
  const z_dim = posInt('z_dim');
  const class_embed_dim = posInt('class_embed_dim');
  const channel_width = posInt('channel_width');
  const num_classes = posInt('num_classes');
  const n_stats = posInt('n_stats');
  const pos = o.attention_layer_position;
  if (typeof pos !== 'number' || !Number.isInteger(pos)) bad(`attention_layer_position must be an integer, got ${showValue(pos)}`);
  const eps = o.eps;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) bad(`eps must be a positive number, got ${showValue(eps)}`);
  if (!Array.isArray(o.layers) || o.layers.length === 0) bad('layers must be a non-empty list of [upsample, in, out]');
  const layers = (o.layers as unknown[]).map((l, i): DeepLayerSpec => {
    const ok = Array.isArray(l) && l.length === 3 && typeof l[0] === 'boolean' && [l[1], l[2]].every((m) => typeof m === 'number' && Number.isInteger(m) && m >= 1);
    if (!ok) bad(`layers[${i}] must be [upsample (bool), in (int >= 1), out (int >= 1)], got ${showValue(l)}`);
    const [up, a, b] = l as DeepLayerSpec;
    return [up, a, b];
  });
  const cfg: BigGanDeepConfig = {
    output_dim, z_dim, class_embed_dim, channel_width, num_classes, layers,
    attention_layer_position: pos as number, eps: eps as number, n_stats,
  };

  // Structural checks: what the blocks need to fit together.
  layers.forEach(([, a, b], i) => {
    const cin = a * channel_width;
    const cout = b * channel_width;
    if (i > 0 && layers[i - 1][2] !== a) bad(`layers[${i}] takes ${a}·ch channels but layers[${i - 1}] gives ${layers[i - 1][2]}·ch`);
    // the skip path keeps the first in//2 channels whenever in != out, so out must be exactly that
    if (a !== b && Math.floor(cin / 2) !== cout) bad(`layers[${i}]: in ${a}·ch ≠ out ${b}·ch, but a channel-dropping skip only halves (out must be in/2)`);
    if (Math.floor(cin / 4) < 1) bad(`layers[${i}]: ${cin} input channels leave no bottleneck channels (in/4 < 1)`);
  });
  const finalChannels = layers[layers.length - 1][2] * channel_width;
  if (finalChannels < 3) bad(`the last layer gives ${finalChannels} channels; the RGB conv needs at least 3`);
  const res = blockResolutions(cfg).at(-1)!;
  if (res !== output_dim) bad(`layers upsample 4×4 to ${res}×${res}, but output_dim is ${output_dim}`);
  if (hasAttention(cfg)) {
    const c = layers[pos as number][1] * channel_width;
    if (c % 8 !== 0) bad(`attention before layers[${pos}] would see ${c} channels; it needs a multiple of 8`);
    const attnRes = [4, ...blockResolutions(cfg)][pos as number];
    if (attnRes % 2 !== 0) bad(`attention before layers[${pos}] would run at ${attnRes}×${attnRes}; its 2×2 pooling needs an even size`);
  }
  return cfg;
}

/** The config as upstream's to_json_string writes it (field order as in HF's files). */
export function bigGanDeepConfigJson(cfg: BigGanDeepConfig): string {
  const sorted = Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify(sorted, null, 2) + '\n';
}
