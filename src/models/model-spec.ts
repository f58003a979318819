/**
 * A model's architecture as plain JSON, stored in our checkpoints so a generator or
 * discriminator can be rebuilt without guessing: which family, which role, and the
 * family's own config object.
 */
import { UserError } from '../errors.js';
import { SNConfig } from '../nn/spectral-norm.js';
import { BigGANGeneratorConfig, BigGANDiscriminatorConfig } from './biggan-config.js';
import { BigGanDeepConfig, validateBigGanDeepConfig } from './biggan-deep-config.js';
import { BigGANGenerator } from './biggan-generator.js';
import { BigGANDiscriminator } from './biggan-discriminator.js';
import { BigGanDeepGenerator } from './biggan-deep-generator.js';
import { BigGanDeepDiscriminator, DeepDiscriminatorOptions } from './biggan-deep-discriminator.js';
import { DiscriminatorModel, GeneratorModel } from './interfaces.js';

export type GeneratorSpec =
  | { arch: 'biggan'; role: 'G'; config: BigGANGeneratorConfig }
  | { arch: 'biggan-deep'; role: 'G'; config: BigGanDeepConfig; sn: SNConfig };

export type DiscriminatorSpec =
  | { arch: 'biggan'; role: 'D'; config: BigGANDiscriminatorConfig }
  | { arch: 'biggan-deep'; role: 'D'; config: DeepDiscriminatorOptions };

export function generatorSpec(model: GeneratorModel): GeneratorSpec {
  if (model instanceof BigGANGenerator) return { arch: 'biggan', role: 'G', config: model.config };
  if (model instanceof BigGanDeepGenerator) return { arch: 'biggan-deep', role: 'G', config: model.config, sn: model.sn };
  throw new Error('unknown generator class');
}

export function discriminatorSpec(model: DiscriminatorModel): DiscriminatorSpec {
  if (model instanceof BigGANDiscriminator) return { arch: 'biggan', role: 'D', config: model.config };
  if (model instanceof BigGanDeepDiscriminator) return { arch: 'biggan-deep', role: 'D', config: model.options };
  throw new Error('unknown discriminator class');
}

export function buildGenerator(spec: GeneratorSpec, source: string): GeneratorModel {
  if (spec?.role !== 'G') throw new UserError(`${source}: no generator description`);
  if (spec.arch === 'biggan') return new BigGANGenerator(spec.config);
  if (spec.arch === 'biggan-deep') return new BigGanDeepGenerator(validateBigGanDeepConfig(spec.config, source), spec.sn);
  throw new UserError(`${source}: unknown architecture ${(spec as { arch: string }).arch}`);
}

export function buildDiscriminator(spec: DiscriminatorSpec, source: string): DiscriminatorModel {
  if (spec?.role !== 'D') throw new UserError(`${source}: no discriminator description`);
  if (spec.arch === 'biggan') return new BigGANDiscriminator(spec.config);
  if (spec.arch === 'biggan-deep') return new BigGanDeepDiscriminator(spec.config);
  throw new UserError(`${source}: unknown architecture ${(spec as { arch: string }).arch}`);
}
