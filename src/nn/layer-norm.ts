/**
 * Layer normalisation of a feature map as the GAN-landscape study's discriminators use it
 * (tf.contrib.layers.layer_norm with its defaults, begin_norm_axis 1, begin_params_axis -1):
 * each sample normalised by the mean and biased variance over all of C, H and W jointly,
 * then a learned per-channel gain (init 1) and bias (init 0). No running statistics: the
 * same in training and evaluation.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from './module.js';

/** TF-contrib layer_norm's variance epsilon (compare_gan never sets it). */
export const LAYER_NORM_EPS = 1e-12;

/** (x - mean) / sqrt(var + eps) per sample over C, H, W, times gain [C], plus bias [C]. */
export function layerNorm(x: Tensor, gain: Tensor, bias: Tensor, eps: number): Tensor {
  const axes = [1, 2, 3];
  const centred = op.sub(x, op.reduceMean(x, axes, true));
  const variance = op.reduceMean(op.square(centred), axes, true);
  const shape = [1, x.shape[1], 1, 1];
  return op.add(op.mul(op.div(centred, op.sqrt(op.add(variance, eps))), op.reshape(gain, shape)), op.reshape(bias, shape));
}

export class LayerNorm extends Module {
  gain: Param;
  bias: Param;
  constructor(
    readonly channels: number,
    readonly eps = LAYER_NORM_EPS,
  ) {
    super();
    this.gain = Param.filled('gain', [channels], 1);
    this.bias = Param.zeros('bias', [channels]);
  }
  forward(_ctx: ForwardContext, x: Tensor): Tensor {
    op.expectShape(x, [null, this.channels, null, null], 'LayerNorm input');
    const g = x.graph;
    return layerNorm(x, g.param(this.gain), g.param(this.bias), this.eps);
  }
}
