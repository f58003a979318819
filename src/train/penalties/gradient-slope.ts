/**
 * The gradient-norm term WGAN-GP and DRAGAN share (compare_gan, LANDSCAPE.md §3): for D's logits
 * at points x̂, slope = sqrt(1e-4 + Σ_{c,h,w} (∂D/∂x̂)²) per sample, penalty = mean (slope - 1)².
 * The gradient is built in the same graph (double backprop), so the penalty's gradient w.r.t. D's
 * weights flows through D's own VJP rules.
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { grad } from '../../engine/autodiff.js';

/** mean over the batch of (sqrt(1e-4 + |∂D(x̂)/∂x̂|²) - 1)²; D must treat samples independently (no batch statistics across them). */
export function slopePenalty(dLogits: Tensor, points: Tensor): Tensor {
  op.expectShape(dLogits, [points.shape[0], 1], 'D logits at the penalty points');
  const [dx] = grad(op.reduceSum(dLogits, [0, 1]), [points]);
  const slope = op.sqrt(op.add(op.reduceSum(op.square(dx), [1, 2, 3]), 1e-4));
  return op.reduceMean(op.square(op.sub(slope, 1)), [0]);
}
