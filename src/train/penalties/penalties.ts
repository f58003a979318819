/**
 * Penalties on D of the large-scale study (LANDSCAPE.md §3), added to D's loss times λ
 * (`--penalty-weight`) at every D step, never to G's:
 *   wgan-gp  slope penalty at x̂ = x + α (x_fake - x), α ~ U[0, 1) per sample (x_fake without gradient)
 *   dragan   slope penalty at x̃ = clip(x + σ (u - 0.5), -1, 1), σ the std of the whole real batch,
 *            u ~ U[0, 1) per element (compare_gan's form; clipped to our [-1, 1] pixel range, not [0, 1])
 *   l2       mean over D's weight kernels (convs and linears, not biases or norm parameters) of ½ ΣW²
 *   none
 * The random numbers (α, u) are graph inputs drawn by the caller from the run's seeded stream.
 * Adding a penalty: one entry in PENALTIES.
 */
import { Param, Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import type { Module } from '../../nn/module.js';

export interface PenaltyPoints {
  /** Real images [B, C, H, W] of this D step. */
  real: Tensor;
  /** Fake images [B, C, H, W] of this D step. */
  fake: Tensor;
  /** Uniform [0, 1) noise of the shape `noiseShape` asked for. */
  noise: Tensor;
}

export interface Penalty {
  readonly name: string;
  readonly description: string;
  /** λ when --penalty-weight is not given (compare_gan's params.py). */
  readonly defaultWeight: number;
  /** Uniform noise the penalty needs per D step, for a batch of images [B, C, H, W]; null: none. */
  noiseShape(images: readonly number[]): number[] | null;
  /** Where D is evaluated for a slope penalty; null for penalties on the weights. */
  points?(p: PenaltyPoints): Tensor;
  /** Penalties on the weights: D's weight kernels (raw, before spectral norm). */
  weights?(kernels: Tensor[]): Tensor;
}

export function wganGpPoints(p: PenaltyPoints): Tensor {
  op.expectShape(p.noise, [p.real.shape[0], 1, 1, 1], 'wgan-gp alpha');
  return op.add(p.real, op.mul(p.noise, op.sub(op.stopGradient(p.fake), p.real)));
}

export function draganPoints(p: PenaltyPoints): Tensor {
  op.expectShape(p.noise, [...p.real.shape], 'dragan noise');
  const x = op.stopGradient(p.real);
  const axes = [...x.shape.keys()];
  const mean = op.reduceMean(x, axes, true);
  // population std over every value of the batch (tf.nn.moments)
  const std = op.sqrt(op.reduceMean(op.square(op.sub(x, mean)), axes, true));
  return op.minimum(op.maximum(op.add(x, op.mul(std, op.sub(p.noise, 0.5))), -1), 1);
}

export function l2WeightPenalty(kernels: Tensor[]): Tensor {
  if (kernels.length === 0) throw new Error('l2 penalty: D has no weight kernels');
  let total: Tensor | undefined;
  for (const w of kernels) {
    const term = op.mul(op.reduceSum(op.square(w), [...w.shape.keys()]), 0.5);
    total = total ? op.add(total, term) : term;
  }
  return op.div(total!, kernels.length);
}

/**
 * D's weight kernels for the l2 penalty: every trainable parameter of rank >= 2 (conv kernels,
 * linear matrices, shortcut and attention convs) except class embeddings; biases and norm
 * parameters are rank 1.
 */
export function weightKernels(D: Module): Param[] {
  return D.namedParams().filter(([name, p]) => p.trainable && p.shape.length >= 2 && !/(^|\.)embed(\.|$)/.test(name)).map(([, p]) => p);
}

export const PENALTIES = {
  none: { name: 'none', description: 'no penalty', defaultWeight: 0, noiseShape: () => null },
  'wgan-gp': {
    name: 'wgan-gp', description: 'gradient penalty (|∇D| - 1)² on interpolates of real and fake images (Gulrajani et al.)', defaultWeight: 10,
    noiseShape: (s: readonly number[]) => [s[0], 1, 1, 1], points: wganGpPoints,
  },
  dragan: {
    name: 'dragan', description: 'gradient penalty (|∇D| - 1)² around perturbed real images (Kodali et al., compare_gan form)', defaultWeight: 10,
    noiseShape: (s: readonly number[]) => [...s], points: draganPoints,
  },
  l2: {
    name: 'l2', description: "L2 on D's weight kernels: mean over layers of ½ΣW²", defaultWeight: 0.01,
    noiseShape: () => null, weights: l2WeightPenalty,
  },
} as const satisfies Record<string, Penalty>;

export type PenaltyName = keyof typeof PENALTIES;
export const PENALTY_NAMES = Object.keys(PENALTIES) as PenaltyName[];
