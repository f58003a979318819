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

/** Which form a pooled conv takes: by the measured channel threshold, or always at low resolution. */
export type PooledForm = 'auto' | 'low-resolution';

/** conv(upsampleNearest(x, 2)) with "same" padding. */
export function upsampledConv(x: Tensor, W: Tensor, bias: Tensor | undefined): Tensor {
  if (W.shape[2] === 3 && x.shape[1] < 128) return op.conv2d(op.upsampleNearest(x, 2), W, bias, { pad: 1 });
  return op.upsampleConv2d(x, W, bias);
}

/**
 * avgPool2d(conv(x), 2) with "same" padding. `form` 'low-resolution' takes the low-resolution form
 * at every width: in the GAN-landscape ResNet D's training step it measured faster there too
 * (ResNet19 128x128, batch 64, 2 threads: 33-38 s against 56-70 s per D step; README's landscape
 * benchmark), while BigGAN keeps the threshold it was measured with.
 */
export function pooledConv(x: Tensor, W: Tensor, bias: Tensor | undefined, form: PooledForm = 'auto'): Tensor {
  if (form === 'auto' && W.shape[2] === 3 && x.shape[1] < 128) return op.avgPool2d(op.conv2d(x, W, bias, { pad: 1 }), 2);
  return op.convAvgPool2d(x, W, bias);
}

/**
 * A "same"-padded conv of stride 1 or 2; a 4x4 stride-2 one as op.stridedConv2d (subgrid convs
 * whose backward avoids ConvTranspose: SNDCGAN D's step measured faster, see bench/landscape.ts).
 */
export function stridedOrPlainConv(x: Tensor, W: Tensor, bias: Tensor | undefined, kernel: number, stride: 1 | 2): Tensor {
  if (stride === 2 && kernel === 4) return op.stridedConv2d(x, W, bias);
  return op.conv2d(x, W, bias, { pad: (kernel - stride) / 2, stride });
}
