/**
 * BigGAN projection discriminator with BigGAN-PyTorch's structure (BigGAN.py
 * `Discriminator`):
 *
 *   image ─ ResBlock down (DBlock) × n, each optionally followed by self-attention
 *         ─ ReLU ─ global SUM pool ─ h
 *   logit = SNLinear(h) + <SNEmbedding(y), h>   (sigma over the whole embedding table)
 *
 * Fields are declared in upstream registration order (checkpoint order).
 */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from '../nn/module.js';
import { SNConfig, SNConv2d, SNEmbedding, SNLinear } from '../nn/spectral-norm.js';
import { SelfAttention } from '../nn/attention.js';
import { DiscriminatorModel } from './interfaces.js';
import { BigGANDiscriminatorConfig, BigGANResolution } from './biggan-config.js';
import type { Taps } from './biggan-generator.js';

export interface DArchRow {
  /** Output widths in units of ch (input of block 0 is RGB). */
  widths: readonly number[];
  downsample: readonly boolean[];
  /**
   * Resolution labels that attention strings match. Upstream labels every block of the
   * 32x32 D as 16 (real outputs 16, 8, 8, 8), so D_attn '16' attends after all four.
   */
  labels: readonly number[];
}

/** BigGAN.py D_arch; 512 (absent upstream) follows the paper and compare_gan, with upstream's shortcut rule. */
export const DISCRIMINATOR_ARCH: Record<BigGANResolution, DArchRow> = {
  32: { widths: [4, 4, 4, 4], downsample: [true, true, false, false], labels: [16, 16, 16, 16] },
  64: { widths: [1, 2, 4, 8, 16], downsample: [true, true, true, true, false], labels: [32, 16, 8, 4, 4] },
  128: { widths: [1, 2, 4, 8, 16, 16], downsample: [true, true, true, true, true, false], labels: [64, 32, 16, 8, 4, 4] },
  256: { widths: [1, 2, 4, 8, 8, 16, 16], downsample: [true, true, true, true, true, true, false], labels: [128, 64, 32, 16, 8, 4, 4] },
  512: {
    widths: [1, 1, 2, 4, 8, 8, 16, 16],
    downsample: [true, true, true, true, true, true, true, false],
    labels: [256, 128, 64, 32, 16, 8, 4, 4],
  },
};

export interface DiscriminatorBlockSpec {
  inChannels: number;
  outChannels: number;
  hiddenChannels: number;
  downsample: boolean;
  /** Block 0 sees the raw image: no ReLU first, and its shortcut pools before the 1x1 conv. */
  preactivation: boolean;
  /** Input side length. */
  inResolution: number;
  attention: boolean;
}

export function discriminatorArch(cfg: BigGANDiscriminatorConfig): DiscriminatorBlockSpec[] {
  const row = DISCRIMINATOR_ARCH[cfg.resolution];
  let side = cfg.resolution;
  return row.widths.map((w, i) => {
    const inChannels = i === 0 ? 3 : row.widths[i - 1] * cfg.ch;
    const outChannels = w * cfg.ch;
    const spec = {
      inChannels,
      outChannels,
      hiddenChannels: cfg.wide ? outChannels : inChannels,
      downsample: row.downsample[i],
      preactivation: i > 0,
      inResolution: side,
      attention: cfg.attention.includes(row.labels[i]),
    };
    if (spec.downsample) side /= 2;
    return spec;
  });
}

/** ResBlock down (layers.DBlock). A learned 1x1 shortcut exists when widths change or the block downsamples. */
export class DBlock extends Module {
  conv1: SNConv2d;
  conv2: SNConv2d;
  shortcut?: SNConv2d;
  constructor(
    readonly spec: DiscriminatorBlockSpec,
    sn: SNConfig,
  ) {
    super();
    this.conv1 = new SNConv2d(spec.inChannels, spec.hiddenChannels, 3, sn);
    this.conv2 = new SNConv2d(spec.hiddenChannels, spec.outChannels, 3, sn);
    if (spec.inChannels !== spec.outChannels || spec.downsample) this.shortcut = new SNConv2d(spec.inChannels, spec.outChannels, 1, sn);
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const { spec } = this;
    op.expectShape(x, [null, spec.inChannels, spec.inResolution, spec.inResolution], 'DBlock input');
    let h = spec.preactivation ? op.relu(x) : x;
    h = op.relu(this.conv1.forward(ctx, h));
    // conv2, then pooling (at low resolution when downsampling: SNConv2d.forwardPooled)
    h = spec.downsample ? this.conv2.forwardPooled(ctx, h) : this.conv2.forward(ctx, h);
    // Identity shortcut only for same-width blocks that keep the size. A 1x1 conv and
    // average pooling commute, so the shortcut always pools first (4x fewer FLOPs than upstream's conv-then-pool).
    let skip = x;
    if (this.shortcut) skip = spec.downsample ? this.shortcut.forwardPooled(ctx, x) : this.shortcut.forward(ctx, x);
    return op.add(h, skip);
  }
}

export class BigGANDiscriminator extends Module implements DiscriminatorModel {
  readonly kind = 'biggan' as const;
  readonly resolution: number;
  readonly numClasses: number;
  readonly arch: DiscriminatorBlockSpec[];

  blocks: DBlock[];
  /** attention[i] follows blocks[i] (upstream: blocks.i.1); holes where there is none. */
  attention: (SelfAttention | undefined)[];
  linear: SNLinear;
  embed: SNEmbedding;

  constructor(readonly config: BigGANDiscriminatorConfig) {
    super();
    const sn: SNConfig = { flavour: 'ajbrock', eps: config.snEps };
    this.resolution = config.resolution;
    this.numClasses = config.numClasses;
    this.arch = discriminatorArch(config);
    this.blocks = this.arch.map((spec) => new DBlock(spec, sn));
    this.attention = this.arch.map((spec) => (spec.attention ? new SelfAttention(spec.outChannels, sn) : undefined));
    const features = this.arch[this.arch.length - 1].outChannels;
    this.linear = new SNLinear(features, 1, sn);
    this.embed = new SNEmbedding(config.numClasses, features, sn);
    this.nameParams();
  }

  /** Logits [N, 1]; `taps` (optional) receives 'blocks.i', 'attention.i', 'linear' (the unconditional term). */
  forward(ctx: ForwardContext, images: Tensor, classIds: Tensor, taps?: Taps): Tensor {
    op.expectShape(images, [null, 3, this.resolution, this.resolution], 'discriminator images');
    const n = images.shape[0];
    op.expectShape(classIds, [n], 'discriminator class ids');
    const tap = (name: string, t: Tensor): Tensor => (taps?.set(name, t), t);
    let h = images;
    this.blocks.forEach((block, i) => {
      h = tap(`blocks.${i}`, block.forward(ctx, h));
      const attn = this.attention[i];
      if (attn) h = tap(`attention.${i}`, attn.forward(ctx, h));
    });
    const features = op.reduceSum(op.relu(h), [2, 3]); // global sum pooling, not mean
    const unconditional = tap('linear', this.linear.forward(ctx, features));
    const projection = op.reduceSum(op.mul(this.embed.forward(ctx, classIds), features), [1], true);
    return op.add(unconditional, projection);
  }
}
