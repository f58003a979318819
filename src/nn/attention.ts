/**
 * SA-GAN self-attention (paper: non-local block): theta/phi at C/8, g at C/2,
 * phi and g max-pooled 2x2, softmax over keys, no 1/sqrt(d) scaling, and a learned
 * gamma (initialised to 0) scaling the residual. Reduced widths are floor(C/8) and
 * floor(C/2), as the reference code's integer division gives for any C.
 */
import { UserError } from '../errors.js';
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from './module.js';
import { SNConfig, SNConv2d } from './spectral-norm.js';

export class SelfAttention extends Module {
  theta: SNConv2d;
  phi: SNConv2d;
  g: SNConv2d;
  o: SNConv2d;
  gamma: Param;
  private readonly keyDim: number;
  private readonly valueDim: number;
  constructor(
    readonly channels: number,
    sn: SNConfig,
    /** [] in BigGAN-PyTorch checkpoints, [1] in pytorch-pretrained-BigGAN. */
    gammaShape: number[] = [],
  ) {
    super();
    if (channels < 8) throw new UserError(`self-attention needs at least 8 channels, the config gives it ${channels}`);
    this.keyDim = Math.floor(channels / 8);
    this.valueDim = Math.floor(channels / 2);
    this.theta = new SNConv2d(channels, this.keyDim, 1, sn, false);
    this.phi = new SNConv2d(channels, this.keyDim, 1, sn, false);
    this.g = new SNConv2d(channels, this.valueDim, 1, sn, false);
    this.o = new SNConv2d(this.valueDim, channels, 1, sn, false);
    this.gamma = Param.zeros('gamma', gammaShape);
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    op.expectShape(x, [null, this.channels, null, null], 'SelfAttention input');
    const [n, , h, w] = x.shape;
    const { keyDim: k, valueDim: v } = this;
    const theta = op.reshape(this.theta.forward(ctx, x), [n, k, h * w]);
    const phi = op.reshape(op.maxPool2d(this.phi.forward(ctx, x), 2), [n, k, (h * w) / 4]);
    const g = op.reshape(op.maxPool2d(this.g.forward(ctx, x), 2), [n, v, (h * w) / 4]);
    const beta = op.softmax(op.matmul(op.transpose(theta, [0, 2, 1]), phi), -1); // [n, hw, hw/4]
    // (beta gᵀ)ᵀ rather than g betaᵀ: the same products, but the backward pass gets d beta in
    // beta's own layout instead of transposing the [n, hw, hw/4] map (268 MB for D at 64x64, batch 16)
    const attended = op.reshape(op.transpose(op.matmul(beta, op.transpose(g, [0, 2, 1])), [0, 2, 1]), [n, v, h, w]);
    const o = this.o.forward(ctx, attended);
    return op.add(x, op.mul(op.reshape(x.graph.param(this.gamma), [1]), o));
  }
}
