/**
 * R1 zero-centred gradient penalty on D (Mescheder et al. 2018, "Which training methods
 * for GANs do actually converge?"), one of the paper's §4.2 options for stabilising D:
 *
 *   R1 = mean over the real batch of ||∂D(x)/∂x||²,   D_loss += (γ/2) · R1
 *
 * The gradient w.r.t. the images is built in the same graph (double backprop), so the
 * gradient of the penalty w.r.t. D's weights flows through D's own VJP rules.
 */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { grad } from '../engine/autodiff.js';

/**
 * R1 of D's logits `dReal` [B, 1] on the real images `xReal` [B, C, H, W]. Summing the
 * logits before differentiating gives every sample's own input-gradient, as long as D
 * treats samples independently (BigGAN's D has no batch statistics).
 */
export function r1Penalty(dReal: Tensor, xReal: Tensor): Tensor {
  op.expectShape(dReal, [xReal.shape[0], 1], 'D logits of reals');
  const [dx] = grad(op.reduceSum(dReal, [0, 1]), [xReal]);
  const perSample = op.reduceSum(op.square(dx), [1, 2, 3]);
  return op.reduceMean(perSample, [0]);
}
