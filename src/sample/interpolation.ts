/**
 * Interpolation sheets (the paper's Figures 8 and 11 view): each row walks linearly
 * from one endpoint to another in latent space, class space, or both.
 */
import { Rng } from '../random/rng.js';
import { sampleLatents, LatentStyle } from './latents.js';

export type InterpolationKind = 'z' | 'class' | 'both';

export interface InterpolationRequest {
  kind: InterpolationKind;
  rows: number;
  steps: number;
  zDim: number;
  numClasses: number;
  /** z: one class per row (cycled); class/both: consecutive pairs (a, b) per row. Random when absent. */
  classIds?: number[];
  truncation?: number;
  style: LatentStyle;
  rng: Rng;
  /** Text for a class id on the sheet. */
  label: (id: number) => string;
}

export interface InterpolationInputs {
  z: Float32Array;
  classVectors: Float32Array;
  labels: string[];
  /** Each image's dominant class. */
  classIds: number[];
}

export function interpolationInputs(req: InterpolationRequest): InterpolationInputs {
  const { rows, steps, zDim: Z, numClasses: C, rng } = req;
  const n = rows * steps;
  const z = new Float32Array(n * Z);
  const cv = new Float32Array(n * C);
  const labels: string[] = [];
  const classIds: number[] = [];
  const pick = (k: number): number => (req.classIds?.length ? req.classIds[k % req.classIds.length] : rng.int(C));
  for (let r = 0; r < rows; r++) {
    const z0 = sampleLatents(1, Z, req.truncation, req.style, rng);
    const z1 = req.kind === 'class' ? z0 : sampleLatents(1, Z, req.truncation, req.style, rng);
    const a = req.kind === 'z' ? pick(r) : pick(2 * r);
    const b = req.kind === 'z' ? a : pick(2 * r + 1);
    for (let s = 0; s < steps; s++) {
      const t = steps === 1 ? 0 : s / (steps - 1);
      const i = r * steps + s;
      for (let k = 0; k < Z; k++) z[i * Z + k] = (1 - t) * z0[k] + t * z1[k];
      cv[i * C + a] += 1 - t;
      cv[i * C + b] += t;
      classIds.push(t <= 0.5 ? a : b);
      labels.push(s === 0 ? req.label(a) : s === steps - 1 ? req.label(b) : a === b ? '' : `t=${t.toFixed(2)}`);
    }
  }
  return { z, classVectors: cv, labels, classIds };
}
