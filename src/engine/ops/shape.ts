/** Shape manipulation: reshape, transpose, concat, slice, gather, gather/scatter elements, expand, pad. */
import { Tensor } from '../graph.js';
import { numel, shapeToString } from '../../io/ndarray.js';
import { registerVjp } from '../vjp-registry.js';
import { broadcastShapes } from '../broadcast.js';
import { sumTo } from './reduce.js';
import { matmul } from './matmul.js';

/** Reshape; one dimension may be -1. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const minus = shape.length - known.length;
  if (minus > 1) throw new Error(`reshape ${x}: more than one -1 in ${shapeToString(shape)}`);
  const out = [...shape];
  if (minus === 1) {
    const k = numel(known);
    if (k === 0 || x.size % k !== 0) throw new Error(`reshape ${x} to ${shapeToString(shape)}: sizes do not divide`);
    out[out.indexOf(-1)] = x.size / k;
  }
  if (numel(out) !== x.size) throw new Error(`reshape ${x} to ${shapeToString(shape)}: ${x.size} elements vs ${numel(out)}`);
  if (out.length === x.rank && out.every((d, i) => d === x.shape[i])) return x;
  return x.graph.addNode('Reshape', [x, x.graph.ints(out)], {}, [{ shape: out, dtype: x.dtype }])[0];
}

export function transpose(x: Tensor, perm: number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) throw new Error(`transpose ${x}: bad perm [${perm}]`);
  return x.graph.addNode('Transpose', [x], { perm }, [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }])[0];
}

export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat of nothing');
  if (xs.length === 1) return xs[0];
  const r = xs[0].rank;
  const ax = axis < 0 ? axis + r : axis;
  const shape = [...xs[0].shape];
  for (const t of xs.slice(1)) {
    if (t.rank !== r || t.dtype !== xs[0].dtype || t.shape.some((d, i) => i !== ax && d !== shape[i])) {
      throw new Error(`concat on axis ${axis}: ${xs[0]} and ${t} do not fit`);
    }
    shape[ax] += t.shape[ax];
  }
  return xs[0].graph.addNode('Concat', xs, { axis: ax }, [{ shape, dtype: xs[0].dtype }])[0];
}

/** x[..., start:end, ...] along one axis (step 1, or a negative step to reverse). */
export function slice(x: Tensor, axis: number, start: number, end: number, step = 1): Tensor {
  const ax = axis < 0 ? axis + x.rank : axis;
  const dim = x.shape[ax];
  let len: number;
  if (step > 0) {
    if (start < 0 || end > dim || start > end) throw new Error(`slice ${x} axis ${ax}: [${start}, ${end}) out of range`);
    len = Math.ceil((end - start) / step);
    if (len === dim && step === 1) return x;
  } else {
    // reversing: start is the first index taken, end is exclusive (may be -1 meaning "through 0")
    if (start < 0 || start >= dim || end < -1 || end > start) throw new Error(`slice ${x} axis ${ax}: [${start}, ${end}) step ${step} out of range`);
    len = Math.ceil((start - end) / -step);
  }
  const shape = [...x.shape];
  shape[ax] = len;
  const g = x.graph;
  // ONNX Slice treats -1 as "from the end"; INT64_MIN-ish means "before index 0"
  const onnxEnd = step < 0 && end < 0 ? -(2 ** 53) : end;
  return g.addNode('Slice', [x, g.ints([start]), g.ints([onnxEnd]), g.ints([ax]), g.ints([step])], {}, [{ shape, dtype: x.dtype }])[0];
}

/**
 * One Slice over several axes at once, unit steps: ranges[k] = [axis, start, end).
 * A window cut on two axes by chained slices would materialise the intermediate.
 */
export function sliceBox(x: Tensor, ranges: [number, number, number][]): Tensor {
  const shape = [...x.shape];
  const kept = ranges
    .map(([axis, start, end]): [number, number, number] => {
      const ax = axis < 0 ? axis + x.rank : axis;
      if (ax < 0 || ax >= x.rank || start < 0 || end > x.shape[ax] || start > end) throw new Error(`sliceBox ${x} axis ${axis}: [${start}, ${end}) out of range`);
      shape[ax] = end - start;
      return [ax, start, end];
    })
    .filter(([ax, start, end]) => !(start === 0 && end === x.shape[ax]));
  if (new Set(kept.map(([ax]) => ax)).size !== kept.length) throw new Error(`sliceBox ${x}: an axis appears twice`);
  if (kept.length === 0) return x;
  const g = x.graph;
  const ints = (k: number) => g.ints(kept.map((r) => r[k]));
  return g.addNode('Slice', [x, ints(1), ints(2), ints(0), g.ints(kept.map(() => 1))], {}, [{ shape, dtype: x.dtype }])[0];
}

/** Reverses the given axes (used to flip conv kernels). */
export function flip(x: Tensor, axes: number[]): Tensor {
  let y = x;
  for (const a of axes) y = slice(y, a, x.shape[a] - 1, -1, -1);
  return y;
}

/** Rows of `table` (axis 0) selected by int64 `indices`. */
export function gather(table: Tensor, indices: Tensor, axisIn = 0): Tensor {
  if (indices.dtype !== 'int64') throw new Error(`gather: indices ${indices} must be int64`);
  const axis = axisIn < 0 ? axisIn + table.rank : axisIn; // a negative axis broke the shape below
  if (axis < 0 || axis >= table.rank) throw new Error(`gather: axis ${axisIn} out of range for ${table}`);
  const shape = [...table.shape.slice(0, axis), ...indices.shape, ...table.shape.slice(axis + 1)];
  return table.graph.addNode('Gather', [table, indices], { axis }, [{ shape, dtype: table.dtype }])[0];
}

/** out[i][j][k] = data[...index[i][j][k] on `axis`...]: ONNX GatherElements (output has the indices' shape). */
export function gatherElements(data: Tensor, indices: Tensor, axisIn = 0): Tensor {
  if (indices.dtype !== 'int64') throw new Error(`gatherElements: indices ${indices} must be int64`);
  const axis = axisIn < 0 ? axisIn + data.rank : axisIn;
  if (axis < 0 || axis >= data.rank) throw new Error(`gatherElements: axis ${axisIn} out of range for ${data}`);
  if (indices.rank !== data.rank || indices.shape.some((d, i) => i !== axis && d > data.shape[i])) {
    throw new Error(`gatherElements: indices ${indices} do not fit data ${data} on axis ${axis}`);
  }
  return data.graph.addNode('GatherElements', [data, indices], { axis }, [{ shape: [...indices.shape], dtype: data.dtype }])[0];
}

/** data with `updates` added at `indices` along `axis` (ONNX ScatterElements, reduction 'add'). */
export function scatterElementsAdd(data: Tensor, indices: Tensor, updates: Tensor, axisIn = 0): Tensor {
  const axis = axisIn < 0 ? axisIn + data.rank : axisIn;
  if (indices.dtype !== 'int64') throw new Error(`scatterElementsAdd: indices ${indices} must be int64`);
  if (indices.rank !== data.rank || updates.shape.length !== indices.rank || updates.shape.some((d, i) => d !== indices.shape[i])) {
    throw new Error(`scatterElementsAdd: indices ${indices} and updates ${updates} do not fit data ${data}`);
  }
  return data.graph.addNode('ScatterElements', [data, indices, updates], { axis, reduction: 'add' }, [{ shape: [...data.shape], dtype: data.dtype }])[0];
}

export function expand(x: Tensor, shape: number[]): Tensor {
  // ONNX Expand broadcasts both ways: the result is broadcast(x.shape, shape), not `shape` itself
  const out = broadcastShapes(x.shape, shape, `expand ${x}`);
  if (x.rank === out.length && x.shape.every((d, i) => d === out[i])) return x;
  return x.graph.addNode('Expand', [x, x.graph.ints(shape)], {}, [{ shape: out, dtype: x.dtype }])[0];
}

/** Zero padding: pads[i] = [before, after] for axis i. */
export function pad(x: Tensor, pads: [number, number][]): Tensor {
  const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  return x.graph.addNode('Pad', [x, x.graph.ints(flat)], { mode: 'constant' }, [{ shape, dtype: x.dtype }])[0];
}

/** Consecutive pieces of x along `axis` (ONNX Split); its gradient concatenates, never pads. */
export function split(x: Tensor, axis: number, sizes: number[]): Tensor[] {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[ax] || sizes.some((d) => !(Number.isInteger(d) && d > 0))) throw new Error(`split ${x} axis ${ax}: sizes [${sizes}] do not add up`);
  if (sizes.length === 1) return [x];
  return x.graph.addNode(
    'Split',
    [x, x.graph.ints(sizes)],
    { axis: ax },
    sizes.map((d) => ({ shape: x.shape.map((v, i) => (i === ax ? d : v)), dtype: x.dtype })),
  );
}

/**
 * [N, C·b², H, W] -> [N, C, H·b, W·b], channel block (i·b + j)·C + c going to pixel offset
 * (i, j) of channel c (ONNX DepthToSpace, DCR mode).
 */
export function depthToSpace(x: Tensor, blocksize: number): Tensor {
  const [n, c, h, w] = x.shape;
  const b = blocksize;
  if (x.rank !== 4 || c % (b * b) !== 0) throw new Error(`depthToSpace ${x}: channels not divisible by ${b * b}`);
  return x.graph.addNode('DepthToSpace', [x], { blocksize: b, mode: 'DCR' }, [{ shape: [n, c / (b * b), h * b, w * b], dtype: x.dtype }])[0];
}

/** The inverse of depthToSpace (ONNX SpaceToDepth, whose layout is DCR's). */
export function spaceToDepth(x: Tensor, blocksize: number): Tensor {
  const [n, c, h, w] = x.shape;
  const b = blocksize;
  if (x.rank !== 4 || h % b !== 0 || w % b !== 0) throw new Error(`spaceToDepth ${x}: spatial size not divisible by ${b}`);
  return x.graph.addNode('SpaceToDepth', [x], { blocksize: b }, [{ shape: [n, c * b * b, h / b, w / b], dtype: x.dtype }])[0];
}

/** One-hot rows [..., depth] as float32 from int64 ids. */
export function oneHot(ids: Tensor, depth: number): Tensor {
  const g = ids.graph;
  const values = g.floats([0, 1], [2]);
  return g.addNode('OneHot', [ids, g.ints([depth]), values], { axis: -1 }, [{ shape: [...ids.shape, depth], dtype: 'float32' }])[0];
}

/** A float tensor of zeros with a static shape, without a large constant in the file. */
export function zeros(g: Tensor['graph'], shape: number[]): Tensor {
  return g.addNode('ConstantOfShape', [g.ints(shape)], { value: { tensor: { dtype: 'float32', shape: [1], data: new Float32Array([0]) } } }, [
    { shape, dtype: 'float32' },
  ])[0];
}

// ---- gradients ----

registerVjp('Reshape', (n, [dy]) => [dy && reshape(dy, [...n.inputs[0].shape]), undefined]);
registerVjp('Transpose', (n, [dy]) => {
  const perm = n.attrs.perm as number[];
  const inv = perm.map((_, i) => perm.indexOf(i));
  return [dy && transpose(dy, inv)];
});
registerVjp('Split', (n, dys) => [concat(n.outputs.map((y, i) => dys[i] ?? zeros(y.graph, [...y.shape])), n.attrs.axis as number), undefined]);
// a permutation of elements: each one's gradient is the other
registerVjp('DepthToSpace', (n, [dy]) => [dy && spaceToDepth(dy, n.attrs.blocksize as number)]);
registerVjp('SpaceToDepth', (n, [dy]) => [dy && depthToSpace(dy, n.attrs.blocksize as number)]);
registerVjp('Concat', (n, [dy]) => {
  if (!dy) return n.inputs.map(() => undefined);
  const ax = n.attrs.axis as number;
  let off = 0;
  return n.inputs.map((x) => {
    const s = slice(dy, ax, off, off + x.shape[ax]);
    off += x.shape[ax];
    return s;
  });
});
registerVjp('Slice', (n, [dy]) => {
  if (!dy) return n.inputs.map(() => undefined);
  const x = n.inputs[0];
  const [starts, ends, axes, steps] = n.inputs.slice(1).map((t) => [...(t.constData!.data as BigInt64Array)].map(Number));
  const none = [undefined, undefined, undefined, undefined];
  if (axes.length === 1 && steps[0] === -1 && starts[0] === x.shape[axes[0]] - 1 && ends[0] < 0) return [flip(dy, [axes[0]]), ...none];
  if (steps.some((s) => s !== 1)) throw new Error('Slice: gradient only for unit steps and full reversal');
  const pads = x.shape.map((): [number, number] => [0, 0]);
  axes.forEach((axis, k) => (pads[axis] = [starts[k], x.shape[axis] - ends[k]]));
  return [pad(dy, pads), ...none];
});
registerVjp('Pad', (n, [dy]) => {
  if (!dy) return [undefined, undefined];
  const x = n.inputs[0];
  const flat = [...(n.inputs[1].constData!.data as BigInt64Array)].map(Number);
  let g = dy;
  x.shape.forEach((d, i) => {
    g = slice(g, i, flat[i], flat[i] + d);
  });
  return [g, undefined];
});
registerVjp('Expand', (n, [dy]) => [dy && sumTo(dy, n.inputs[0].shape), undefined]);
registerVjp('Gather', (n, [dy]) => {
  if (!dy) return [undefined, undefined];
  const [table, ids] = n.inputs;
  if (n.attrs.axis !== 0 || table.rank !== 2 || ids.rank !== 1) throw new Error('Gather: gradient only for row lookups in a 2-d table');
  // d table = onehot(ids)^T @ dy: a dense matmul, cheap for class tables and deterministic.
  const oh = oneHot(ids, table.shape[0]);
  return [matmul(transpose(oh, [1, 0]), dy), undefined];
});
// The pair is closed under differentiation (double backprop through MaxPool's gradient):
// GatherElements' adjoint is a scatter-add, and a scatter-add's adjoint w.r.t. updates is a gather.
registerVjp('GatherElements', (n, [dy]) => {
  if (!dy) return [undefined, undefined];
  const [data, idx] = n.inputs;
  return [scatterElementsAdd(zeros(data.graph, [...data.shape]), idx, dy, n.attrs.axis as number), undefined];
});
registerVjp('ScatterElements', (n, [dy]) => {
  if (!dy) return [undefined, undefined, undefined];
  if (n.attrs.reduction !== 'add') throw new Error(`ScatterElements: gradient only for reduction 'add', got ${String(n.attrs.reduction ?? 'none')}`);
  const [, idx] = n.inputs;
  // out = data + scatter(updates): d data = dy, d updates = dy read back at the same indices
  return [dy, undefined, gatherElements(dy, idx, n.attrs.axis as number)];
});
registerVjp('OneHot', (n) => n.inputs.map(() => undefined));
registerVjp('ConstantOfShape', () => [undefined]);
