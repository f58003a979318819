/**
 * Batch norm in the GAN-landscape generators (every G normaliser is BN; G has no spectral
 * norm). Unconditional, as in the study: BN with a learned gain and bias. Class-conditional
 * (our extension, the standard of SNGAN-projection and BigGAN): categorical conditional BN,
 * the gain 1 + table[class] and bias table[class] per class, the tables starting at 0 so a
 * fresh model is the unconditional one.
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { BatchNorm2d, ClassTableBatchNorm2d } from '../../nn/batchnorm.js';
import type { ForwardContext } from '../../nn/module.js';
import type { GeneratorInputs } from '../interfaces.js';
import { classVectorOf, expectClassInput } from '../class-input.js';
import type { LandscapeGeneratorConfig } from './landscape-config.js';

export type GBatchNorm = BatchNorm2d | ClassTableBatchNorm2d;

/** numClasses null: unconditional. */
export function gBatchNorm(channels: number, eps: number, numClasses: number | null): GBatchNorm {
  return numClasses === null ? new BatchNorm2d(channels, eps) : new ClassTableBatchNorm2d(channels, numClasses, eps);
}

/** Applies a G batch norm; `classVector` [N, classes] for conditional ones, null otherwise. */
export function applyGBatchNorm(bn: GBatchNorm, ctx: ForwardContext, x: Tensor, classVector: Tensor | null): Tensor {
  if (bn instanceof BatchNorm2d) return bn.forward(ctx, x);
  if (!classVector) throw new Error('conditional batch norm without a class vector');
  return bn.forward(ctx, x, classVector);
}

/** A landscape generator's inputs checked: z [N, zDim], and the class vectors [N, classes] when conditional (else null). */
export function generatorInputs(inputs: GeneratorInputs, config: LandscapeGeneratorConfig): { z: Tensor; n: number; classVector: Tensor | null } {
  const { z, classes } = inputs;
  op.expectShape(z, [null, config.zDim], 'generator z');
  const n = z.shape[0];
  expectClassInput(classes, n, config.numClasses);
  return { z, n, classVector: config.conditional ? classVectorOf(classes, n, config.numClasses) : null };
}
