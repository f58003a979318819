/** The tiny trials the sweep tests (and the queue bench) run: BigGAN 32 at ch 4 on 32 synthetic images, and a real-image .npy to score against. */
import { writeNpy } from '../src/io/npy.js';

/** `fixed` options of a tiny trial (a checkpoint every step, so an interrupted trial has one to resume from). */
export const TINY_TRIAL_OPTIONS = {
  ch: 4, batch: 4, dimZ: 16, sharedDim: 8, syntheticClasses: 4, syntheticCount: 32, standingPasses: 2, graphs: 'per-step',
  checkpointEvery: 1, sampleEvery: 0, svEvery: 0, logEvery: 1, emaStart: 1,
};

/** n deterministic uint8 NHWC images of r x r. */
export function writeImages(file: string, n: number, r: number): void {
  const data = new Uint8Array(n * r * r * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 7) * 11) & 255;
  writeNpy(file, { dtype: 'uint8', shape: [n, r, r, 3], data });
}
