/** Softmax over one axis. */
import { Tensor } from '../graph.js';
import { registerVjp } from '../vjp-registry.js';
import { mul, sub } from './elementwise.js';
import { reduceSum } from './reduce.js';

export function softmax(x: Tensor, axis = -1): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  return x.graph.addNode('Softmax', [x], { axis: ax }, [{ shape: x.shape, dtype: x.dtype }])[0];
}

registerVjp('Softmax', (node, [dy]) => {
  if (!dy) return [undefined];
  const y = node.outputs[0];
  const ax = node.attrs.axis as number;
  return [mul(y, sub(dy, reduceSum(mul(dy, y), [ax], true)))];
});
