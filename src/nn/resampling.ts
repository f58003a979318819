/**
 * Which form of a resampling convolution to build, shared by the spectrally normalised and
 * the plain conv layers. The low-resolution forms (ops/conv.ts) save FLOPs, but below 128
 * input channels onnxruntime's 2x2 phase / subgrid convs and the DepthToSpace after them
 * cost more than they save (measured on BigGAN-deep-128's 64-channel layer at 128x128), so
 * 3x3 convs over fewer channels keep the plain form. 1x1 convs always commute with the
 * resampling.
 */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';

/** conv(upsampleNearest(x, 2)) with "same" padding. */
export function upsampledConv(x: Tensor, W: Tensor, bias: Tensor | undefined): Tensor {
  if (W.shape[2] === 3 && x.shape[1] < 128) return op.conv2d(op.upsampleNearest(x, 2), W, bias, { pad: 1 });
  return op.upsampleConv2d(x, W, bias);
}

/** avgPool2d(conv(x), 2) with "same" padding. */
export function pooledConv(x: Tensor, W: Tensor, bias: Tensor | undefined): Tensor {
  if (W.shape[2] === 3 && x.shape[1] < 128) return op.avgPool2d(op.conv2d(x, W, bias, { pad: 1 }), 2);
  return op.convAvgPool2d(x, W, bias);
}
