/**
 * SNDCGAN discriminator (Kurach et al. 2019, Table 4; LANDSCAPE.md §1.1), widths in units
 * of ch (the study: ch = 64), every conv "same"-padded and followed by a leaky ReLU of
 * slope 0.1:
 *
 *   Conv 3x3/1 → ch, Conv 4x4/2 → 2ch, Conv 3x3/1 → 2ch, Conv 4x4/2 → 4ch,
 *   Conv 3x3/1 → 4ch, Conv 4x4/2 → 8ch, Conv 3x3/1 → 8ch ─ flatten ─ Linear → 1
 *
 * Normalisation: spectral norm on all eight weight layers, or none (the study allows no
 * BN/LN here). Images come in [-1, 1], what the study's D maps its [0, 1] input to first.
 * Class-conditional (our extension): the projection term <embed(y), φ> on the flattened
 * features φ the linear reads (Miyato & Koyama's projection discriminator).
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { Module, ForwardContext } from '../../nn/module.js';
import type { DiscriminatorModel } from '../interfaces.js';
import { dConv, dEmbedding, dLinear, dSpectralNorm, type DConv, type DEmbedding, type DLinear, type DNorm } from './d-layers.js';
import type { LandscapeDiscriminatorConfig } from './landscape-config.js';

export const SNDCGAN_D_NORMS: readonly DNorm[] = ['spectral', 'none'];

/** Table 4 (D): [output width in units of ch, kernel, stride] of each conv. */
export const SNDCGAN_D_LAYERS: readonly (readonly [number, number, 1 | 2])[] = [
  [1, 3, 1],
  [2, 4, 2],
  [2, 3, 1],
  [4, 4, 2],
  [4, 3, 1],
  [8, 4, 2],
  [8, 3, 1],
];

export const SNDCGAN_LEAK = 0.1;

export class SndcganDiscriminator extends Module implements DiscriminatorModel {
  readonly kind = 'sndcgan';
  readonly resolution: number;
  readonly numClasses: number;

  convs: DConv[];
  linear: DLinear;
  embed?: DEmbedding;

  constructor(readonly config: LandscapeDiscriminatorConfig) {
    super();
    const { ch, norm } = config;
    if (!SNDCGAN_D_NORMS.includes(norm)) throw new Error(`SNDCGAN D: normalisation ${norm} is not part of the architecture`);
    const sn = dSpectralNorm(config.snEps);
    this.resolution = config.resolution;
    this.numClasses = config.numClasses;
    let cin = 3;
    this.convs = SNDCGAN_D_LAYERS.map(([w, k, s]) => {
      const conv = dConv(norm, sn, cin, w * ch, k, s);
      cin = w * ch;
      return conv;
    });
    const features = cin * (config.resolution / 8) ** 2;
    this.linear = dLinear(norm, sn, features, 1);
    if (config.conditional) this.embed = dEmbedding(norm, sn, config.numClasses, features);
    this.nameParams();
  }

  /** Logits [N, 1] for images [N, 3, R, R] in [-1, 1] (class ids [N] read only when conditional). */
  forward(ctx: ForwardContext, images: Tensor, classIds: Tensor): Tensor {
    op.expectShape(images, [null, 3, this.resolution, this.resolution], 'discriminator images');
    const n = images.shape[0];
    op.expectShape(classIds, [n], 'discriminator class ids');
    let h = images;
    for (const conv of this.convs) h = op.leakyRelu(conv.forward(ctx, h), SNDCGAN_LEAK);
    const features = op.reshape(h, [n, -1]);
    const logit = this.linear.forward(ctx, features);
    if (!this.embed) return logit;
    return op.add(logit, op.reduceSum(op.mul(this.embed.forward(ctx, classIds), features), [1], true));
  }
}
