/**
 * Loading any supported generator / discriminator file, and our own checkpoint format.
 *
 * Layouts, detected from the keys (never from the extension alone):
 *  - ours: .safetensors with metadata {format: "biggan-ts", ...}; tensors "G.<name>",
 *    "G_ema.<name>", "D.<name>" (+ training state); the model description is in the
 *    metadata, so no config file is needed. Sampling uses G_ema when present.
 *  - pytorch-pretrained-BigGAN (BigGAN-deep 128/256/512): pytorch_model.bin + config.json.
 *  - BigGAN-PyTorch: G.pth / G_ema.pth / D.pth (+ constructor args as {"G": …, "D": …},
 *    or read back from the shapes with the ImageNet-script epsilons).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError, showValue } from '../errors.js';
import { NdArray } from '../io/ndarray.js';
import { readHeadForUser, readJsonForUser, regularFileSize } from '../io/read-file.js';
import { readStateDict } from '../io/state-dict-file.js';
import { readSafetensors, writeSafetensors, looksLikeSafetensors } from '../io/safetensors.js';
import { Module } from '../nn/module.js';
import { buildForFile, loadStateDict } from './load-state.js';
import { DiscriminatorModel, GeneratorModel } from './interfaces.js';
import {
  GeneratorSpec, DiscriminatorSpec, buildGenerator, buildDiscriminator, generatorSpec, discriminatorSpec,
  validateGeneratorSpec, validateDiscriminatorSpec,
} from './model-spec.js';
import { bigGanDeepFromStateDict, resolveDeepConfig } from './biggan-deep-generator.js';
import { validateBigGanDeepConfig } from './biggan-deep-config.js';
import { readBigGanDeepConfig } from './biggan-deep-config-file.js';
import { detectPretrainedBigGan } from './layouts/pretrained-biggan.js';
import { detectBigGANPyTorch, generatorFromStateDict, discriminatorFromStateDict } from './layouts/biggan-pytorch.js';

export const CHECKPOINT_FORMAT = 'biggan-ts';
export const CHECKPOINT_VERSION = '1';

export interface LoadedGenerator {
  model: GeneratorModel;
  /** Class names the model was trained with (our checkpoints), when known. */
  classNames?: string[];
  /** Which file layout it came from. */
  layout: 'biggan-ts' | 'pytorch-pretrained-BigGAN' | 'BigGAN-PyTorch';
}

export interface LoadedDiscriminator {
  model: DiscriminatorModel;
  classNames?: string[];
  layout: LoadedGenerator['layout'];
}

/** Everything in one of our checkpoint files. */
export interface CheckpointContents {
  metadata: Record<string, string>;
  tensors: Map<string, NdArray>;
  G?: GeneratorSpec;
  D?: DiscriminatorSpec;
  classNames?: string[];
}

/** A metadata entry parsed as JSON and checked by `validate`; undefined when absent. */
function parseMeta<T>(meta: Record<string, string>, key: string, source: string, validate: (raw: unknown, where: string) => T): T | undefined {
  if (!Object.hasOwn(meta, key)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(meta[key]!);
  } catch {
    throw new UserError(`${source}: metadata entry ${key} is not valid JSON`);
  }
  return validate(raw, `${source}: metadata ${key}`);
}

function classNameList(raw: unknown, where: string): string[] {
  if (!Array.isArray(raw) || raw.some((n) => typeof n !== 'string')) throw new UserError(`${where} must be a list of strings, got ${showValue(raw)}`);
  return raw as string[];
}

/** Reads one of our checkpoints; null when the file is some other format. */
export function readCheckpoint(file: string): CheckpointContents | null {
  if (!looksLikeSafetensors(readHeadForUser(file, 16))) return null;
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) return null;
  if (metadata.version !== CHECKPOINT_VERSION) throw new UserError(`${file}: checkpoint version ${showValue(metadata.version)} is not supported (this is version ${CHECKPOINT_VERSION})`);
  return {
    metadata,
    tensors,
    G: parseMeta(metadata, 'G', file, validateGeneratorSpec),
    D: parseMeta(metadata, 'D', file, validateDiscriminatorSpec),
    classNames: parseMeta(metadata, 'class_names', file, classNameList),
  };
}

/** Tensors under "prefix." with the prefix removed. */
export function section(tensors: Map<string, NdArray>, prefix: string): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  const p = prefix + '.';
  for (const [k, v] of tensors) if (k.startsWith(p)) out.set(k.slice(p.length), v);
  return out;
}

export interface CheckpointParts {
  G?: GeneratorModel;
  G_ema?: GeneratorModel;
  D?: DiscriminatorModel;
  classNames?: string[];
  /** Further tensors (optimizer moments, RNG state...) stored as given. */
  extra?: [string, NdArray][];
  /** Further metadata entries (strings). */
  metadata?: Record<string, string>;
}

function moduleTensors(prefix: string, m: Module): [string, NdArray][] {
  return m.namedParams().map(([name, p]) => [`${prefix}.${name}`, { dtype: 'float32', shape: [...p.shape], data: p.data }]);
}

/** Writes our checkpoint atomically (temp file, fsync, rename). */
export function saveCheckpoint(file: string, parts: CheckpointParts): void {
  const meta: Record<string, string> = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...(parts.metadata ?? {}) };
  const gen = parts.G ?? parts.G_ema;
  if (gen) meta.G = JSON.stringify(generatorSpec(gen));
  if (parts.D) meta.D = JSON.stringify(discriminatorSpec(parts.D));
  if (parts.classNames) meta.class_names = JSON.stringify(parts.classNames);
  const tensors: [string, NdArray][] = [];
  if (parts.G) tensors.push(...moduleTensors('G', parts.G));
  if (parts.G_ema) tensors.push(...moduleTensors('G_ema', parts.G_ema));
  if (parts.D) tensors.push(...moduleTensors('D', parts.D));
  tensors.push(...(parts.extra ?? []));
  writeSafetensors(file, tensors, meta);
}

/** Builds and fills a generator from one of our checkpoints (EMA weights when present). */
export function generatorFromCheckpoint(ck: CheckpointContents, source: string, which: 'G_ema' | 'G' = 'G_ema'): GeneratorModel {
  if (!ck.G) throw new UserError(`${source} holds no generator`);
  let weights = section(ck.tensors, which);
  if (weights.size === 0 && which === 'G_ema') weights = section(ck.tensors, 'G');
  if (weights.size === 0) throw new UserError(`${source} holds no generator weights`);
  const spec = ck.G;
  const model = buildForFile(source, weights, () => buildGenerator(spec, source));
  loadStateDict(model, weights, { source });
  return model;
}

function configKind(json: unknown): 'bgp' | 'hf' | 'unknown' {
  if (json && typeof json === 'object') {
    if ('G' in json || 'D' in json || 'G_ch' in json || 'D_ch' in json) return 'bgp';
    if ('layers' in json && 'channel_width' in json) return 'hf';
  }
  return 'unknown';
}

/** Constructor args beside a BigGAN-PyTorch checkpoint, if any. */
function besideArgs(weights: string): string | undefined {
  for (const name of ['constructor_args.json', 'config.json']) {
    const p = path.join(path.dirname(weights), name);
    if (fs.existsSync(p) && configKind(readJsonForUser(p, 'config')) === 'bgp') return p;
  }
  return undefined;
}

/**
 * Any supported generator file. `config`: an HF config.json or a JSON with BigGAN-PyTorch
 * constructor args ({"G": …}); default: a config file beside the weights.
 */
export function loadGenerator(weights: string, config?: string): LoadedGenerator {
  regularFileSize(weights, 'weights file');
  const ours = readCheckpoint(weights);
  if (ours) return { model: generatorFromCheckpoint(ours, weights), classNames: ours.classNames, layout: 'biggan-ts' };
  const state = readStateDict(weights);
  const keys = [...state.keys()];
  const cfgJson = config ? readJsonForUser(config, 'config') : undefined;
  if (detectPretrainedBigGan(keys)) {
    if (cfgJson && configKind(cfgJson) !== 'hf') throw new UserError(`${config} is not a pytorch-pretrained-BigGAN config.json, but ${weights} is a BigGAN-deep checkpoint`);
    const cfg = config ? readBigGanDeepConfig(config) : resolveDeepConfig(weights, state, undefined);
    return { model: bigGanDeepFromStateDict(state, validateBigGanDeepConfig(cfg, config ?? weights), weights), layout: 'pytorch-pretrained-BigGAN' };
  }
  if (detectBigGANPyTorch(keys)) {
    if (cfgJson && configKind(cfgJson) !== 'bgp') throw new UserError(`${config} does not hold BigGAN-PyTorch constructor args ("G"/"D"), but ${weights} is a BigGAN-PyTorch checkpoint`);
    return { model: generatorFromStateDict(state, weights, { args: config ?? besideArgs(weights) }), layout: 'BigGAN-PyTorch' };
  }
  throw new UserError(`${weights} is not a BigGAN generator checkpoint this tool knows (first keys: ${keys.slice(0, 3).join(', ')})`);
}

/** Any supported discriminator file (BigGAN-PyTorch D.pth, or one of our checkpoints). */
export function loadDiscriminator(weights: string, config?: string): LoadedDiscriminator {
  regularFileSize(weights, 'weights file');
  const ours = readCheckpoint(weights);
  if (ours) {
    if (!ours.D) throw new UserError(`${weights} holds no discriminator`);
    const spec = ours.D;
    const state = section(ours.tensors, 'D');
    const model = buildForFile(weights, state, () => buildDiscriminator(spec, weights));
    loadStateDict(model, state, { source: weights });
    return { model, classNames: ours.classNames, layout: 'biggan-ts' };
  }
  const state = readStateDict(weights);
  const keys = [...state.keys()];
  if (detectPretrainedBigGan(keys)) throw new UserError(`${weights} is a pytorch-pretrained-BigGAN generator; those releases have no discriminator`);
  if (config && configKind(readJsonForUser(config, 'config')) !== 'bgp') throw new UserError(`${config} does not hold BigGAN-PyTorch constructor args ("D")`);
  return { model: discriminatorFromStateDict(state, weights, { args: config ?? besideArgs(weights) }), layout: 'BigGAN-PyTorch' };
}
