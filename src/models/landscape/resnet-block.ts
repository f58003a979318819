/**
 * The ResNet blocks of the GAN-landscape study (Kurach et al. 2019, Table 6; LANDSCAPE.md §1.2):
 *
 *   G block (resample U or none)              D block (resample D or none)
 *   shortcut  [unpool] → Conv3x3 ci→co        Conv3x3 ci→co → [AvgPool 2x2]
 *   main      BN(ci) → ReLU                   [norm(ci)] → ReLU
 *             [unpool] → Conv3x3 ci→co        Conv3x3 ci→co
 *             BN(co) → ReLU                   [norm(co)] → ReLU
 *             Conv3x3 co→co                   Conv3x3 co→co → [AvgPool 2x2]
 *   out       main + shortcut                 main + shortcut
 *
 * The shortcut is always a learned 3x3 conv fed the raw block input, even when ci = co
 * and nothing is resampled. "Unpool" is zero insertion, not nearest-neighbour (the study's
 * code; op.unpoolZeros); G upsamples before its first conv, D pools after its second. The
 * resampling convs run at low resolution (op.unpoolConv2d, op.convAvgPool2d): same maths.
 * G's convs are never spectrally normalised; D's normalisation follows --d-norm (d-layers.ts).
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { Module, ForwardContext } from '../../nn/module.js';
import { Conv2d } from '../../nn/plain-layers.js';
import { SNConfig } from '../../nn/spectral-norm.js';
import { applyGBatchNorm, gBatchNorm, type GBatchNorm } from './g-layers.js';
import { dConv, dNormLayer, type DConv, type DNorm, type DNormLayer } from './d-layers.js';

export class ResNetGBlock extends Module {
  shortcut: Conv2d;
  bn1: GBatchNorm;
  conv1: Conv2d;
  bn2: GBatchNorm;
  conv2: Conv2d;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly up: boolean,
    bnEps: number,
    /** Class-conditional BN over this many classes; null: unconditional. */
    classes: number | null,
  ) {
    super();
    this.shortcut = new Conv2d(inChannels, outChannels, 3);
    this.bn1 = gBatchNorm(inChannels, bnEps, classes);
    this.conv1 = new Conv2d(inChannels, outChannels, 3);
    this.bn2 = gBatchNorm(outChannels, bnEps, classes);
    this.conv2 = new Conv2d(outChannels, outChannels, 3);
  }

  forward(ctx: ForwardContext, x: Tensor, classVector: Tensor | null): Tensor {
    op.expectShape(x, [null, this.inChannels, null, null], 'ResNet G block input');
    const resampled = (conv: Conv2d, t: Tensor): Tensor => (this.up ? conv.forwardUnpooled(ctx, t) : conv.forward(ctx, t));
    const skip = resampled(this.shortcut, x);
    let h = resampled(this.conv1, op.relu(applyGBatchNorm(this.bn1, ctx, x, classVector)));
    h = this.conv2.forward(ctx, op.relu(applyGBatchNorm(this.bn2, ctx, h, classVector)));
    return op.add(h, skip);
  }
}

export class ResNetDBlock extends Module {
  shortcut: DConv;
  norm1?: DNormLayer;
  conv1: DConv;
  norm2?: DNormLayer;
  conv2: DConv;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly down: boolean,
    norm: DNorm,
    sn: SNConfig,
  ) {
    super();
    this.shortcut = dConv(norm, sn, inChannels, outChannels, 3);
    this.norm1 = dNormLayer(norm, inChannels);
    this.conv1 = dConv(norm, sn, inChannels, outChannels, 3);
    this.norm2 = dNormLayer(norm, outChannels);
    this.conv2 = dConv(norm, sn, outChannels, outChannels, 3);
  }

  forward(ctx: ForwardContext, x: Tensor): Tensor {
    op.expectShape(x, [null, this.inChannels, null, null], 'ResNet D block input');
    // low resolution at every width: faster in D's training step (nn/resampling.ts pooledConv)
    const resampled = (conv: DConv, t: Tensor): Tensor => (this.down ? conv.forwardPooled(ctx, t, 'low-resolution') : conv.forward(ctx, t));
    const normed = (norm: DNormLayer | undefined, t: Tensor): Tensor => (norm ? norm.forward(ctx, t) : t);
    const skip = resampled(this.shortcut, x);
    let h = this.conv1.forward(ctx, op.relu(normed(this.norm1, x)));
    h = resampled(this.conv2, op.relu(normed(this.norm2, h)));
    return op.add(h, skip);
  }
}
