/**
 * pytorch-pretrained-BigGAN (HF) checkpoint layout for BigGAN-deep generators
 * (`pytorch_model.bin` of biggan-deep-128/256/512) ↔ our parameter names.
 *
 *   embeddings.weight                              ↔ class_embedding
 *   generator.gen_z.{bias,weight_orig,_u,_v}       ↔ gen_z.{bias,w.weight,w.sn_u,w.sn_v}
 *   generator.layers.J.bn_K.running_{means,vars}   ↔ blocks.I.bnK.running_{means,vars}
 *   generator.layers.J.bn_K.{scale,offset}.*       ↔ blocks.I.bnK.{scale,offset}.*
 *   generator.layers.J.conv_K.*                    ↔ blocks.I.convK.*
 *   generator.layers.P.gamma                       ↔ attention.gamma
 *   generator.layers.P.snconv1x1_{theta,phi,g,o_conv}.* ↔ attention.{theta,phi,g,o}.*
 *   generator.bn.{weight,bias,running_*}           ↔ out_bn.*
 *   generator.conv_to_rgb.*                        ↔ to_rgb.*
 *
 * HF keeps the attention module inside `generator.layers` at index P (the config's
 * attention_layer_position), so block I sits at J = I for I < P and J = I + 1 after.
 */
import { torchStateDictOrder } from './torch-order.js';
import type { NdArray } from '../../io/ndarray.js';

export const LAYOUT_NAME = 'pytorch-pretrained-BigGAN (BigGAN-deep)';

export interface PretrainedBigGanLayoutOptions {
  /** Index of the attention module in generator.layers, or null when there is none. */
  attentionPosition: number | null;
}

/** torch spectral_norm tensor names ↔ our SpectralWeight / SN module names. */
const SN_LEAVES: [hf: string, ours: string][] = [
  ['weight_orig', 'w.weight'],
  ['weight_u', 'w.sn_u'],
  ['weight_v', 'w.sn_v'],
  ['bias', 'bias'],
];
const ATTN_CONVS: [hf: string, ours: string][] = [
  ['snconv1x1_theta', 'theta'],
  ['snconv1x1_phi', 'phi'],
  ['snconv1x1_g', 'g'],
  ['snconv1x1_o_conv', 'o'],
];
const BN_LEAVES = ['running_means', 'running_vars', 'weight', 'bias'];

const lookup = (pairs: [string, string][], key: string, dir: 0 | 1): string | undefined => pairs.find((p) => p[dir] === key)?.[1 - dir];

/** An SN module's leaf, HF → ours (dir 0) or ours → HF (dir 1). */
function snLeaf(leaf: string, dir: 0 | 1): string | undefined {
  return lookup(SN_LEAVES, leaf, dir);
}

/** Our name for an HF key, or null when the key is not part of this layout. */
export function hfKeyToOurs(key: string, opts: PretrainedBigGanLayoutOptions): string | null {
  if (key === 'embeddings.weight') return 'class_embedding';
  let m = /^generator\.(gen_z|conv_to_rgb)\.(.+)$/.exec(key);
  if (m) {
    const leaf = snLeaf(m[2], 0);
    return leaf ? `${m[1] === 'gen_z' ? 'gen_z' : 'to_rgb'}.${leaf}` : null;
  }
  m = /^generator\.bn\.(\w+)$/.exec(key);
  if (m) return BN_LEAVES.includes(m[1]) ? `out_bn.${m[1]}` : null;
  m = /^generator\.layers\.(\d+)\.(.+)$/.exec(key);
  if (!m) return null;
  const j = Number(m[1]);
  const rest = m[2];
  const p = opts.attentionPosition;
  if (p !== null && j === p) {
    if (rest === 'gamma') return 'attention.gamma';
    const a = /^(\w+)\.(.+)$/.exec(rest);
    const conv = a && lookup(ATTN_CONVS, a[1], 0);
    const leaf = a && snLeaf(a[2], 0);
    return conv && leaf && leaf !== 'bias' ? `attention.${conv}.${leaf}` : null;
  }
  const i = p !== null && j > p ? j - 1 : j;
  let b = /^bn_([0-3])\.(running_means|running_vars)$/.exec(rest);
  if (b) return `blocks.${i}.bn${b[1]}.${b[2]}`;
  b = /^bn_([0-3])\.(scale|offset)\.(\w+)$/.exec(rest);
  if (b) {
    const leaf = snLeaf(b[3], 0);
    return leaf && leaf !== 'bias' ? `blocks.${i}.bn${b[1]}.${b[2]}.${leaf}` : null;
  }
  b = /^conv_([0-3])\.(\w+)$/.exec(rest);
  if (b) {
    const leaf = snLeaf(b[2], 0);
    return leaf ? `blocks.${i}.conv${b[1]}.${leaf}` : null;
  }
  return null;
}

/** The HF key for one of our names, or null when HF has no such tensor. */
export function ourNameToHf(name: string, opts: PretrainedBigGanLayoutOptions): string | null {
  if (name === 'class_embedding') return 'embeddings.weight';
  let m = /^(gen_z|to_rgb)\.(.+)$/.exec(name);
  if (m) {
    const leaf = snLeaf(m[2], 1);
    return leaf ? `generator.${m[1] === 'gen_z' ? 'gen_z' : 'conv_to_rgb'}.${leaf}` : null;
  }
  m = /^out_bn\.(\w+)$/.exec(name);
  if (m) return BN_LEAVES.includes(m[1]) ? `generator.bn.${m[1]}` : null;
  const p = opts.attentionPosition;
  m = /^attention\.(.+)$/.exec(name);
  if (m) {
    if (p === null) return null;
    if (m[1] === 'gamma') return `generator.layers.${p}.gamma`;
    const a = /^(\w+)\.(.+)$/.exec(m[1]);
    const conv = a && lookup(ATTN_CONVS, a[1], 1);
    const leaf = a && snLeaf(a[2], 1);
    return conv && leaf ? `generator.layers.${p}.${conv}.${leaf}` : null;
  }
  m = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (!m) return null;
  const i = Number(m[1]);
  const j = p !== null && i >= p ? i + 1 : i;
  const rest = m[2];
  let b = /^bn([0-3])\.(running_means|running_vars)$/.exec(rest);
  if (b) return `generator.layers.${j}.bn_${b[1]}.${b[2]}`;
  b = /^bn([0-3])\.(scale|offset)\.(.+)$/.exec(rest);
  if (b) {
    const leaf = snLeaf(b[3], 1);
    return leaf ? `generator.layers.${j}.bn_${b[1]}.${b[2]}.${leaf}` : null;
  }
  b = /^conv([0-3])\.(.+)$/.exec(rest);
  if (b) {
    const leaf = snLeaf(b[2], 1);
    return leaf ? `generator.layers.${j}.conv_${b[1]}.${leaf}` : null;
  }
  return null;
}

const BUFFER_LEAVES = new Set(['weight_u', 'weight_v', 'running_means', 'running_vars']);

/**
 * torch's state_dict() order for HF keys: spectral_norm re-registers the weight as
 * `weight_orig` after the bias (so `bias` comes first), then the SN vectors and BN
 * statistics, which are buffers.
 */
function hfRank(key: string): number {
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  return BUFFER_LEAVES.has(leaf) ? 2 : leaf === 'weight_orig' ? 1 : 0;
}

/** Our state (name → array, our order) as an HF state dict in torch order. Throws on a name HF has no place for. */
export function toPretrainedBigGan<T>(ours: Map<string, T>, opts: PretrainedBigGanLayoutOptions): Map<string, T> {
  const renamed = new Map<string, T>();
  for (const [name, v] of ours) {
    const key = ourNameToHf(name, opts);
    if (key === null) throw new Error(`pretrained-biggan layout: no HF key for our parameter ${name}`);
    renamed.set(key, v);
  }
  return new Map(torchStateDictOrder([...renamed.keys()], hfRank).map((k) => [k, renamed.get(k)!]));
}

/** An HF state dict renamed to our names; keys outside the layout are returned separately. */
export function fromPretrainedBigGan(state: Map<string, NdArray>, opts: PretrainedBigGanLayoutOptions): { ours: Map<string, NdArray>; unknown: string[] } {
  const ours = new Map<string, NdArray>();
  const unknown: string[] = [];
  for (const [key, v] of state) {
    const name = hfKeyToOurs(key, opts);
    if (name === null) unknown.push(key);
    else ours.set(name, v);
  }
  return { ours, unknown };
}

/** True when the keys look like a pytorch-pretrained-BigGAN state dict. */
export function detectPretrainedBigGan(keys: Iterable<string>): boolean {
  let embed = false;
  let gen = false;
  for (const k of keys) {
    if (k === 'embeddings.weight') embed = true;
    else if (k.startsWith('generator.gen_z.') || k.startsWith('generator.layers.')) gen = true;
  }
  return embed && gen;
}

/** Attention index in generator.layers, read from the keys (the layer holding `gamma`), or null. */
export function attentionPositionFromKeys(keys: Iterable<string>): number | null {
  for (const k of keys) {
    const m = /^generator\.layers\.(\d+)\.gamma$/.exec(k);
    if (m) return Number(m[1]);
  }
  return null;
}

/**
 * A short description of a state dict that is not in this layout, for error messages:
 * names the layout it most likely is (BigGAN-PyTorch G or D, a BigGAN-deep model in
 * our own names), or quotes a few keys.
 */
export function describeOtherLayout(keys: readonly string[]): string {
  const has = (re: RegExp): boolean => keys.some((k) => re.test(k));
  if (has(/\.(u0|sv0)$/) || has(/^shared\.weight$/) || has(/^output_layer\./) || has(/^blocks\.\d+\.\d+\./)) {
    const role = has(/^embed\.weight$/) || has(/^input_conv\./) ? 'discriminator' : 'generator';
    return `a BigGAN-PyTorch (ajbrock) ${role} checkpoint (keys like ${quote(keys.filter((k) => /^(shared|linear|blocks|embed)/.test(k)))})`;
  }
  if (has(/^gen_z\.w\.weight$/)) return 'a BigGAN-deep generator saved in this toolkit\'s own parameter names';
  return `an unrecognised layout (first keys: ${quote(keys)})`;
}

function quote(keys: readonly string[]): string {
  return keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', …' : '');
}
