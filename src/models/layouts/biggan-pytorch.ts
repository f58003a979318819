/**
 * BigGAN-PyTorch (ajbrock, BigGAN.py) checkpoint layout for BigGAN generators and
 * discriminators (G.pth, G_ema.pth, D.pth, and generators made by its TF-Hub
 * converter, which have no `sv0` keys) ↔ our parameter names.
 *
 *   shared.weight                          ↔ shared.weight          (plain table)
 *   linear.{weight,bias,u0,sv0}            ↔ linear.{w.weight,bias,w.sn_u,w.sn_sigma}
 *   blocks.I.0.{conv1,conv2}.*             ↔ blocks.I.{conv1,conv2}.*
 *   blocks.I.0.conv_sc.*                   ↔ blocks.I.shortcut.*
 *   blocks.I.0.bnK.{stored_mean,stored_var}↔ blocks.I.bnK.{stored_mean,stored_var}
 *   blocks.I.0.bnK.{gain,bias}.*           ↔ blocks.I.bnK.{gain,bias}.*   (SN linears, or class tables without G_shared)
 *   blocks.I.1.gamma / .{theta,phi,g,o}.*  ↔ attention.I.gamma / .{theta,phi,g,o}.*
 *   output_layer.0.{gain,bias,stored_*}    ↔ out_bn.*
 *   output_layer.2.*                       ↔ to_rgb.*
 *   embed.{weight,u0,sv0}                  ↔ embed.{w.weight,w.sn_u,w.sn_sigma}   (D)
 *
 * Upstream wraps every residual block in a ModuleList with its optional attention
 * layer (index 0 = block, 1 = attention); we keep them in two parallel lists.
 */
import type { NdArray } from '../../io/ndarray.js';
import { shapeToString } from '../../io/ndarray.js';
import { readStateDict } from '../../io/state-dict-file.js';
import { Param } from '../../engine/graph.js';
import { Module } from '../../nn/module.js';
import { UserError, inFile } from '../../errors.js';
import { buildForFile, loadStateDict, sameShape } from '../load-state.js';
import { readJsonForUser } from '../../io/read-file.js';
import { torchStateDictOrder } from './torch-order.js';
import {
  BIGGAN_RESOLUTIONS,
  BigGANResolution,
  parseDiscriminatorArgs,
  parseGeneratorArgs,
  splitConstructorArgs,
} from '../biggan-config.js';
import { BigGANGenerator, GENERATOR_WIDTHS } from '../biggan-generator.js';
import { BigGANDiscriminator, DISCRIMINATOR_ARCH } from '../biggan-discriminator.js';

export const LAYOUT_NAME = 'BigGAN-PyTorch';

/** ajbrock layers.SN tensor names ↔ our SpectralWeight names (one singular vector: u0/sv0). */
const SN_LEAVES: [bgp: string, ours: string][] = [
  ['weight', 'w.weight'],
  ['u0', 'w.sn_u'],
  ['sv0', 'w.sn_sigma'],
];

/** Module-path prefixes, BGP ↔ ours, tried in order. */
const PREFIXES: [bgp: RegExp, toOurs: string, ours: RegExp, toBgp: string][] = [
  [/^blocks\.(\d+)\.0\./, 'blocks.$1.', /^blocks\.(\d+)\./, 'blocks.$1.0.'],
  [/^blocks\.(\d+)\.1\./, 'attention.$1.', /^attention\.(\d+)\./, 'blocks.$1.1.'],
  [/^output_layer\.0\./, 'out_bn.', /^out_bn\./, 'output_layer.0.'],
  [/^output_layer\.2\./, 'to_rgb.', /^to_rgb\./, 'output_layer.2.'],
];

/** Our name for a BGP key. `isSN(module)` says whether that BGP module is spectrally normalised (has u0). */
export function bgpKeyToOurs(key: string, isSN: (module: string) => boolean): string {
  const dot = key.lastIndexOf('.');
  const module = key.slice(0, dot);
  let leaf = key.slice(dot + 1);
  if (isSN(module)) leaf = SN_LEAVES.find(([b]) => b === leaf)?.[1] ?? leaf;
  let path = module + '.';
  for (const [bgp, toOurs] of PREFIXES) {
    if (bgp.test(path)) {
      path = path.replace(bgp, toOurs);
      break;
    }
  }
  return path.replace(/\.conv_sc\./, '.shortcut.') + leaf;
}

/** The BGP key for one of our names. */
export function ourNameToBgp(name: string): string {
  let key = name;
  for (const [, , ours, toBgp] of PREFIXES) {
    if (ours.test(key)) {
      key = key.replace(ours, toBgp);
      break;
    }
  }
  key = key.replace(/\.shortcut\./, '.conv_sc.');
  for (const [bgp, ours] of SN_LEAVES) if (key.endsWith('.' + ours)) return key.slice(0, -ours.length) + bgp;
  return key;
}

/**
 * Our state (name → value, our order) as a BGP state dict in torch's order: per module
 * its own parameters, then its own buffers, then its children. `trainable(name)` tells
 * parameters from buffers (u0/sv0 and BN statistics are buffers).
 */
export function toBigGANPyTorch<T>(ours: Map<string, T>, trainable: (name: string) => boolean): Map<string, T> {
  const renamed = new Map<string, { name: string; value: T }>();
  for (const [name, value] of ours) renamed.set(ourNameToBgp(name), { name, value });
  const order = torchStateDictOrder([...renamed.keys()], (key) => (trainable(renamed.get(key)!.name) ? 0 : 1));
  return new Map(order.map((key) => [key, renamed.get(key)!.value]));
}

/** A model's parameters under BGP names, in the order BGP's state_dict() lists them. */
export function bgpStateDict(model: Module): Map<string, Param> {
  const ours = model.stateDict();
  return toBigGANPyTorch(ours, (name) => ours.get(name)!.trainable);
}

export type BgpRole = 'generator' | 'discriminator';

export interface BgpDetection {
  role: BgpRole;
  /** 'tfhub-converted': TFHub/converter.py output, identical except that it has no sv0 keys. */
  variant: 'biggan-pytorch' | 'tfhub-converted';
}

/** Recognises a BGP BigGAN state dict (generator or discriminator) from its keys. */
export function detectBigGANPyTorch(keys: Iterable<string>): BgpDetection | null {
  const set = new Set(keys);
  const hasSN = [...set].some((k) => k.endsWith('.u0'));
  if (!hasSN || !set.has('blocks.0.0.conv1.weight') || !set.has('blocks.0.0.conv1.u0')) return null;
  const variant = [...set].some((k) => k.endsWith('.sv0')) ? 'biggan-pytorch' : 'tfhub-converted';
  if (set.has('output_layer.2.weight') && set.has('linear.weight')) return { role: 'generator', variant };
  if (set.has('embed.weight') && set.has('linear.weight')) return { role: 'discriminator', variant };
  return null;
}

export interface BgpLoadReport {
  variant: BgpDetection['variant'];
  /** Our names of sv0 (logging-only sigma) values the file lacked; kept at their current values. */
  missingSigmas: string[];
}

/**
 * Loads a BGP state dict into one of our BigGAN models, strictly: every key the model
 * needs must be present with its shape (messages use the file's key names), except
 * that the logging-only `sv0` values may be absent altogether (TF-Hub converter output).
 */
export function loadBigGANPyTorch(model: Module, state: Map<string, NdArray>, source: string): BgpLoadReport {
  const expected = bgpStateDict(model);
  const ourOf = new Map<string, string>();
  for (const [name] of model.namedParams()) ourOf.set(ourNameToBgp(name), name);
  const anySigma = [...state.keys()].some((k) => k.endsWith('.sv0'));
  const problems: string[] = [];
  const missingSigmas: string[] = [];
  for (const [key, p] of expected) {
    const t = state.get(key);
    if (!t) {
      if (key.endsWith('.sv0') && !anySigma) missingSigmas.push(ourOf.get(key)!);
      else problems.push(`missing ${key} ${shapeToString(p.shape)}`);
    } else if (!sameShape(t.shape, p.shape)) {
      problems.push(`${key}: expected ${shapeToString(p.shape)}, found ${shapeToString(t.shape)}`);
    }
  }
  for (const key of state.keys()) if (!expected.has(key)) problems.push(`unexpected ${key} ${shapeToString(state.get(key)!.shape)}`);
  if (problems.length) {
    const more = problems.length > 6 ? `; and ${problems.length - 6} more` : '';
    throw new UserError(`${source} does not fit the ${describe(model)}: ${problems.slice(0, 6).join('; ')}${more}`);
  }
  const ours = new Map<string, NdArray>();
  for (const [key, t] of state) ours.set(ourOf.get(key)!, t);
  loadStateDict(model, ours, { source, optional: (name) => missingSigmas.includes(name) });
  return { variant: anySigma ? 'biggan-pytorch' : 'tfhub-converted', missingSigmas };
}

function describe(model: Module): string {
  const m = model as Module & { kind?: string; resolution?: number; config?: { ch?: number } };
  const role = 'embed' in model ? 'discriminator' : 'generator';
  return `BigGAN ${role}${m.resolution ? ` (${m.resolution}x${m.resolution}${m.config?.ch ? `, ch ${m.config.ch}` : ''})` : ''}`;
}

// ---- constructor arguments read back from the keys ----

function shapeOf(state: Map<string, NdArray>, key: string, source: string): number[] {
  const t = state.get(key);
  if (!t) throw new UserError(`${source}: ${key} is missing, so the architecture cannot be read from the file`);
  return t.shape;
}

function blockIndices(state: Map<string, NdArray>): number[] {
  const ids = new Set<number>();
  for (const k of state.keys()) {
    const m = /^blocks\.(\d+)\.0\.conv1\.weight$/.exec(k);
    if (m) ids.add(Number(m[1]));
  }
  return [...ids].sort((a, b) => a - b);
}

function attentionAfter(state: Map<string, NdArray>): number[] {
  const ids: number[] = [];
  for (const k of state.keys()) {
    const m = /^blocks\.(\d+)\.1\.gamma$/.exec(k);
    if (m) ids.push(Number(m[1]));
  }
  return ids;
}

export interface EpsDefaults {
  /** BN_eps: not stored in checkpoints (upstream ImageNet scripts 1e-5; TF-Hub port 1e-4). */
  BN_eps: number;
  /** SN_eps: not stored in checkpoints (upstream ImageNet scripts 1e-6; TF-Hub port 1e-4). */
  SN_eps: number;
}

/** Generator constructor arguments (BGP names) implied by a BGP generator state dict's shapes. */
export function inferGeneratorArgs(state: Map<string, NdArray>, eps: EpsDefaults, source: string): Record<string, unknown> {
  const blocks = blockIndices(state);
  const resolution = 4 << blocks.length;
  if (!blocks.length || !(BIGGAN_RESOLUTIONS as readonly number[]).includes(resolution)) {
    throw new UserError(`${source}: ${blocks.length} generator blocks match no BigGAN resolution`);
  }
  const widths = GENERATOR_WIDTHS[resolution as BigGANResolution];
  const rgbIn = shapeOf(state, 'output_layer.2.weight', source)[1];
  const ch = rgbIn / widths[widths.length - 1];
  const [, zIn] = shapeOf(state, 'linear.weight', source);
  const shared = state.get('shared.weight');
  const [numClasses, condDim] = shapeOf(state, 'blocks.0.0.bn1.gain.weight', source);
  const attn = attentionAfter(state).map((i) => 8 << i);
  const args: Record<string, unknown> = {
    resolution,
    G_ch: ch,
    G_attn: attn.length ? attn.join('_') : '0',
    BN_eps: eps.BN_eps,
    SN_eps: eps.SN_eps,
  };
  if (shared) {
    const [n, sharedDim] = shared.shape;
    const chunk = condDim - sharedDim;
    const hier = chunk > 0;
    if (hier && chunk !== zIn) throw new UserError(`${source}: z chunk of the linear (${zIn}) and of the conditional BNs (${chunk}) differ`);
    Object.assign(args, { n_classes: n, G_shared: true, shared_dim: sharedDim, hier, dim_z: hier ? chunk * (blocks.length + 1) : zIn });
  } else {
    // without a shared embedding the ccbn gains are per-class tables [n_classes, C]
    Object.assign(args, { n_classes: numClasses, G_shared: false, hier: false, dim_z: zIn });
  }
  if (!Number.isInteger(ch) || ch <= 0) throw new UserError(`${source}: output conv width ${rgbIn} fits no channel multiplier at ${resolution}x${resolution}`);
  return args;
}

/** Discriminator constructor arguments (BGP names) implied by a BGP discriminator state dict's shapes. */
export function inferDiscriminatorArgs(state: Map<string, NdArray>, eps: Pick<EpsDefaults, 'SN_eps'>, source: string): Record<string, unknown> {
  const blocks = blockIndices(state);
  const entry = Object.entries(DISCRIMINATOR_ARCH).find(([, row]) => row.widths.length === blocks.length);
  if (!entry) throw new UserError(`${source}: ${blocks.length} discriminator blocks match no BigGAN resolution`);
  const [res, row] = entry;
  const out0 = shapeOf(state, 'blocks.0.0.conv2.weight', source)[0];
  const hidden0 = shapeOf(state, 'blocks.0.0.conv1.weight', source)[0];
  const ch = out0 / row.widths[0];
  if (!Number.isInteger(ch) || ch <= 0) throw new UserError(`${source}: first block width ${out0} fits no channel multiplier`);
  const attn = [...new Set(attentionAfter(state).map((i) => row.labels[i]))];
  return {
    resolution: Number(res),
    D_ch: ch,
    D_wide: hidden0 === out0,
    D_attn: attn.length ? attn.join('_') : '0',
    n_classes: shapeOf(state, 'embed.weight', source)[0],
    SN_eps: eps.SN_eps,
  };
}

// ---- whole files ----

/** Constructor arguments: an object (BGP names; `{G, D}` or flat), a JSON file holding one, or undefined = read from the keys. */
export type BigGANArgsSource = Record<string, unknown> | string | undefined;

export interface BigGANLoadOptions {
  args?: BigGANArgsSource;
  /**
   * Epsilons when the arguments are read from the keys (checkpoints do not store them).
   * Default: the ImageNet launch scripts' BN 1e-5 / SN 1e-6; for TF-Hub converter output
   * the converter's 1e-4 / 1e-4.
   */
  eps?: EpsDefaults;
  /** Output BN eps (upstream: always 1e-5; the TF-Hub originals used 1e-4 at 128/256). */
  outputBnEps?: number;
}

/** The role's constructor arguments and where they come from (for messages). */
function argsFrom(source: BigGANArgsSource, role: 'G' | 'D'): { args: Record<string, unknown>; from: string } | undefined {
  if (source === undefined) return undefined;
  const [json, name] = typeof source === 'string' ? [readJsonForUser(source, 'constructor args'), source] : [source, 'constructor arguments'];
  return { args: splitConstructorArgs(json, name)[role], from: name };
}

/** Which naming a BigGAN state dict uses, refusing the other role and foreign layouts. */
function layoutOf(state: Map<string, NdArray>, role: BgpRole, source: string): BgpDetection | 'ours' {
  const ourKey = role === 'generator' ? 'to_rgb.w.weight' : 'embed.w.weight';
  if (state.has(ourKey) && state.has('linear.w.weight')) return 'ours';
  const found = detectBigGANPyTorch(state.keys());
  if (found && found.role === role) return found;
  const what = found ? `a BigGAN-PyTorch ${found.role}` : `not a BigGAN-PyTorch checkpoint (first keys: ${[...state.keys()].slice(0, 3).join(', ')})`;
  throw new UserError(`${source} is ${what}; expected a BigGAN ${role}`);
}

function defaultEps(layout: BgpDetection | 'ours'): EpsDefaults {
  return layout !== 'ours' && layout.variant === 'tfhub-converted' ? { BN_eps: 1e-4, SN_eps: 1e-4 } : { BN_eps: 1e-5, SN_eps: 1e-6 };
}

/** A BigGAN generator from a BGP checkpoint (G.pth, G_ema.pth, TF-Hub converter output) or one saved in our names. */
export function generatorFromStateDict(state: Map<string, NdArray>, source: string, opts: BigGANLoadOptions = {}): BigGANGenerator {
  const layout = layoutOf(state, 'generator', source);
  let given = argsFrom(opts.args, 'G');
  if (!given) {
    if (layout === 'ours') throw new UserError(`${source}: a checkpoint in our own names needs its constructor arguments`);
    given = { args: inferGeneratorArgs(state, opts.eps ?? defaultEps(layout), source), from: source };
  }
  const { args, from } = given;
  const config = inFile(from, () => parseGeneratorArgs(args, { outputBnEps: opts.outputBnEps }));
  const model = buildForFile(source, state, () => new BigGANGenerator(config));
  if (layout === 'ours') loadStateDict(model, state, { source });
  else loadBigGANPyTorch(model, state, source);
  return model;
}

/** A BigGAN discriminator from a BGP checkpoint (D.pth) or one saved in our names. */
export function discriminatorFromStateDict(state: Map<string, NdArray>, source: string, opts: BigGANLoadOptions = {}): BigGANDiscriminator {
  const layout = layoutOf(state, 'discriminator', source);
  let given = argsFrom(opts.args, 'D');
  if (!given) {
    if (layout === 'ours') throw new UserError(`${source}: a checkpoint in our own names needs its constructor arguments`);
    given = { args: inferDiscriminatorArgs(state, opts.eps ?? defaultEps(layout), source), from: source };
  }
  const { args, from } = given;
  const config = inFile(from, () => parseDiscriminatorArgs(args));
  const model = buildForFile(source, state, () => new BigGANDiscriminator(config));
  if (layout === 'ours') loadStateDict(model, state, { source });
  else loadBigGANPyTorch(model, state, source);
  return model;
}

export function loadBigGANGenerator(weightsFile: string, opts: BigGANLoadOptions = {}): BigGANGenerator {
  return generatorFromStateDict(readStateDict(weightsFile), weightsFile, opts);
}

export function loadBigGANDiscriminator(weightsFile: string, opts: BigGANLoadOptions = {}): BigGANDiscriminator {
  return discriminatorFromStateDict(readStateDict(weightsFile), weightsFile, opts);
}
