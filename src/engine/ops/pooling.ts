/** Pooling and nearest-neighbour resizing (NCHW). */
import { Tensor } from '../graph.js';
import { registerVjp } from '../vjp-registry.js';
import { div } from './elementwise.js';
import { reduceSum } from './reduce.js';
import { concat, depthToSpace, reshape, scatterElementsAdd, zeros } from './shape.js';

function pooledSize(h: number, k: number, s: number, p: number): number {
  return Math.floor((h + 2 * p - k) / s) + 1;
}

export interface PoolOptions {
  stride?: number;
  pad?: number;
  /** AveragePool only: divide by the window size including padding (torch default true). */
  countIncludePad?: boolean;
}

export function avgPool2d(x: Tensor, k: number, opts: PoolOptions = {}): Tensor {
  const s = opts.stride ?? k;
  const p = opts.pad ?? 0;
  const [n, c, h, w] = x.shape;
  return x.graph.addNode(
    'AveragePool',
    [x],
    { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], count_include_pad: opts.countIncludePad === false ? 0 : 1 },
    [{ shape: [n, c, pooledSize(h, k, s, p), pooledSize(w, k, s, p)], dtype: x.dtype }],
  )[0];
}

export function maxPool2d(x: Tensor, k: number, opts: PoolOptions = {}): Tensor {
  const s = opts.stride ?? k;
  const p = opts.pad ?? 0;
  const [n, c, h, w] = x.shape;
  return x.graph.addNode('MaxPool', [x], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] }, [
    { shape: [n, c, pooledSize(h, k, s, p), pooledSize(w, k, s, p)], dtype: x.dtype },
  ])[0];
}

/** Nearest-neighbour upsampling by an integer factor (torch F.interpolate(scale_factor=f)). */
export function upsampleNearest(x: Tensor, factor = 2): Tensor {
  const [n, c, h, w] = x.shape;
  const g = x.graph;
  const roi = g.constant({ dtype: 'float32', shape: [0], data: new Float32Array(0) });
  const scales = g.floats([1, 1, factor, factor], [4]);
  return g.addNode('Resize', [x, roi, scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [
    { shape: [n, c, h * factor, w * factor], dtype: x.dtype },
  ])[0];
}

/**
 * Zero-insertion 2x upsampling, the "unpool" of the GAN-landscape ResNets (compare_gan, after
 * tensorflow issue 2169): out[2i, 2j] = x[i, j] and the other three pixels of every 2x2 cell are
 * 0 (not nearest-neighbour). x is DepthToSpace's first channel block, zeros the other three.
 */
export function unpoolZeros(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  if (x.rank !== 4) throw new Error(`unpoolZeros: ${x} is not NCHW`);
  return depthToSpace(concat([x, zeros(x.graph, [n, 3 * c, h, w])], 1), 2);
}

// ---- gradients ----

registerVjp('Resize', (node, [dy]) => {
  if (!dy) return [undefined, undefined, undefined];
  const [n, c, h, w] = node.inputs[0].shape;
  const f = dy.shape[2] / h;
  // each input pixel was copied into an f x f block: sum the block
  return [reduceSum(reshape(dy, [n, c, h, f, w, f]), [3, 5]), undefined, undefined];
});

registerVjp('AveragePool', (node, [dy]) => {
  if (!dy) return [undefined];
  const [k] = node.attrs.kernel_shape as number[];
  const [s] = node.attrs.strides as number[];
  const [p] = node.attrs.pads as number[];
  const x = node.inputs[0];
  if (k !== s || p !== 0 || x.shape[2] % k !== 0 || x.shape[3] % k !== 0) {
    throw new Error('AveragePool: gradient only for non-overlapping, unpadded windows');
  }
  // divide before upsampling: the same values, and no second full-size tensor
  return [upsampleNearest(div(dy, k * k), k)];
});

registerVjp('MaxPool', (node, [dy]) => {
  if (!dy) return [undefined];
  const x = node.inputs[0];
  const g = x.graph;
  // Recompute the pool with argmax indices (flat NCHW offsets): the gradient goes to the
  // first maximum of each window, as in torch.
  const [, idx] = g.addNode('MaxPool', [x], { ...node.attrs }, [
    { shape: dy.shape, dtype: x.dtype },
    { shape: dy.shape, dtype: 'int64' },
  ]);
  const scattered = scatterElementsAdd(zeros(g, [x.size]), reshape(idx, [dy.size]), reshape(dy, [dy.size]), 0);
  return [reshape(scattered, [...x.shape])];
});
