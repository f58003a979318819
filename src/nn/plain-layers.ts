/**
 * Linear, convolution, transposed-convolution and embedding layers without spectral
 * normalisation: the GAN-landscape generators (whose layers are never normalised) and
 * their discriminators under --d-norm none / batch / layer. Parameter names follow
 * torch's (weight, bias); shapes are torch's: Linear [out, in], Conv2d [out, in, k, k],
 * ConvTranspose2d [in, out, k, k], Embedding [rows, dim].
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from './module.js';
import { pooledConv, stridedOrPlainConv, type PooledForm } from './resampling.js';

export class Linear extends Module {
  weight: Param;
  bias: Param;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
    this.weight = Param.zeros('weight', [outFeatures, inFeatures]);
    this.bias = Param.zeros('bias', [outFeatures]);
  }
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    op.expectLastDim(x, this.inFeatures, 'Linear input');
    const g = x.graph;
    return op.add(op.matmul(x, op.transpose(g.param(this.weight), [1, 0])), g.param(this.bias));
  }
}

export class Conv2d extends Module {
  weight: Param;
  bias: Param;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    /** 2 halves the size (with a 4x4 kernel: pad 1, TF "SAME"); padding is (kernel - stride) / 2. */
    readonly stride: 1 | 2 = 1,
  ) {
    super();
    if ((kernel - stride) % 2 !== 0) throw new Error(`Conv2d: kernel ${kernel} with stride ${stride} has no symmetric "same" padding`);
    this.weight = Param.zeros('weight', [outChannels, inChannels, kernel, kernel]);
    this.bias = Param.zeros('bias', [outChannels]);
  }
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    const g = x.graph;
    return stridedOrPlainConv(x, g.param(this.weight), g.param(this.bias), this.kernel, this.stride);
  }
  /** The conv of x zero-insertion-upsampled 2x (op.unpoolZeros), computed at low resolution (3x3 only). */
  forwardUnpooled(_ctx: ForwardContext, x: Tensor): Tensor {
    const g = x.graph;
    return op.unpoolConv2d(x, g.param(this.weight), g.param(this.bias));
  }
  /** The conv of x, average-pooled 2x2 (at low resolution where that pays: nn/resampling.ts). */
  forwardPooled(_ctx: ForwardContext, x: Tensor, form: PooledForm = 'auto'): Tensor {
    if (this.stride !== 1) throw new Error('Conv2d: resampling forms are for stride-1 convs');
    const g = x.graph;
    return pooledConv(x, g.param(this.weight), g.param(this.bias), form);
  }
}

/** Transposed convolution, "same" padding: stride 1 with an odd kernel, or a 4x4 kernel with stride 2 (doubles the size). */
export class ConvTranspose2d extends Module {
  weight: Param;
  bias: Param;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride: 1 | 2,
  ) {
    super();
    this.weight = Param.zeros('weight', [inChannels, outChannels, kernel, kernel]);
    this.bias = Param.zeros('bias', [outChannels]);
  }
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    op.expectShape(x, [null, this.inChannels, null, null], 'ConvTranspose2d input');
    const g = x.graph;
    return op.transposedConv2d(x, g.param(this.weight), g.param(this.bias), this.stride);
  }
}

/** A plain lookup table: rows picked by int64 ids. */
export class Embedding extends Module {
  weight: Param;
  constructor(
    readonly rows: number,
    readonly dim: number,
  ) {
    super();
    this.weight = Param.zeros('weight', [rows, dim]);
  }
  forward(_ctx: ForwardContext, ids: Tensor): Tensor {
    return op.gather(ids.graph.param(this.weight), ids, 0);
  }
}
