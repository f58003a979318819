/**
 * The run's random streams and latent distributions.
 *
 * Every random draw of a run comes from an Rng keyed by (seed, stream, index): the
 * latents and fake labels of iteration t (every micro-batch's, with gradient
 * accumulation) from ('noise', t), standing-statistics passes from ('standing', step),
 * the fixed sample-sheet latents from ('sheet', 0), model init from ('init', 0). So the
 * random state at any step is a function of the seed and the step counter, and a
 * resumed run draws exactly what an uninterrupted one would (the data loader keeps its
 * own seeded, saved state).
 *
 * Latent distributions (the paper's §4 / Appendix E alternatives), each scaled by
 * `std` like BigGAN-PyTorch's z_var:
 *   normal           N(0, I)
 *   uniform          U[-1, 1]
 *   bernoulli        {0, 1} with p = 1/2
 *   censored-normal  max(N(0, I), 0)
 */
import { Rng } from '../../random/rng.js';

export type LatentDistribution = 'normal' | 'uniform' | 'bernoulli' | 'censored-normal';
export const LATENT_DISTRIBUTIONS: readonly LatentDistribution[] = ['normal', 'uniform', 'bernoulli', 'censored-normal'];

export type Stream = 'noise' | 'standing' | 'sheet' | 'init' | 'penalty';
const STREAM_IDS: Record<Stream, number> = { noise: 1, standing: 2, sheet: 3, init: 4, penalty: 5 };

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An independent generator for (seed, stream, index). */
export function streamRng(seed: number, stream: Stream, index: number): Rng {
  const s = STREAM_IDS[stream];
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  const state = Uint32Array.of(
    mix32((seed >>> 0) ^ 0x9e3779b9),
    mix32(lo + Math.imul(s, 0x85ebca6b)),
    mix32((hi ^ mix32(seed >>> 0)) + 0x27d4eb2f),
    mix32(s * 0x165667b1 + lo) | 1, // never the all-zero state
  );
  const rng = new Rng(state);
  for (let i = 0; i < 8; i++) rng.nextUint32();
  return rng;
}

/** `count` latent values from the distribution, scaled by std. */
export function drawLatents(rng: Rng, count: number, dist: LatentDistribution, std: number): Float32Array {
  const out = new Float32Array(count);
  switch (dist) {
    case 'normal':
      for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
      break;
    case 'censored-normal':
      for (let i = 0; i < count; i++) out[i] = Math.max(rng.normal(), 0) * std;
      break;
    case 'uniform':
      for (let i = 0; i < count; i++) out[i] = (2 * rng.uniform() - 1) * std;
      break;
    case 'bernoulli':
      for (let i = 0; i < count; i++) out[i] = (rng.nextUint32() >>> 31) * std;
      break;
  }
  return out;
}

/** n class ids, uniform over the classes. */
export function drawClasses(rng: Rng, n: number, numClasses: number): BigInt64Array {
  return BigInt64Array.from({ length: n }, () => BigInt(rng.int(numClasses)));
}

export interface NoiseSpec {
  seed: number;
  batch: number;
  zDim: number;
  numClasses: number;
  dSteps: number;
  /** Micro-batches per D step and per G step (gradient accumulation; absent: 1). */
  dAccumulations?: number;
  gAccumulations?: number;
  latent: LatentDistribution;
  zStd: number;
}

/**
 * Latents and fake labels of iteration `itr` (1-based): one batch per D step (per
 * micro-batch of each D step, in order, with accumulation), then the G step's (one per
 * G micro-batch): dSteps + 1 batches without accumulation.
 */
export function iterationNoise(spec: NoiseSpec, itr: number): { zs: Float32Array[]; yFakes: BigInt64Array[] } {
  const rng = streamRng(spec.seed, 'noise', itr);
  const zs: Float32Array[] = [];
  const yFakes: BigInt64Array[] = [];
  const batches = spec.dSteps * (spec.dAccumulations ?? 1) + (spec.gAccumulations ?? 1);
  for (let k = 0; k < batches; k++) {
    zs.push(drawLatents(rng, spec.batch * spec.zDim, spec.latent, spec.zStd));
    yFakes.push(drawClasses(rng, spec.batch, spec.numClasses));
  }
  return { zs, yFakes };
}

/**
 * The uniform noise of a penalty (wgan-gp's α, dragan's u) for iteration `itr`: one array of
 * `size` values per D micro-batch, from a stream of its own, so runs without a penalty draw
 * exactly what they drew before and a resumed run draws what the uninterrupted one did.
 */
export function iterationPenaltyNoise(seed: number, itr: number, batches: number, size: number): Float32Array[] {
  const rng = streamRng(seed, 'penalty', itr);
  return Array.from({ length: batches }, () => Float32Array.from({ length: size }, () => rng.uniform()));
}
