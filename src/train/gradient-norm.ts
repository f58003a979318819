/** The global L2 norm of a set of gradients (for logging; one scalar per network). */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';

export function globalNorm(grads: Tensor[]): Tensor {
  if (grads.length === 0) throw new Error('globalNorm of no tensors');
  let sum: Tensor | null = null;
  for (const g of grads) {
    const sq = op.reduceSum(op.square(g), [...g.shape.keys()]);
    sum = sum ? op.add(sum, sq) : sq;
  }
  return op.sqrt(sum!);
}
