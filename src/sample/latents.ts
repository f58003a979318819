/**
 * Latent sampling with the truncation trick.
 *  - BigGAN (paper §3.1): z ~ N(0, I) with every entry whose magnitude exceeds the
 *    threshold resampled; the threshold is the truncation value.
 *  - BigGAN-deep as pytorch-pretrained-BigGAN samples it: a normal truncated to
 *    [-2, 2] (also by resampling), scaled by the truncation value in (0, 1], which
 *    also selects the BN statistics.
 */
import { Rng } from '../random/rng.js';
import { UserError } from '../errors.js';

export type LatentStyle = 'threshold' | 'scaled';

export function sampleLatents(n: number, zDim: number, truncation: number | undefined, style: LatentStyle, rng: Rng): Float32Array {
  const z = new Float32Array(n * zDim);
  if (style === 'scaled') {
    const t = truncation ?? 1;
    for (let i = 0; i < z.length; i++) z[i] = rng.truncatedNormal(2) * t;
  } else if (truncation === undefined) {
    for (let i = 0; i < z.length; i++) z[i] = rng.normal();
  } else {
    for (let i = 0; i < z.length; i++) z[i] = rng.truncatedNormal(truncation);
  }
  return z;
}

/** Checks a truncation value for a model: (0, 1] where it selects BN statistics, > 0 otherwise. */
export function checkTruncation(t: number, selectsStats: boolean, name = '--truncation'): void {
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) throw new UserError(`${name} must be a positive number, got ${t}`);
  if (selectsStats && t > 1) throw new UserError(`${name} must be in (0, 1] for BigGAN-deep (it selects BN statistics), got ${t}`);
}
