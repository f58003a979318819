/**
 * A model's architecture as plain JSON, stored in our checkpoints so a generator or
 * discriminator can be rebuilt without guessing: which architecture, which role, and the
 * architecture's own fields ({ arch, role, config, ... }). Each architecture's entry in the
 * registry (architectures.ts) writes, checks and builds its own; this file dispatches.
 */
import { UserError, showValue } from '../errors.js';
import type { ModelSpec } from './architecture-entry.js';
import { ARCHITECTURE_NAMES, architecture, architectureOf } from './architectures.js';
import { JsonFields } from './json-fields.js';
import { DiscriminatorModel, GeneratorModel } from './interfaces.js';

export type GeneratorSpec = ModelSpec & { role: 'G' };
export type DiscriminatorSpec = ModelSpec & { role: 'D' };

export function generatorSpec(model: GeneratorModel): GeneratorSpec {
  return architectureOf(model).generatorSpec(model) as GeneratorSpec;
}

export function discriminatorSpec(model: DiscriminatorModel): DiscriminatorSpec {
  return architectureOf(model).discriminatorSpec(model) as DiscriminatorSpec;
}

/**
 * Checks a generator description read from a file (our checkpoint's `G` metadata):
 * every field's type and range, so nothing malformed reaches a model constructor.
 */
export function validateGeneratorSpec(raw: unknown, where: string): GeneratorSpec {
  const f = new JsonFields(raw, where);
  if (f.oneOf('role', ['G']) !== 'G') f.fail('not a generator');
  return architecture(f.oneOf('arch', ARCHITECTURE_NAMES)).readGeneratorSpec(f) as GeneratorSpec;
}

/** Checks a discriminator description read from a file (our checkpoint's `D` metadata). */
export function validateDiscriminatorSpec(raw: unknown, where: string): DiscriminatorSpec {
  const f = new JsonFields(raw, where);
  if (f.oneOf('role', ['D']) !== 'D') f.fail('not a discriminator');
  return architecture(f.oneOf('arch', ARCHITECTURE_NAMES)).readDiscriminatorSpec(f) as DiscriminatorSpec;
}

function entryOf(spec: ModelSpec, source: string) {
  if (!ARCHITECTURE_NAMES.includes(spec.arch)) throw new UserError(`${source}: unknown architecture ${showValue(spec.arch)}`);
  return architecture(spec.arch);
}

export function buildGenerator(spec: GeneratorSpec, source: string): GeneratorModel {
  if (spec?.role !== 'G') throw new UserError(`${source}: no generator description`);
  return entryOf(spec, source).generatorFromSpec(spec, source);
}

export function buildDiscriminator(spec: DiscriminatorSpec, source: string): DiscriminatorModel {
  if (spec?.role !== 'D') throw new UserError(`${source}: no discriminator description`);
  return entryOf(spec, source).discriminatorFromSpec(spec, source);
}
