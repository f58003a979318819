/** Matrix products (numpy matmul semantics, batched over leading axes). */
import { Tensor } from '../graph.js';
import { broadcastShapes } from '../broadcast.js';
import { registerVjp } from '../vjp-registry.js';
import { sumTo } from './reduce.js';
import { transpose } from './shape.js';

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: ${a} and ${b} must be at least 2-d`);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${a} @ ${b}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  return a.graph.addNode('MatMul', [a, b], {}, [{ shape: [...batch, m, n], dtype: a.dtype }])[0];
}

/** Swaps the last two axes. */
export function transposeLast2(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return transpose(x, perm);
}

registerVjp('MatMul', (n, [dy]) => {
  if (!dy) return [undefined, undefined];
  const [a, b] = n.inputs;
  return [sumTo(matmul(dy, transposeLast2(b)), a.shape), sumTo(matmul(transposeLast2(a), dy), b.shape)];
});
