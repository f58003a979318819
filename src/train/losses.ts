/**
 * Hinge losses (BigGAN-PyTorch losses.loss_hinge_dis / loss_hinge_gen; the paper's
 * choice): D minimises mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))), G minimises
 * -mean(D(G(z))). Logits are [N, 1].
 */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';

export interface DiscriminatorLosses {
  real: Tensor;
  fake: Tensor;
  /** What D is trained on: real + fake. */
  total: Tensor;
}

function meanAll(t: Tensor): Tensor {
  return op.reduceMean(t, [...t.shape.keys()]);
}

export function hingeDiscriminatorLoss(dFake: Tensor, dReal: Tensor): DiscriminatorLosses {
  op.expectShape(dFake, [null, 1], 'D logits of fakes');
  op.expectShape(dReal, [null, 1], 'D logits of reals');
  const real = meanAll(op.relu(op.sub(1, dReal)));
  const fake = meanAll(op.relu(op.add(1, dFake)));
  return { real, fake, total: op.add(real, fake) };
}

export function hingeGeneratorLoss(dFake: Tensor): Tensor {
  op.expectShape(dFake, [null, 1], 'D logits of fakes');
  return op.neg(meanAll(dFake));
}
