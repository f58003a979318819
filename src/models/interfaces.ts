/**
 * What sampling, training and evaluation need from a generator or discriminator,
 * whatever its architecture (the registry's: architectures.ts) or checkpoint layout.
 */
import { Tensor } from '../engine/graph.js';
import { ForwardContext, Module } from '../nn/module.js';
import type { StatRowInputs } from '../nn/truncation-batchnorm.js';

/** Class conditioning: int64 ids [N], or float class vectors [N, numClasses] (soft / mixed classes). */
export type ClassInput = { ids: Tensor } | { vector: Tensor };

export interface GeneratorInputs {
  /** Latents [N, zDim], used as given (truncate before, if wanted). */
  z: Tensor;
  classes: ClassInput;
  /** float64 [1]: selects BN statistics in models that store them per truncation (BigGAN-deep, HF). */
  truncation?: Tensor;
  /** Instead of truncation: the BN row selection computed by the caller (nn/stat-row-selection.ts; browsers). */
  statRows?: StatRowInputs;
}

export interface GeneratorModel extends Module {
  /** The architecture's name in the registry (models/architectures.ts), e.g. 'biggan', 'sndcgan'. */
  readonly kind: string;
  readonly resolution: number;
  readonly zDim: number;
  /** Classes of the class input; 1 for an unconditional model (which reads nothing from it). */
  readonly numClasses: number;
  /** True when BN statistics depend on the truncation input. */
  readonly usesTruncation: boolean;
  /** Rows of per-truncation BN statistics (BigGAN-deep from pytorch-pretrained-BigGAN: 51), when usesTruncation. */
  readonly truncationStatRows?: number;
  /** Images [N, 3, R, R] in [-1, 1]. */
  forward(ctx: ForwardContext, inputs: GeneratorInputs): Tensor;
}

export interface DiscriminatorModel extends Module {
  readonly kind: string;
  readonly resolution: number;
  readonly numClasses: number;
  /** Logits [N, 1] for images [N, 3, R, R] and int64 class ids [N]. */
  forward(ctx: ForwardContext, images: Tensor, classIds: Tensor): Tensor;
}
