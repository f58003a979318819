/**
 * Which micro-batches of an iteration each rank computes, so that N ranks with K local
 * accumulations do what one process with N·K accumulations does. Per iteration that
 * process takes dSteps × N·K real batches from the loader and as many latent batches
 * (latents.ts iterationNoise, drawn with the N·K accumulations), then N·K latent batches
 * for the G step; rank r computes the r-th block of K micro-batches of every step. Every
 * rank draws every latent batch (cheap) and skips the loader batches of the others
 * (BatchLoader.skip), so all streams and the saved loader state stay those of one process.
 */
export interface RankPlan {
  size: number;
  rank: number;
  dSteps: number;
  /** micro-batches per D step and per G step on each rank (local accumulations) */
  dAccumulations: number;
  gAccumulations: number;
}

export interface RankMicroBatches {
  /** accumulations of the one process this job equals (its noise spec and loss divisors) */
  dTotal: number;
  gTotal: number;
  /** per D step: this rank's indices into the iteration's real batches and latent batches */
  d: number[][];
  /** this rank's indices into the iteration's latent batches for the G step */
  g: number[];
}

export function rankMicroBatches(p: RankPlan): RankMicroBatches {
  const dTotal = p.size * p.dAccumulations;
  const gTotal = p.size * p.gAccumulations;
  const block = (start: number, k: number) => Array.from({ length: k }, (_, i) => start + p.rank * k + i);
  return {
    dTotal,
    gTotal,
    d: Array.from({ length: p.dSteps }, (_, s) => block(s * dTotal, p.dAccumulations)),
    g: block(p.dSteps * dTotal, p.gAccumulations),
  };
}
