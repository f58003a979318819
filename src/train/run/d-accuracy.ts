/**
 * The paper's memorization test (§4.2 / Appendix F): the share of training images
 * and of held-out images that D classifies as real (logit > 0). A D that has
 * memorised its training set scores training images as real far more often than
 * held-out images of the same distribution.
 */
import type { RuntimeOptions } from '../../engine/runtime.js';
import type { DiscriminatorModel } from '../../models/interfaces.js';
import type { PreparedDataset } from '../../data/prepared-dataset.js';
import { imageToNCHW } from '../../data/batch-loader.js';
import { discriminate } from '../../discriminate/runner.js';
import { Rng } from '../../random/rng.js';

export interface AccuracySet {
  dataset: PreparedDataset;
  /** Restrict to these item indices (default: all). */
  indices?: number[];
}

export interface SetAccuracy {
  /** Images scored. */
  n: number;
  /** Share with logit > 0. */
  realShare: number;
  meanLogit: number;
}

/** Up to `n` indices of `from`, drawn without replacement with a fixed seed (all of them, in order, when n >= their count). */
export function pickIndices(from: number[], n: number, seed: number): number[] {
  if (n >= from.length) return from;
  const perm = new Rng(seed).permutation(from.length);
  return Array.from(perm.subarray(0, n), (i) => from[i]).sort((a, b) => a - b);
}

/** Scores one set of images with D in eval mode. */
export async function realShare(D: DiscriminatorModel, set: AccuracySet, batch: number, runtime: RuntimeOptions = {}): Promise<SetAccuracy> {
  const ds = set.dataset;
  const idx = set.indices ?? Array.from({ length: ds.count }, (_, i) => i);
  const R = ds.resolution;
  const per = 3 * R * R;
  const images = new Float32Array(idx.length * per);
  const labels = new BigInt64Array(idx.length);
  const scratch = new Uint8Array(ds.imageBytes);
  idx.forEach((item, k) => {
    imageToNCHW(ds.readImage(item, scratch), R, images, k * per);
    labels[k] = BigInt(ds.labels[item]);
  });
  const logits = await discriminate(D, images, labels, batch, runtime);
  let real = 0;
  let sum = 0;
  for (const v of logits) {
    if (v > 0) real++;
    sum += v;
  }
  return { n: idx.length, realShare: real / idx.length, meanLogit: sum / idx.length };
}
