/**
 * GAN losses, as the large-scale study defines them (LANDSCAPE.md §2; l_r, l_f are D's logits on
 * real and fake images, means over the batch). Hinge is BigGAN's choice and the default.
 *
 *   loss     D minimises                                   G minimises
 *   hinge    mean relu(1 - l_r) + mean relu(1 + l_f)        -mean l_f
 *   ns       mean softplus(-l_r) + mean softplus(l_f)       mean softplus(-l_f)      (-log D(G(z)))
 *   minimax  as ns                                          -mean softplus(l_f)      (log(1 - D(G(z))))
 *   wgan     -mean l_r + mean l_f                           -mean l_f
 *   ls       ½ mean (σ(l_r) - 1)² + ½ mean σ(l_f)²           ½ mean (σ(l_f) - 1)²    (on probabilities, as compare_gan)
 *
 * Adding a loss: one entry in LOSSES.
 */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';

export interface DiscriminatorLosses {
  real: Tensor;
  fake: Tensor;
  /** What D is trained on: real + fake. */
  total: Tensor;
}

export interface GanLoss {
  readonly name: string;
  readonly description: string;
  /** D's loss terms on real and fake logits [N, 1]. */
  discriminator(dFake: Tensor, dReal: Tensor): DiscriminatorLosses;
  /** G's loss on the fake logits [N, 1]. */
  generator(dFake: Tensor): Tensor;
}

function meanAll(t: Tensor): Tensor {
  return op.reduceMean(t, [...t.shape.keys()]);
}

function checked(dFake: Tensor, dReal?: Tensor): void {
  op.expectShape(dFake, [null, 1], 'D logits of fakes');
  if (dReal) op.expectShape(dReal, [null, 1], 'D logits of reals');
}

function pair(real: Tensor, fake: Tensor): DiscriminatorLosses {
  return { real, fake, total: op.add(real, fake) };
}

export function hingeDiscriminatorLoss(dFake: Tensor, dReal: Tensor): DiscriminatorLosses {
  checked(dFake, dReal);
  return pair(meanAll(op.relu(op.sub(1, dReal))), meanAll(op.relu(op.add(1, dFake))));
}

export function hingeGeneratorLoss(dFake: Tensor): Tensor {
  checked(dFake);
  return op.neg(meanAll(dFake));
}

const nsDiscriminator = (dFake: Tensor, dReal: Tensor): DiscriminatorLosses => {
  checked(dFake, dReal);
  return pair(meanAll(op.softplus(op.neg(dReal))), meanAll(op.softplus(dFake)));
};

export const LOSSES = {
  hinge: {
    name: 'hinge', description: "hinge (BigGAN's choice): relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z))",
    discriminator: hingeDiscriminatorLoss, generator: hingeGeneratorLoss,
  },
  ns: {
    name: 'ns', description: 'non-saturating: sigmoid cross-entropy for D; G: -log D(G(z))',
    discriminator: nsDiscriminator,
    generator: (dFake: Tensor) => { checked(dFake); return meanAll(op.softplus(op.neg(dFake))); },
  },
  minimax: {
    name: 'minimax', description: "the original minimax GAN: D as ns; G: log(1 - D(G(z))) (saturates; not in the study's grid)",
    discriminator: nsDiscriminator,
    generator: (dFake: Tensor) => { checked(dFake); return op.neg(meanAll(op.softplus(dFake))); },
  },
  wgan: {
    name: 'wgan', description: 'Wasserstein: -D(x) + D(G(z)); G: -D(G(z)) (pair with a penalty, e.g. wgan-gp)',
    discriminator: (dFake: Tensor, dReal: Tensor) => { checked(dFake, dReal); return pair(op.neg(meanAll(dReal)), meanAll(dFake)); },
    generator: hingeGeneratorLoss,
  },
  ls: {
    name: 'ls', description: 'least squares on sigmoid(D): ½(σ(D(x)) - 1)² + ½σ(D(G(z)))²; G: ½(σ(D(G(z))) - 1)²',
    discriminator: (dFake: Tensor, dReal: Tensor) => {
      checked(dFake, dReal);
      return pair(op.mul(meanAll(op.square(op.sub(op.sigmoid(dReal), 1))), 0.5), op.mul(meanAll(op.square(op.sigmoid(dFake))), 0.5));
    },
    generator: (dFake: Tensor) => { checked(dFake); return op.mul(meanAll(op.square(op.sub(op.sigmoid(dFake), 1))), 0.5); },
  },
} as const satisfies Record<string, GanLoss>;

export type LossName = keyof typeof LOSSES;
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];
