/**
 * Breeding in latent and class space (ganbreeder's "children" and "crossover"), platform-neutral
 * and seeded: a child is fully described by its explicit z and class mix, which the URL carries.
 *
 *  - mutate: z' = sqrt(1 - s^2) z + s e, with e a fresh latent drawn with the parent's truncation
 *    (this keeps z's scale on average), clamped to the truncation's range; classes drift towards a
 *    random class by `classDrift` (cv' = (1 - d) cv + d onehot(r)).
 *  - crossover: each z entry from parent A with probability `weight`, else from B; classes mixed
 *    as weight cvA + (1 - weight) cvB.
 */
import { Rng } from '../random/rng.js';
import { sampleLatents, type LatentStyle } from '../sample/latents.js';
import { classWeights, roundWeight, type ClassWeight, type ImageInputs } from './explorer-state.js';

export interface Genome {
  z: Float32Array;
  classVector: Float32Array;
}

export interface MutateOptions {
  /** 0 = the parent, 1 = an unrelated latent. */
  strength: number;
  /** Weight moved towards a random class, 0..1. */
  classDrift: number;
  seed: number;
  truncation: number | undefined;
  style: LatentStyle;
}

/** At most this many classes in a bred mix (the URL stays short; tiny weights draw nothing visible). */
const MAX_MIX = 4;

/** The largest |z| the truncation allows, if any. */
export function latentBound(truncation: number | undefined, style: LatentStyle): number | undefined {
  return style === 'scaled' ? 2 * (truncation ?? 1) : truncation;
}

export function mutate(parent: Genome, opts: MutateOptions): Genome {
  const s = Math.min(1, Math.max(0, opts.strength));
  const rng = new Rng(opts.seed);
  const e = sampleLatents(1, parent.z.length, opts.truncation, opts.style, rng);
  const keep = Math.sqrt(1 - s * s);
  const bound = latentBound(opts.truncation, opts.style);
  const z = new Float32Array(parent.z.length);
  for (let i = 0; i < z.length; i++) {
    const v = keep * parent.z[i] + s * e[i];
    z[i] = bound === undefined ? v : Math.min(bound, Math.max(-bound, v));
  }
  const d = Math.min(1, Math.max(0, opts.classDrift));
  const cv = parent.classVector.slice();
  if (d > 0) {
    const target = rng.int(cv.length);
    for (let i = 0; i < cv.length; i++) cv[i] *= 1 - d;
    cv[target] += d;
  }
  return { z, classVector: tidyMix(cv) };
}

export function crossover(a: Genome, b: Genome, weight: number, seed: number): Genome {
  const w = Math.min(1, Math.max(0, weight));
  const rng = new Rng(seed);
  const z = new Float32Array(a.z.length);
  for (let i = 0; i < z.length; i++) z[i] = rng.uniform() < w ? a.z[i] : b.z[i];
  const cv = new Float32Array(a.classVector.length);
  for (let i = 0; i < cv.length; i++) cv[i] = w * a.classVector[i] + (1 - w) * b.classVector[i];
  return { z, classVector: tidyMix(cv) };
}

/** Keeps the largest MAX_MIX weights, rescaled to the vector's total, rounded as URLs round them. */
export function tidyMix(cv: Float32Array): Float32Array {
  const total = cv.reduce((a, b) => a + b, 0);
  const top = classWeights(cv).slice(0, MAX_MIX);
  const kept = top.reduce((a, c) => a + c.weight, 0);
  const out = new Float32Array(cv.length);
  for (const c of top) out[c.id] = roundWeight((c.weight * total) / kept);
  return out;
}

/** The class list of a genome, as an image state holds it. */
export function genomeClasses(g: Genome): ClassWeight[] {
  return classWeights(g.classVector);
}

export function genomeOf(inputs: ImageInputs): Genome {
  return { z: inputs.z, classVector: inputs.classVector };
}
