/**
 * The architecture registry: every network family `biggan train --arch` can build and our
 * checkpoints can hold, by name. A new architecture is its model file(s), an entry
 * (architectures/<name>.ts: an Architecture, architecture-entry.ts) and one line here;
 * the CLI's --arch choices, the run config's checks, training, checkpoints and sampling
 * all go through this table.
 */
import type { Architecture } from './architecture-entry.js';
import { UserError, showValue } from '../errors.js';
import { BIGGAN } from './architectures/biggan.js';
import { BIGGAN_DEEP } from './architectures/biggan-deep.js';
import { SNDCGAN } from './architectures/sndcgan.js';
import { RESNET19 } from './architectures/resnet19.js';
import { RESNET_CIFAR } from './architectures/resnet-cifar.js';

const ARCHITECTURES = [BIGGAN, BIGGAN_DEEP, SNDCGAN, RESNET19, RESNET_CIFAR] as const;

/** Names in registry order (the first is the default). */
export const ARCHITECTURE_NAMES: readonly string[] = ARCHITECTURES.map((a) => a.name);

const byName = new Map<string, Architecture>(ARCHITECTURES.map((a) => [a.name, a]));

/** The entry of `name`; a UserError naming `what` (e.g. '--arch') for an unknown one. */
export function architecture(name: string, what = 'architecture'): Architecture {
  const a = byName.get(name);
  if (!a) throw new UserError(`${what} must be one of ${ARCHITECTURE_NAMES.join(', ')}, got ${showValue(name)}`);
  return a;
}

/** The entry a model was built from (its `kind`). */
export function architectureOf(model: { kind: string }): Architecture {
  const a = byName.get(model.kind);
  if (!a) throw new Error(`no architecture ${model.kind} in the registry`);
  return a;
}
