/**
 * Spectrally normalised linear, conv and embedding layers, W / sigma(W), in the two
 * flavours the reference checkpoints use:
 *  - 'torch'   (torch.nn.utils.spectral_norm, pytorch-pretrained-BigGAN): stored u [out]
 *              and v [in]; eval uses sigma = u . (W v) with no power iteration.
 *  - 'ajbrock' (BigGAN-PyTorch layers.SN): stored u [1, out]; every forward, eval too,
 *              runs one power iteration from u; sv (sigma) is written in training only.
 * In both, u and v are constants for the gradient and sigma carries the gradient to W.
 */
import { Graph, Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from './module.js';
import { numel } from '../io/ndarray.js';
import { pooledConv, stridedOrPlainConv, upsampledConv, type PooledForm } from './resampling.js';

export type SNFlavour = 'torch' | 'ajbrock';

export interface SNConfig {
  flavour: SNFlavour;
  /** Clamp in normalize(x) = x / max(|x|, eps). */
  eps: number;
}

/** x / max(||x||, eps) over all elements (x is a row or column vector). */
function normalize(x: Tensor, eps: number): Tensor {
  const norm = op.sqrt(op.reduceSum(op.square(x), [...x.shape.keys()], true));
  return op.div(x, op.maximum(norm, eps));
}

/** The weight, its SN buffers, and the normalised weight as a graph value. */
export class SpectralWeight extends Module {
  weight: Param;
  /** torch: [out]; ajbrock: [1, out] */
  sn_u: Param;
  /** torch flavour only: [in * kh * kw] */
  sn_v?: Param;
  /** ajbrock flavour only: last sigma [1] (logging; never used in the forward pass) */
  sn_sigma?: Param;

  constructor(
    shape: number[],
    readonly sn: SNConfig,
  ) {
    super();
    const out = shape[0];
    const rest = numel(shape) / out;
    this.weight = Param.zeros('weight', shape);
    if (sn.flavour === 'torch') {
      this.sn_u = unitVector('sn_u', [out]);
      this.sn_v = unitVector('sn_v', [rest]);
    } else {
      this.sn_u = unitVector('sn_u', [1, out]);
      this.sn_sigma = Param.filled('sn_sigma', [1], 1, false);
    }
  }

  /** sigma(W) as a [1, 1] tensor; in training the power-iteration results go to ctx.updates. */
  sigma(g: Graph, ctx: ForwardContext): Tensor {
    const out = this.weight.shape[0];
    const W = g.param(this.weight);
    const Wm = op.reshape(W, [out, -1]);
    const Wc = op.stopGradient(Wm);
    const eps = this.sn.eps;
    if (this.sn.flavour === 'ajbrock') {
      const u0 = g.param(this.sn_u);
      const v = op.stopGradient(normalize(op.matmul(u0, Wc), eps)); // [1, in]
      const u = op.stopGradient(normalize(op.matmul(v, op.transpose(Wc, [1, 0])), eps)); // [1, out]
      const sigma = op.reduceSum(op.mul(op.matmul(v, op.transpose(Wm, [1, 0])), u), [1], true); // [1, 1]
      if (ctx.training) {
        ctx.updates.set(this.sn_u, u);
        ctx.updates.set(this.sn_sigma!, op.reshape(op.stopGradient(sigma), [1]));
      }
      return sigma;
    }
    let u = op.reshape(g.param(this.sn_u), [out, 1]);
    let v = op.reshape(g.param(this.sn_v!), [-1, 1]);
    if (ctx.training) {
      // torch: v = normalize(W^T u), u = normalize(W v), one iteration per training forward
      v = op.stopGradient(normalize(op.matmul(op.transpose(Wc, [1, 0]), u), eps));
      u = op.stopGradient(normalize(op.matmul(Wc, v), eps));
      ctx.updates.set(this.sn_u, op.reshape(u, [out]));
      ctx.updates.set(this.sn_v!, op.reshape(v, [-1]));
    }
    return op.reduceSum(op.mul(u, op.matmul(Wm, v)), [0], true); // [1, 1]
  }

  normalized(g: Graph, ctx: ForwardContext): Tensor {
    const s = this.sigma(g, ctx);
    ctx.sigmas?.set(this.weight, s);
    const sigma = op.reshape(s, this.weight.shape.map(() => 1));
    return op.div(g.param(this.weight), sigma);
  }
}

function unitVector(name: string, shape: number[]): Param {
  // A fixed, non-degenerate start for the power iteration of fresh models.
  return Param.filled(name, shape, 1 / Math.sqrt(numel(shape)), false);
}

export class SNLinear extends Module {
  w: SpectralWeight;
  bias?: Param;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    sn: SNConfig,
    withBias = true,
  ) {
    super();
    this.w = new SpectralWeight([outFeatures, inFeatures], sn);
    if (withBias) this.bias = Param.zeros('bias', [outFeatures]);
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    op.expectLastDim(x, this.inFeatures, 'SNLinear input');
    const W = this.w.normalized(x.graph, ctx);
    const y = op.matmul(x, op.transpose(W, [1, 0]));
    return this.bias ? op.add(y, x.graph.param(this.bias)) : y;
  }
}

export class SNConv2d extends Module {
  w: SpectralWeight;
  bias?: Param;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    sn: SNConfig,
    withBias = true,
    /** 2 halves the size (with a 4x4 kernel: pad 1, TF "SAME"); padding is (kernel - stride) / 2. */
    readonly stride: 1 | 2 = 1,
  ) {
    super();
    if ((kernel - stride) % 2 !== 0) throw new Error(`SNConv2d: kernel ${kernel} with stride ${stride} has no symmetric "same" padding`);
    this.w = new SpectralWeight([outChannels, inChannels, kernel, kernel], sn);
    if (withBias) this.bias = Param.zeros('bias', [outChannels]);
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    const g = x.graph;
    const W = this.w.normalized(g, ctx);
    return stridedOrPlainConv(x, W, this.bias ? g.param(this.bias) : undefined, this.kernel, this.stride);
  }
  /** The conv of x upsampled 2x (nearest), at low resolution where that pays (nn/resampling.ts). */
  forwardUpsampled(ctx: ForwardContext, x: Tensor): Tensor {
    this.checkUnstrided();
    const g = x.graph;
    return upsampledConv(x, this.w.normalized(g, ctx), this.bias ? g.param(this.bias) : undefined);
  }
  /** The conv of x, average-pooled 2x2, at low resolution where that pays (nn/resampling.ts). */
  forwardPooled(ctx: ForwardContext, x: Tensor, form: PooledForm = 'auto'): Tensor {
    this.checkUnstrided();
    const g = x.graph;
    return pooledConv(x, this.w.normalized(g, ctx), this.bias ? g.param(this.bias) : undefined, form);
  }
  private checkUnstrided(): void {
    if (this.stride !== 1) throw new Error('SNConv2d: resampling forms are for stride-1 convs');
  }
}

/** Embedding table normalised as a whole ([rows, dim], u over rows), then rows gathered. */
export class SNEmbedding extends Module {
  w: SpectralWeight;
  constructor(
    readonly rows: number,
    readonly dim: number,
    sn: SNConfig,
  ) {
    super();
    this.w = new SpectralWeight([rows, dim], sn);
  }
  forward(ctx: ForwardContext, ids: Tensor): Tensor {
    return op.gather(this.w.normalized(ids.graph, ctx), ids, 0);
  }
}
