/**
 * The GAN-landscape ResNet generator (ResNet19 = compare_gan's resnet5, Table 5; ResNet
 * CIFAR, Table 7), from a width table (resnet19.ts, resnet-cifar.ts):
 *
 *   z ─ Linear → 4·4·w0 ─ reshape [w0, 4, 4] (no BN or ReLU here)
 *     ─ ResNet G block, unpool (resnet-block.ts) × len(widths) - 1
 *     ─ BN ─ ReLU ─ Conv3x3 → 3 ─ sigmoid
 *
 * The study's sigmoid gives [0, 1] images and its D reads [0, 1]; our images are [-1, 1],
 * so the output is 2·sigmoid - 1 and the D maps its input back (resnet-discriminator.ts):
 * the same pair of networks. The reshape reads the linear's output as NCHW (TF: NHWC), a
 * permutation of its rows.
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { Module, ForwardContext } from '../../nn/module.js';
import { Conv2d, Linear } from '../../nn/plain-layers.js';
import type { GeneratorInputs, GeneratorModel } from '../interfaces.js';
import { applyGBatchNorm, gBatchNorm, generatorInputs, type GBatchNorm } from './g-layers.js';
import { ResNetGBlock } from './resnet-block.js';
import type { LandscapeGeneratorConfig } from './landscape-config.js';

/** A ResNet generator's layer table: the linear's width at 4x4, then each up block's output width, in units of ch. */
export interface ResNetGeneratorTable {
  readonly resolution: number;
  readonly widths: readonly number[];
}

export class ResNetGenerator extends Module implements GeneratorModel {
  readonly usesTruncation = false;
  readonly resolution: number;
  readonly zDim: number;
  readonly numClasses: number;

  linear: Linear;
  blocks: ResNetGBlock[];
  out_bn: GBatchNorm;
  to_rgb: Conv2d;

  constructor(
    readonly kind: string,
    table: ResNetGeneratorTable,
    readonly config: LandscapeGeneratorConfig,
  ) {
    super();
    if (config.resolution !== table.resolution) throw new Error(`${kind} G: resolution ${config.resolution}, the table is for ${table.resolution}`);
    if (4 << (table.widths.length - 1) !== table.resolution) throw new Error(`${kind} G: ${table.widths.length - 1} up blocks do not make ${table.resolution}x${table.resolution}`);
    const classes = config.conditional ? config.numClasses : null;
    const widths = table.widths.map((w) => w * config.ch);
    this.resolution = config.resolution;
    this.zDim = config.zDim;
    this.numClasses = config.numClasses;
    this.linear = new Linear(config.zDim, 4 * 4 * widths[0]);
    this.blocks = widths.slice(1).map((w, i) => new ResNetGBlock(widths[i], w, true, config.bnEps, classes));
    this.out_bn = gBatchNorm(widths[widths.length - 1], config.bnEps, classes);
    this.to_rgb = new Conv2d(widths[widths.length - 1], 3, 3);
    this.nameParams();
  }

  /** Images [N, 3, R, R] in [-1, 1]. */
  forward(ctx: ForwardContext, inputs: GeneratorInputs): Tensor {
    const { z, n, classVector: cv } = generatorInputs(inputs, this.config);
    let h = op.reshape(this.linear.forward(ctx, z), [n, this.blocks[0].inChannels, 4, 4]);
    for (const block of this.blocks) h = block.forward(ctx, h, cv);
    h = this.to_rgb.forward(ctx, op.relu(applyGBatchNorm(this.out_bn, ctx, h, cv)));
    const image = op.sub(op.mul(op.sigmoid(h), 2), 1);
    op.expectShape(image, [n, 3, this.resolution, this.resolution], 'generator output');
    return image;
  }
}
