/**
 * What the architecture registry (architectures.ts) holds for each architecture: how a
 * run builds and initialises its G and D, the defaults and checks that depend on it,
 * which of G's weights orthogonal regularisation leaves alone, and how its models are
 * described in (and rebuilt from) our checkpoints. Everything specific to an
 * architecture lives in its entry (architectures/<name>.ts) and model files; the
 * trainer, sampler and checkpoint code see only GeneratorModel / DiscriminatorModel.
 */
import type { Param } from '../engine/graph.js';
import type { Module } from '../nn/module.js';
import type { Rng } from '../random/rng.js';
import type { DiscriminatorModel, GeneratorModel } from './interfaces.js';
import type { JsonFields } from './json-fields.js';
import type { DNorm } from './landscape/d-layers.js';

/** What a run asks of an architecture (from its config; camelCase of `biggan train`'s flags). */
export interface ArchitectureOptions {
  resolution: number;
  /** Channel widths of G and D: the multiplier of the architecture's width table. */
  gCh: number;
  dCh: number;
  dimZ: number;
  /** Classes of the class input; 1 when `conditional` is false. */
  numClasses: number;
  /** Class-conditional networks; false: unconditional (BigGAN family: one class). */
  conditional: boolean;
  /** D's normalisation (--d-norm). */
  dNorm: DNorm;
  /** G's batch-norm epsilon, and the spectral-norm epsilon. */
  bnEps: number;
  snEps: number;
  /** BigGAN family only: shared class-embedding size, hierarchical latents, self-attention resolutions. */
  sharedDim: number;
  hier: boolean;
  gAttn: number[];
  dAttn: number[];
}

/** Options only some architectures read; a run that names one for another architecture is refused. */
export type ArchitectureSpecificOption = 'sharedDim' | 'hier' | 'gAttn' | 'dAttn';

/** Run defaults that depend on the architecture (and resolution). */
export interface ArchitectureDefaults {
  gCh: number;
  dCh: number;
  dimZ: number;
  bnEps: number;
}

/** A model's architecture as JSON (checkpoint metadata `G` / `D`): the family, the role, and the entry's own fields. */
export interface ModelSpec {
  arch: string;
  role: 'G' | 'D';
  [field: string]: unknown;
}

export interface Architecture {
  readonly name: string;
  /** One line for --help and the README. */
  readonly summary: string;
  readonly resolutions: readonly number[];
  /** With --data and no --resolution (unless the data has its own). */
  readonly defaultResolution: number;
  /** --d-norm values it has, the default first. */
  readonly dNorms: readonly DNorm[];
  /** Architecture-specific options it does not read. */
  readonly unusedOptions: readonly ArchitectureSpecificOption[];
  defaults(resolution: number): ArchitectureDefaults;
  /** What is wrong with options the generic checks accept (one line naming the flag), or null. */
  problem(o: Omit<ArchitectureOptions, 'numClasses' | 'conditional'>): string | null;

  buildGenerator(o: ArchitectureOptions): GeneratorModel;
  buildDiscriminator(o: ArchitectureOptions): DiscriminatorModel;
  /** Initialises a freshly built G or D from `rng` (G first, then D, from one stream). */
  initialize(model: Module, rng: Rng): void;
  /** G's weights that orthogonal regularisation (and the σ clamp) leave alone: class embeddings. */
  orthoExempt(G: GeneratorModel): Param[];

  generatorSpec(G: GeneratorModel): ModelSpec;
  discriminatorSpec(D: DiscriminatorModel): ModelSpec;
  /** A spec read from a file: every field checked (f: the whole spec object; its arch and role are this entry's). */
  readGeneratorSpec(f: JsonFields): ModelSpec;
  readDiscriminatorSpec(f: JsonFields): ModelSpec;
  /** Builds (unfilled) models from specs this entry made or read. */
  generatorFromSpec(spec: ModelSpec, source: string): GeneratorModel;
  discriminatorFromSpec(spec: ModelSpec, source: string): DiscriminatorModel;
}
