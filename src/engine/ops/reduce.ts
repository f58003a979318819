/** Reductions over axes. */
import { Tensor } from '../graph.js';
import { registerVjp } from '../vjp-registry.js';
import { broadcastAxes } from '../broadcast.js';
import { expand, reshape } from './shape.js';
import { div } from './elementwise.js';

function normAxes(x: Tensor, axes: readonly number[]): number[] {
  return axes.map((a) => {
    const ax = a < 0 ? a + x.rank : a;
    if (ax < 0 || ax >= x.rank) throw new Error(`reduce: axis ${a} out of range for ${x}`);
    return ax;
  });
}

function reducedShape(x: Tensor, axes: number[], keepdims: boolean): number[] {
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

export function reduceSum(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  const ax = normAxes(x, axes);
  // no axes = no reduction (numpy); ONNX would reduce over every axis instead
  if (ax.length === 0) return x;
  // opset 13+: ReduceSum takes axes as an input
  return x.graph.addNode('ReduceSum', [x, x.graph.ints(ax)], { keepdims: keepdims ? 1 : 0 }, [
    { shape: reducedShape(x, ax, keepdims), dtype: x.dtype },
  ])[0];
}

export function reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  const ax = normAxes(x, axes);
  if (ax.length === 0) return x;
  // opset 17: ReduceMean still takes axes as an attribute
  return x.graph.addNode('ReduceMean', [x], { axes: ax, keepdims: keepdims ? 1 : 0 }, [
    { shape: reducedShape(x, ax, keepdims), dtype: x.dtype },
  ])[0];
}

export function reduceMax(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  const ax = normAxes(x, axes);
  if (ax.length === 0) return x;
  return x.graph.addNode('ReduceMax', [x], { axes: ax, keepdims: keepdims ? 1 : 0 }, [
    { shape: reducedShape(x, ax, keepdims), dtype: x.dtype },
  ])[0];
}

/** Sums a broadcast gradient back down to `shape` (the inverse of broadcasting). */
export function sumTo(dy: Tensor, shape: readonly number[]): Tensor {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const axes = broadcastAxes(dy.shape, shape);
  const summed = axes.length ? reduceSum(dy, axes, true) : dy;
  return reshape(summed, [...shape]);
}

function keptShape(n: { inputs: Tensor[] }, axes: number[]): number[] {
  return n.inputs[0].shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

registerVjp('ReduceSum', (n, [dy]) => {
  if (!dy) return [undefined, undefined];
  const x = n.inputs[0];
  const axes = [...(n.inputs[1].constData!.data as BigInt64Array)].map(Number);
  return [expand(reshape(dy, keptShape(n, axes)), [...x.shape]), undefined];
});
registerVjp('ReduceMean', (n, [dy]) => {
  if (!dy) return [undefined];
  const x = n.inputs[0];
  const axes = n.attrs.axes as number[];
  const count = axes.reduce((c, a) => c * x.shape[a], 1);
  // divide the reduced gradient, then broadcast: one full-size tensor instead of two
  return [expand(div(reshape(dy, keptShape(n, axes)), count), [...x.shape])];
});
registerVjp('ReduceMax', (n, [dy]) => {
  if (!dy) return [undefined];
  throw new Error('ReduceMax: no gradient rule (not needed by the BigGAN family)');
});
