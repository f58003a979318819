/**
 * A model's architecture as plain JSON, stored in our checkpoints so a generator or
 * discriminator can be rebuilt without guessing: which family, which role, and the
 * family's own config object.
 */
import { UserError } from '../errors.js';
import { SNConfig } from '../nn/spectral-norm.js';
import { BigGANGeneratorConfig, BigGANDiscriminatorConfig, BIGGAN_RESOLUTIONS, generatorBlockCount } from './biggan-config.js';
import { BigGanDeepConfig, validateBigGanDeepConfig } from './biggan-deep-config.js';
import { JsonFields } from './json-fields.js';
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

function snConfig(f: JsonFields): SNConfig {
  return { flavour: f.oneOf('flavour', ['torch', 'ajbrock'] as const), eps: f.positive('eps') };
}

function bigGanGeneratorConfig(f: JsonFields): BigGANGeneratorConfig {
  const cfg: BigGANGeneratorConfig = {
    resolution: f.oneOf('resolution', BIGGAN_RESOLUTIONS), ch: f.int('ch', 1), zDim: f.int('zDim', 1),
    numClasses: f.int('numClasses', 1), hier: f.bool('hier'), sharedEmbedding: f.bool('sharedEmbedding'),
    sharedDim: f.int('sharedDim', 1), attention: f.intList('attention', 1), bnEps: f.positive('bnEps'),
    outputBnEps: f.positive('outputBnEps'), snEps: f.positive('snEps'),
  };
  if (cfg.hier && !cfg.sharedEmbedding) f.fail('hier needs sharedEmbedding');
  const slots = generatorBlockCount(cfg.resolution) + 1;
  if (cfg.hier && cfg.zDim % slots !== 0) f.fail(`zDim ${cfg.zDim} is not a multiple of the ${slots} hierarchical z slots`);
  return cfg;
}

function bigGanDiscriminatorConfig(f: JsonFields): BigGANDiscriminatorConfig {
  return {
    resolution: f.oneOf('resolution', BIGGAN_RESOLUTIONS), ch: f.int('ch', 1), numClasses: f.int('numClasses', 1),
    wide: f.bool('wide'), attention: f.intList('attention', 1), snEps: f.positive('snEps'),
  };
}

function deepDiscriminatorOptions(f: JsonFields): DeepDiscriminatorOptions {
  const out: DeepDiscriminatorOptions = { resolution: f.int('resolution', 1) };
  if (f.has('channelWidth')) out.channelWidth = f.int('channelWidth', 4);
  if (f.has('numClasses')) out.numClasses = f.int('numClasses', 1);
  if (f.has('sn')) out.sn = snConfig(f.object('sn'));
  if (f.has('attentionResolutions')) out.attentionResolutions = f.intList('attentionResolutions', 1);
  return out;
}

/**
 * Checks a generator description read from a file (our checkpoint's `G` metadata):
 * every field's type and range, so nothing malformed reaches a model constructor.
 */
export function validateGeneratorSpec(raw: unknown, where: string): GeneratorSpec {
  const f = new JsonFields(raw, where);
  if (f.oneOf('role', ['G']) !== 'G') f.fail('not a generator');
  const arch = f.oneOf('arch', ['biggan', 'biggan-deep'] as const);
  if (arch === 'biggan') return { arch, role: 'G', config: bigGanGeneratorConfig(f.object('config')) };
  return { arch, role: 'G', config: validateBigGanDeepConfig(f.o.config, `${where} config`), sn: snConfig(f.object('sn')) };
}

/** Checks a discriminator description read from a file (our checkpoint's `D` metadata). */
export function validateDiscriminatorSpec(raw: unknown, where: string): DiscriminatorSpec {
  const f = new JsonFields(raw, where);
  if (f.oneOf('role', ['D']) !== 'D') f.fail('not a discriminator');
  const arch = f.oneOf('arch', ['biggan', 'biggan-deep'] as const);
  if (arch === 'biggan') return { arch, role: 'D', config: bigGanDiscriminatorConfig(f.object('config')) };
  return { arch, role: 'D', config: deepDiscriminatorOptions(f.object('config')) };
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
