/**
 * Our checkpoint format: .safetensors with metadata {format: "biggan-ts", version, ...};
 * tensors "G.<name>", "G_ema.<name>", "D.<name>" (+ training state). The model
 * description is in the metadata (model-spec.ts), so no config file is needed.
 */
import { UserError, showValue } from '../errors.js';
import { NdArray } from '../io/ndarray.js';
import { readHeadForUser } from '../io/read-file.js';
import { readSafetensors, writeSafetensors, looksLikeSafetensors } from '../io/safetensors.js';
import { Module } from '../nn/module.js';
import { buildForFile, loadStateDict } from './load-state.js';
import { DiscriminatorModel, GeneratorModel } from './interfaces.js';
import {
  GeneratorSpec, DiscriminatorSpec, buildGenerator, buildDiscriminator, generatorSpec, discriminatorSpec,
  validateGeneratorSpec, validateDiscriminatorSpec,
} from './model-spec.js';

export const CHECKPOINT_FORMAT = 'biggan-ts';
export const CHECKPOINT_VERSION = '1';

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

/** Builds and fills the discriminator of one of our checkpoints. */
export function discriminatorFromCheckpoint(ck: CheckpointContents, source: string): DiscriminatorModel {
  if (!ck.D) throw new UserError(`${source} holds no discriminator`);
  const spec = ck.D;
  const state = section(ck.tensors, 'D');
  const model = buildForFile(source, state, () => buildDiscriminator(spec, source));
  loadStateDict(model, state, { source });
  return model;
}
