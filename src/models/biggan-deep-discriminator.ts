/**
 * BigGAN-deep discriminator (ARCHITECTURES.md §2.4, §4.2; BigGAN-PyTorch BigGANdeep.py
 * D = compare_gan's deep D): an RGB stem conv 3→ch, then stages of
 * [down block in→out, plain block out→out] mirroring the generator, self-attention
 * at 64×64, and a projection head on globally sum-pooled features.
 *
 * Bottleneck width is out/4 and the skip adds channels by concatenating a learned
 * 1×1 conv of the input (no channel-changing conv on the identity). With these,
 * 128×128 at ch 128 has 34,590,210 parameters, the figure compare_gan's test asserts
 * (256: 38,247,426; 512: 38,301,122); an in/4 bottleneck would give 28,844,130.
 */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from '../nn/module.js';
import { SNConfig, SNConv2d, SNEmbedding, SNLinear } from '../nn/spectral-norm.js';
import { SelfAttention } from '../nn/attention.js';
import { UserError } from '../errors.js';
import { DiscriminatorModel } from './interfaces.js';

/** One D stage: [downsample, in multiple, out multiple] of ch; it holds two blocks. */
export type DeepDStage = [down: boolean, inMult: number, outMult: number];

const T = true;
const F = false;

/** Per resolution: stem width (multiple of ch) and stages (§4.2; 32/64 from BigGAN-PyTorch). */
export const DEEP_D_ARCH: Readonly<Record<number, { stem: number; stages: readonly DeepDStage[] }>> = {
  32: { stem: 4, stages: [[T, 4, 4], [T, 4, 4], [F, 4, 4]] },
  64: { stem: 1, stages: [[T, 1, 2], [T, 2, 4], [T, 4, 8], [T, 8, 16]] },
  128: { stem: 1, stages: [[T, 1, 2], [T, 2, 4], [T, 4, 8], [T, 8, 16], [T, 16, 16]] },
  256: { stem: 1, stages: [[T, 1, 2], [T, 2, 4], [T, 4, 8], [T, 8, 8], [T, 8, 16], [T, 16, 16]] },
  512: { stem: 1, stages: [[T, 1, 1], [T, 1, 2], [T, 2, 4], [T, 4, 8], [T, 8, 8], [T, 8, 16], [T, 16, 16]] },
};

/** BigGAN-deep D block: pre-activated bottleneck; the skip pools and, when widening, appends conv channels. */
export class DeepDBlock extends Module {
  conv1: SNConv2d;
  conv2: SNConv2d;
  conv3: SNConv2d;
  conv4: SNConv2d;
  /** 1×1 conv in → out−in whose output is appended to the skip (only when out > in). */
  shortcut?: SNConv2d;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly down: boolean,
    sn: SNConfig,
  ) {
    super();
    if (outChannels < inChannels) throw new Error(`DeepDBlock: out ${outChannels} < in ${inChannels} (D only widens)`);
    const mid = outChannels / 4;
    this.conv1 = new SNConv2d(inChannels, mid, 1, sn);
    this.conv2 = new SNConv2d(mid, mid, 3, sn);
    this.conv3 = new SNConv2d(mid, mid, 3, sn);
    this.conv4 = new SNConv2d(mid, outChannels, 1, sn);
    if (outChannels > inChannels) this.shortcut = new SNConv2d(inChannels, outChannels - inChannels, 1, sn);
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    op.expectShape(x, [null, this.inChannels, null, null], 'DeepDBlock input');
    let h = this.conv1.forward(ctx, op.relu(x));
    h = this.conv2.forward(ctx, op.relu(h));
    h = this.conv3.forward(ctx, op.relu(h));
    h = op.relu(h);
    if (this.down) h = op.avgPool2d(h, 2);
    h = this.conv4.forward(ctx, h);
    let skip = this.down ? op.avgPool2d(x, 2) : x;
    if (this.shortcut) skip = op.concat([skip, this.shortcut.forward(ctx, skip)], 1);
    return op.add(h, skip);
  }
}

export interface DeepDiscriminatorOptions {
  resolution: number;
  /** Width multiplier ch (BigGAN-deep: 128). */
  channelWidth?: number;
  numClasses?: number;
  /** SN flavour and eps (default BigGAN-PyTorch style with the paper's eps 1e-4). */
  sn?: SNConfig;
  /** Output resolutions of stages followed by self-attention (default [64]; [] for none). */
  attentionResolutions?: number[];
}

export class BigGanDeepDiscriminator extends Module implements DiscriminatorModel {
  readonly kind = 'biggan-deep' as const;
  readonly resolution: number;
  readonly numClasses: number;
  readonly channelWidth: number;
  /** Index of the block after which attention runs (when present). */
  readonly attentionAfter: number | null = null;

  stem: SNConv2d;
  blocks: DeepDBlock[] = [];
  attention?: SelfAttention;
  linear: SNLinear;
  embed: SNEmbedding;

  constructor(readonly options: DeepDiscriminatorOptions) {
    super();
    const opts = options;
    const arch = DEEP_D_ARCH[opts.resolution];
    if (!arch) throw new UserError(`no BigGAN-deep discriminator for resolution ${opts.resolution} (have ${Object.keys(DEEP_D_ARCH).join(', ')})`);
    const ch = opts.channelWidth ?? 128;
    if (!Number.isInteger(ch) || ch < 1 || ch % 4 !== 0) throw new UserError(`discriminator channel width must be a positive multiple of 4, got ${ch}`);
    const sn = opts.sn ?? { flavour: 'ajbrock', eps: 1e-4 };
    const attnRes = opts.attentionResolutions ?? [64];
    this.resolution = opts.resolution;
    this.numClasses = opts.numClasses ?? 1000;
    this.channelWidth = ch;

    this.stem = new SNConv2d(3, arch.stem * ch, 3, sn);
    let res = opts.resolution;
    for (const [down, a, b] of arch.stages) {
      this.blocks.push(new DeepDBlock(a * ch, b * ch, down, sn), new DeepDBlock(b * ch, b * ch, false, sn));
      if (down) res /= 2;
      if (attnRes.includes(res) && !this.attention) {
        this.attention = new SelfAttention(b * ch, sn);
        this.attentionAfter = this.blocks.length - 1;
      }
    }
    const width = arch.stages[arch.stages.length - 1][2] * ch;
    this.linear = new SNLinear(width, 1, sn);
    this.embed = new SNEmbedding(this.numClasses, width, sn);
    this.nameParams();
  }

  /** Pooled features [N, 16ch] before the head (for feature-matching or probes). */
  features(ctx: ForwardContext, images: Tensor): Tensor {
    op.expectShape(images, [null, 3, this.resolution, this.resolution], 'discriminator images');
    let h = this.stem.forward(ctx, images);
    this.blocks.forEach((block, i) => {
      h = block.forward(ctx, h);
      if (this.attention && i === this.attentionAfter) h = this.attention.forward(ctx, h);
    });
    // global sum pooling (not mean), as in BigGAN
    return op.reduceSum(op.relu(h), [2, 3]);
  }

  forward(ctx: ForwardContext, images: Tensor, classIds: Tensor): Tensor {
    const n = images.shape[0];
    op.expectShape(classIds, [n], 'discriminator class ids');
    const h = this.features(ctx, images);
    // projection discriminator: linear(h) + <E(y), h>
    const proj = op.reduceSum(op.mul(this.embed.forward(ctx, classIds), h), [1], true);
    const logits = op.add(this.linear.forward(ctx, h), proj);
    op.expectShape(logits, [n, 1], 'discriminator logits');
    return logits;
  }
}
