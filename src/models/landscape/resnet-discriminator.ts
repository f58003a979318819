/**
 * The GAN-landscape ResNet discriminator (ResNet19 = compare_gan's resnet5, Table 5;
 * ResNet CIFAR, Table 7), from a block table (resnet19.ts, resnet-cifar.ts):
 *
 *   image ─ ResNet D block (resnet-block.ts) × n, each optionally pooling 2x2
 *         ─ ReLU ─ mean over H, W ─ Linear → 1
 *
 * Images come in [-1, 1] and are mapped to the study's [0, 1] first (x + 1)/2 (its G ends
 * in a sigmoid: resnet-generator.ts). Normalisation per --d-norm (d-layers.ts): BN or LN in
 * every block's main path, or spectral norm on every conv and the linear, or none.
 * Class-conditional (our extension): the projection term <embed(y), φ> on the pooled
 * features φ the linear reads, as in SNGAN-projection and BigGAN.
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { Module, ForwardContext } from '../../nn/module.js';
import type { DiscriminatorModel } from '../interfaces.js';
import { dEmbedding, dLinear, dSpectralNorm, type DEmbedding, type DLinear } from './d-layers.js';
import { ResNetDBlock } from './resnet-block.js';
import type { LandscapeDiscriminatorConfig } from './landscape-config.js';

/** A ResNet discriminator's block table: each block's output width in units of ch and whether it pools. */
export interface ResNetDiscriminatorTable {
  readonly resolution: number;
  readonly blocks: readonly (readonly [width: number, down: boolean])[];
}

export class ResNetDiscriminator extends Module implements DiscriminatorModel {
  readonly resolution: number;
  readonly numClasses: number;

  blocks: ResNetDBlock[];
  linear: DLinear;
  embed?: DEmbedding;

  constructor(
    readonly kind: string,
    table: ResNetDiscriminatorTable,
    readonly config: LandscapeDiscriminatorConfig,
  ) {
    super();
    if (config.resolution !== table.resolution) throw new Error(`${kind} D: resolution ${config.resolution}, the table is for ${table.resolution}`);
    const sn = dSpectralNorm(config.snEps);
    this.resolution = config.resolution;
    this.numClasses = config.numClasses;
    let cin = 3;
    this.blocks = table.blocks.map(([w, down]) => {
      const block = new ResNetDBlock(cin, w * config.ch, down, config.norm, sn);
      cin = w * config.ch;
      return block;
    });
    this.linear = dLinear(config.norm, sn, cin, 1);
    if (config.conditional) this.embed = dEmbedding(config.norm, sn, config.numClasses, cin);
    this.nameParams();
  }

  /** Logits [N, 1] for images [N, 3, R, R] in [-1, 1] (class ids [N] read only when conditional). */
  forward(ctx: ForwardContext, images: Tensor, classIds: Tensor): Tensor {
    op.expectShape(images, [null, 3, this.resolution, this.resolution], 'discriminator images');
    const n = images.shape[0];
    op.expectShape(classIds, [n], 'discriminator class ids');
    let h = op.add(op.mul(images, 0.5), 0.5);
    for (const block of this.blocks) h = block.forward(ctx, h);
    const features = op.reduceMean(op.relu(h), [2, 3]);
    const logit = this.linear.forward(ctx, features);
    if (!this.embed) return logit;
    return op.add(logit, op.reduceSum(op.mul(this.embed.forward(ctx, classIds), features), [1], true));
  }
}
