/**
 * What one checkpoint layout declares: how to recognise its files and how to build
 * G (and D, where the layout has one) from them. The registry (registry.ts) lists them;
 * checkpoint.ts walks that list, and the first layout whose `detect` fires loads.
 */
import type { NdArray } from '../../io/ndarray.js';
import { readStateDict } from '../../io/state-dict-file.js';
import type { DiscriminatorModel, GeneratorModel } from '../interfaces.js';

/** The names a loaded model reports as its `layout` (part of the library API). */
export type LayoutName = 'biggan-ts' | 'pytorch-pretrained-BigGAN' | 'BigGAN-PyTorch';

/**
 * A weights file as the layouts see it. Each read happens at most once, when a layout
 * first asks for it, so detection costs no more than the one load that follows.
 */
export class WeightsFile {
  private readonly reads = new Map<string, unknown>();

  constructor(readonly path: string) {}

  /** `read()`'s result, computed on the first call for `key`. */
  cached<T>(key: string, read: () => T): T {
    if (!this.reads.has(key)) this.reads.set(key, read());
    return this.reads.get(key) as T;
  }

  /** The file as a plain state dict (torch zip / legacy, safetensors, npz). */
  stateDict(): Map<string, NdArray> {
    return this.cached('state-dict', () => readStateDict(this.path));
  }

  keys(): string[] {
    return [...this.stateDict().keys()];
  }
}

export interface LoadedModel<M> {
  model: M;
  /** Class names the model was trained with, when the file says. */
  classNames?: string[];
}

export interface CheckpointLayout {
  name: LayoutName;
  /** What this layout's files hold, for the message when no layout recognises a file. */
  expects: string;
  detect(file: WeightsFile): boolean;
  /** `config`: the user's config file, if any (what it must hold is the layout's business). */
  loadGenerator(file: WeightsFile, config?: string): LoadedModel<GeneratorModel>;
  /** Absent: the layout's releases hold generators only. */
  loadDiscriminator?(file: WeightsFile, config?: string): LoadedModel<DiscriminatorModel>;
}
