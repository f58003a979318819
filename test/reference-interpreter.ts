/**
 * A plain-JavaScript float64 evaluator of engine graphs, for tests only.
 *
 * It implements the ONNX (opset 17) semantics of every operator the engine's ops emit,
 * written for clarity rather than speed: every value is a Float64Array in C order
 * (int64 values as exact small integers, bool as 0/1), and float32 tensors are simply
 * computed in float64. Tests use it to take finite differences in float64 and to check
 * onnxruntime's float32 results (which validates the ONNX emission at the same time).
 */
import type { AttrValue, DType, Graph, Node, Tensor } from '../src/engine/graph.js';
import { liveNodes } from '../src/engine/onnx-export.js';

export interface RefValue {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

/** Values for graph inputs (and optionally parameters): typed arrays or plain numbers. */
export type RefFeed = ArrayLike<number> | BigInt64Array;

export function refValue(dtype: DType, shape: readonly number[], data: RefFeed): RefValue {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  if (out.length !== size(shape)) throw new Error(`refValue: ${data.length} values for shape [${shape}]`);
  return { dtype, shape: [...shape], data: out };
}

/**
 * Evaluates `outputs`. Graph inputs must be in `feeds`; parameters come from `feeds`
 * when present there, else from their Param's data. `overrides` pins tensors to given
 * values (their producing nodes are not evaluated), e.g. to hold stop-gradient values
 * fixed while taking finite differences.
 */
export function evaluate(graph: Graph, outputs: Tensor[], feeds: Map<Tensor, RefFeed>, overrides?: Map<Tensor, RefValue>): RefValue[] {
  const env = new Map<Tensor, RefValue>();
  const valueOf = (t: Tensor): RefValue => {
    const pinned = overrides?.get(t);
    if (pinned) return pinned;
    let v = env.get(t);
    if (v) return v;
    if (t.kind === 'input' || t.kind === 'param') {
      const fed = feeds.get(t) ?? t.param?.data;
      if (!fed) throw new Error(`evaluate: no value for ${t}`);
      v = refValue(t.dtype, t.shape, fed);
    } else if (t.kind === 'const') {
      v = refValue(t.dtype, t.shape, t.constData!.data);
    } else {
      throw new Error(`evaluate: ${t} used before it is computed`);
    }
    env.set(t, v);
    return v;
  };

  for (const node of liveNodes(graph, outputs)) {
    if (overrides && node.outputs.every((t) => overrides.has(t))) continue;
    const impl = OPS[node.op];
    if (!impl) throw new Error(`reference interpreter: no implementation of ${node.op}`);
    const results = impl(node, node.inputs.map(valueOf));
    node.outputs.forEach((t, k) => {
      const r = results[k];
      if (!r) throw new Error(`${node.op}: output ${k} not computed`);
      if (r.shape.length !== t.shape.length || r.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`${node.op} → ${t}: the engine declared shape [${t.shape}], ONNX semantics give [${r.shape}]`);
      }
      env.set(t, { ...r, dtype: t.dtype });
    });
  }
  return outputs.map(valueOf);
}

// ---------------------------------------------------------------- helpers

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Calls fn with every multi-index of `shape` in C order, and its flat position. */
function forEachIndex(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = size(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(idx, flat);
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

function attrInt(node: Node, name: string, dflt: number): number {
  const v = node.attrs[name];
  return v === undefined ? dflt : (v as number);
}

function attrInts(node: Node, name: string): number[] | undefined {
  return node.attrs[name] as number[] | undefined;
}

function attrFloat(node: Node, name: string, dflt: number): number {
  const v = node.attrs[name] as AttrValue | undefined;
  return v === undefined ? dflt : (v as { float: number }).float;
}

function attrString(node: Node, name: string, dflt: string): string {
  const v = node.attrs[name];
  return v === undefined ? dflt : (v as string);
}

function ints(v: RefValue): number[] {
  return Array.from(v.data);
}

function broadcastShape(shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e !== 1) {
        if (d !== 1 && d !== e) throw new Error(`shapes ${shapes.map((x) => `[${x}]`).join(' ')} do not broadcast`);
        d = e;
      }
    }
    out.push(d);
  }
  return out;
}

/** Strides for reading `shape` as if broadcast to `outShape` (0 on broadcast axes). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const st = stridesOf(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : st[i - lead]));
}

function offset(idx: readonly number[], strides: readonly number[]): number {
  let o = 0;
  for (let i = 0; i < idx.length; i++) o += idx[i] * strides[i];
  return o;
}

/** Elementwise map over broadcast inputs (NumPy / ONNX multidirectional broadcasting). */
function broadcastMap(ins: RefValue[], dtype: DType, fn: (v: number[]) => number): RefValue {
  const shape = broadcastShape(ins.map((v) => v.shape));
  const strides = ins.map((v) => broadcastStrides(v.shape, shape));
  const data = new Float64Array(size(shape));
  const vals = new Array<number>(ins.length);
  forEachIndex(shape, (idx, flat) => {
    for (let k = 0; k < ins.length; k++) vals[k] = ins[k].data[offset(idx, strides[k])];
    data[flat] = fn(vals);
  });
  return { dtype, shape, data };
}

function unary(fn: (x: number) => number) {
  return (_n: Node, [x]: RefValue[]): RefValue[] => [{ dtype: x.dtype, shape: x.shape, data: x.data.map(fn) }];
}

function binary(fn: (a: number, b: number, dtype: DType) => number, outDtype?: DType) {
  return (_n: Node, [a, b]: RefValue[]): RefValue[] => [broadcastMap([a, b], outDtype ?? a.dtype, ([x, y]) => fn(x, y, a.dtype))];
}

/** ONNX Max / Min take any number of inputs. */
function variadic(fn: (a: number, b: number) => number) {
  return (_n: Node, ins: RefValue[]): RefValue[] => [broadcastMap(ins, ins[0].dtype, (v) => v.reduce(fn))];
}

const DTYPE_OF_CODE: Record<number, DType> = { 1: 'float32', 7: 'int64', 9: 'bool', 11: 'float64' };

/** Shape of a reduction and the output position of each input multi-index. */
function reduceGeneric(x: RefValue, axesIn: number[] | undefined, keepdims: boolean, noopWithEmpty: boolean, init: number, combine: (acc: number, v: number) => number): { value: RefValue; counts: number } {
  let axes = (axesIn ?? []).map((a) => normAxis(a, x.shape.length));
  if (axes.length === 0) {
    if (noopWithEmpty) return { value: { ...x, data: Float64Array.from(x.data) }, counts: 1 };
    axes = x.shape.map((_, i) => i);
  }
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepdims ? keptShape : x.shape.filter((_, i) => !axes.includes(i));
  const keptStrides = stridesOf(keptShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const data = new Float64Array(size(outShape)).fill(init);
  forEachIndex(x.shape, (idx, flat) => {
    const o = offset(idx, keptStrides);
    data[o] = combine(data[o], x.data[flat]);
  });
  const counts = axes.reduce((c, a) => c * x.shape[a], 1);
  return { value: { dtype: x.dtype, shape: outShape, data }, counts };
}

/** ONNX Slice: clamped per-axis start / step / length. */
function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; len: number } {
  if (step === 0) throw new Error('Slice: step 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
    return { start: s, len: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = Math.min(Math.max(s, 0), dim - 1);
  e = Math.min(Math.max(e, -1), dim - 1);
  return { start: s, len: Math.max(0, Math.ceil((s - e) / -step)) };
}

/** Output size of a pooling / convolution window sweep along one axis. */
function sweepSize(inSize: number, k: number, stride: number, padBegin: number, padEnd: number, dil: number, ceilMode: boolean): number {
  const span = (inSize + padBegin + padEnd - ((k - 1) * dil + 1)) / stride;
  let out = (ceilMode ? Math.ceil(span) : Math.floor(span)) + 1;
  // ONNX / torch: with ceil_mode the last window must start inside the input or left padding
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out--;
  return out;
}

interface Pool2d {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  pb: number;
  pr: number;
  dh: number;
  dw: number;
  ho: number;
  wo: number;
}

function poolGeometry(node: Node, x: RefValue): Pool2d {
  if (x.shape.length !== 4) throw new Error(`${node.op}: reference interpreter handles 2-d (NCHW) only`);
  if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') throw new Error(`${node.op}: auto_pad not supported`);
  const [n, c, h, w] = x.shape;
  const [kh, kw] = attrInts(node, 'kernel_shape')!;
  const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
  const [pt, pl, pb, pr] = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const [dh, dw] = attrInts(node, 'dilations') ?? [1, 1];
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  return { n, c, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, ho: sweepSize(h, kh, sh, pt, pb, dh, ceil), wo: sweepSize(w, kw, sw, pl, pr, dw, ceil) };
}

// ---------------------------------------------------------------- operators

type OpImpl = (node: Node, inputs: RefValue[]) => RefValue[];

const OPS: Record<string, OpImpl> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b, dt) => (dt === 'int64' ? Math.trunc(a / b) : a / b)),
  Pow: binary((a, b) => Math.pow(a, b)),
  Max: variadic((a, b) => Math.max(a, b)),
  Min: variadic((a, b) => Math.min(a, b)),
  Greater: binary((a, b) => (a > b ? 1 : 0), 'bool'),
  Less: binary((a, b) => (a < b ? 1 : 0), 'bool'),
  Equal: binary((a, b) => (a === b ? 1 : 0), 'bool'),

  Neg: unary((x) => -x),
  Relu: unary((x) => Math.max(x, 0)),
  LeakyRelu: (node, [x]) => {
    const alpha = attrFloat(node, 'alpha', 0.01);
    return [{ ...x, data: x.data.map((v) => (v >= 0 ? v : alpha * v)) }];
  },
  Tanh: unary(Math.tanh),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Softplus: unary((x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Sqrt: unary(Math.sqrt),
  Abs: unary(Math.abs),
  Floor: unary(Math.floor),
  Sign: unary((x) => (x > 0 ? 1 : x < 0 ? -1 : 0)),
  Not: unary((x) => (x ? 0 : 1)),
  Identity: unary((x) => x),

  Where: (_n, [c, a, b]) => [broadcastMap([c, a, b], a.dtype, ([cv, av, bv]) => (cv ? av : bv))],

  Cast: (node, [x]) => {
    const to = DTYPE_OF_CODE[attrInt(node, 'to', 1)];
    if (!to) throw new Error(`Cast: unsupported target type ${String(node.attrs.to)}`);
    // float32 is kept in float64 on purpose (the interpreter is a float64 reference)
    const fn = to === 'int64' ? Math.trunc : to === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : (v: number) => v;
    return [{ dtype: to, shape: x.shape, data: x.data.map(fn) }];
  },

  ReduceSum: (node, [x, axes]) => {
    const r = reduceGeneric(x, axes ? ints(axes) : undefined, attrInt(node, 'keepdims', 1) === 1, attrInt(node, 'noop_with_empty_axes', 0) === 1, 0, (a, v) => a + v);
    return [r.value];
  },
  ReduceMean: (node, [x]) => {
    const r = reduceGeneric(x, attrInts(node, 'axes'), attrInt(node, 'keepdims', 1) === 1, false, 0, (a, v) => a + v);
    return [{ ...r.value, data: r.value.data.map((v) => v / r.counts) }];
  },
  ReduceMax: (node, [x]) => {
    const r = reduceGeneric(x, attrInts(node, 'axes'), attrInt(node, 'keepdims', 1) === 1, false, -Infinity, (a, v) => Math.max(a, v));
    return [r.value];
  },

  Reshape: (node, [x, shapeV]) => {
    const req = ints(shapeV);
    const allowZero = attrInt(node, 'allowzero', 0) === 1;
    const shape = req.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
    const minus = shape.indexOf(-1);
    if (minus >= 0) shape[minus] = size(x.shape) / size(shape.filter((d) => d !== -1));
    if (size(shape) !== size(x.shape) || !shape.every(Number.isInteger)) throw new Error(`Reshape: [${x.shape}] to [${req}]`);
    return [{ dtype: x.dtype, shape, data: x.data }];
  },

  // written from the ONNX definitions (DCR): out[n, c, h·b + i, w·b + j] = in[n, (i·b + j)·C + c, h, w]
  DepthToSpace: (node, [x]) => {
    if (attrString(node, 'mode', 'DCR') !== 'DCR') throw new Error('DepthToSpace: only DCR mode');
    const b = attrInt(node, 'blocksize', 0);
    const [n, cb, h, w] = x.shape;
    const c = cb / (b * b);
    const shape = [n, c, h * b, w * b];
    const data = new Float64Array(x.data.length);
    forEachIndex(shape, ([ni, ci, y, xo], flat) => {
      const i = y % b;
      const j = xo % b;
      data[flat] = x.data[((ni * cb + (i * b + j) * c + ci) * h + Math.floor(y / b)) * w + Math.floor(xo / b)];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  SpaceToDepth: (node, [x]) => {
    const b = attrInt(node, 'blocksize', 0);
    const [n, c, h, w] = x.shape;
    const shape = [n, c * b * b, h / b, w / b];
    const data = new Float64Array(x.data.length);
    forEachIndex(shape, ([ni, co, y, xo], flat) => {
      const block = Math.floor(co / c);
      const ci = co % c;
      data[flat] = x.data[((ni * c + ci) * h + y * b + Math.floor(block / b)) * w + xo * b + (block % b)];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  Transpose: (node, [x]) => {
    const rank = x.shape.length;
    const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => rank - 1 - i);
    const shape = perm.map((p) => x.shape[p]);
    const xs = stridesOf(x.shape);
    const readStrides = perm.map((p) => xs[p]); // out axis j walks input axis perm[j]
    const data = new Float64Array(x.data.length);
    forEachIndex(shape, (idx, flat) => {
      data[flat] = x.data[offset(idx, readStrides)];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  Split: (node, [x, splitV]) => {
    const axis = attrInt(node, 'axis', 0);
    const sizes = [...splitV.data].map(Number);
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    let start = 0;
    return sizes.map((d) => {
      const data = new Float64Array(outer * d * inner);
      for (let o = 0; o < outer; o++) data.set(x.data.subarray((o * x.shape[axis] + start) * inner, (o * x.shape[axis] + start + d) * inner), o * d * inner);
      start += d;
      return { dtype: x.dtype, shape: x.shape.map((v, i) => (i === axis ? d : v)), data };
    });
  },

  Concat: (node, ins) => {
    const rank = ins[0].shape.length;
    const axis = normAxis(attrInt(node, 'axis', 0), rank);
    const shape = [...ins[0].shape];
    shape[axis] = ins.reduce((s, v) => s + v.shape[axis], 0);
    // which input and which position in it each coordinate along the axis comes from
    const source: [number, number][] = [];
    ins.forEach((v, k) => {
      for (let i = 0; i < v.shape[axis]; i++) source.push([k, i]);
    });
    const strides = ins.map((v) => stridesOf(v.shape));
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      const [k, i] = source[idx[axis]];
      const inIdx = [...idx];
      inIdx[axis] = i;
      data[flat] = ins[k].data[offset(inIdx, strides[k])];
    });
    return [{ dtype: ins[0].dtype, shape, data }];
  },

  Slice: (_node, [x, startsV, endsV, axesV, stepsV]) => {
    const rank = x.shape.length;
    const starts = ints(startsV);
    const ends = ints(endsV);
    const axes = axesV ? ints(axesV).map((a) => normAxis(a, rank)) : starts.map((_, i) => i);
    const steps = stepsV ? ints(stepsV) : starts.map(() => 1);
    const start = x.shape.map(() => 0);
    const step = x.shape.map(() => 1);
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      const r = sliceAxis(x.shape[a], starts[k], ends[k], steps[k]);
      start[a] = r.start;
      step[a] = steps[k];
      shape[a] = r.len;
    });
    const xs = stridesOf(x.shape);
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      let o = 0;
      for (let i = 0; i < rank; i++) o += (start[i] + idx[i] * step[i]) * xs[i];
      data[flat] = x.data[o];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  Gather: (node, [x, indices]) => {
    const rank = x.shape.length;
    const axis = normAxis(attrInt(node, 'axis', 0), rank);
    const dim = x.shape[axis];
    const ir = indices.shape.length;
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const xs = stridesOf(x.shape);
    const is = stridesOf(indices.shape);
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      let k = indices.data[offset(idx.slice(axis, axis + ir), is)];
      if (k < 0) k += dim;
      if (k < 0 || k >= dim) throw new Error(`Gather: index ${k} out of range [0, ${dim})`);
      const inIdx = [...idx.slice(0, axis), k, ...idx.slice(axis + ir)];
      data[flat] = x.data[offset(inIdx, xs)];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  Expand: (_node, [x, shapeV]) => {
    const shape = broadcastShape([x.shape, ints(shapeV)]);
    const st = broadcastStrides(x.shape, shape);
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      data[flat] = x.data[offset(idx, st)];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  Pad: (node, [x, padsV, constV]) => {
    const mode = attrString(node, 'mode', 'constant');
    if (mode !== 'constant') throw new Error(`Pad: mode ${mode} not supported`);
    const rank = x.shape.length;
    const pads = ints(padsV);
    const value = constV && constV.data.length ? constV.data[0] : 0;
    const shape = x.shape.map((d, i) => d + pads[i] + pads[i + rank]);
    const xs = stridesOf(x.shape);
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      let o = 0;
      for (let i = 0; i < rank; i++) {
        const j = idx[i] - pads[i];
        if (j < 0 || j >= x.shape[i]) {
          o = -1;
          break;
        }
        o += j * xs[i];
      }
      data[flat] = o < 0 ? value : x.data[o];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  OneHot: (node, [indices, depthV, values]) => {
    const depth = depthV.data[0];
    const rank = indices.shape.length + 1;
    const axis = normAxis(attrInt(node, 'axis', -1), rank);
    const shape = [...indices.shape.slice(0, axis), depth, ...indices.shape.slice(axis)];
    const is = stridesOf(indices.shape);
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      let k = indices.data[offset([...idx.slice(0, axis), ...idx.slice(axis + 1)], is)];
      if (k < 0) k += depth;
      data[flat] = idx[axis] === k ? values.data[1] : values.data[0];
    });
    return [{ dtype: values.dtype, shape, data }];
  },

  ConstantOfShape: (node, [shapeV]) => {
    const shape = ints(shapeV);
    const t = (node.attrs.value as { tensor: { dtype: DType; data: ArrayLike<number> | BigInt64Array } } | undefined)?.tensor;
    const fill = t ? Number(t.data[0]) : 0;
    return [{ dtype: t?.dtype ?? 'float32', shape, data: new Float64Array(size(shape)).fill(fill) }];
  },

  MatMul: (_node, [a, b]) => {
    if (a.shape.length < 2 || b.shape.length < 2) throw new Error('MatMul: 1-d operands not supported by the reference');
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) throw new Error(`MatMul: [${a.shape}] @ [${b.shape}]`);
    const batch = broadcastShape([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    const as = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * m * k);
    const bs = broadcastStrides(b.shape.slice(0, -2), batch).map((s) => s * k * n);
    const shape = [...batch, m, n];
    const data = new Float64Array(size(shape));
    forEachIndex(batch, (idx, bflat) => {
      const ao = offset(idx, as);
      const bo = offset(idx, bs);
      const oo = bflat * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let t = 0; t < k; t++) acc += a.data[ao + i * k + t] * b.data[bo + t * n + j];
          data[oo + i * n + j] = acc;
        }
      }
    });
    return [{ dtype: a.dtype, shape, data }];
  },

  Conv: (node, [x, w, bias]) => {
    const p = poolGeometry(node, x);
    const group = attrInt(node, 'group', 1);
    const [o, cg] = w.shape;
    if (w.shape[2] !== p.kh || w.shape[3] !== p.kw || cg * group !== p.c) throw new Error(`Conv: weight [${w.shape}] does not fit input [${x.shape}]`);
    const og = o / group;
    const shape = [p.n, o, p.ho, p.wo];
    const data = new Float64Array(size(shape));
    let flat = 0;
    for (let b = 0; b < p.n; b++) {
      for (let oc = 0; oc < o; oc++) {
        const gi = Math.floor(oc / og);
        for (let y = 0; y < p.ho; y++) {
          for (let xo = 0; xo < p.wo; xo++) {
            let acc = bias ? bias.data[oc] : 0;
            for (let ic = 0; ic < cg; ic++) {
              const c = gi * cg + ic;
              for (let i = 0; i < p.kh; i++) {
                const iy = y * p.sh - p.pt + i * p.dh;
                if (iy < 0 || iy >= p.h) continue;
                for (let j = 0; j < p.kw; j++) {
                  const ix = xo * p.sw - p.pl + j * p.dw;
                  if (ix < 0 || ix >= p.w) continue;
                  acc += x.data[((b * p.c + c) * p.h + iy) * p.w + ix] * w.data[((oc * cg + ic) * p.kh + i) * p.kw + j];
                }
              }
            }
            data[flat++] = acc;
          }
        }
      }
    }
    return [{ dtype: x.dtype, shape, data }];
  },

  ConvTranspose: (node, [x, w, bias]) => {
    if (x.shape.length !== 4) throw new Error('ConvTranspose: 2-d only');
    if (attrInts(node, 'output_shape')) throw new Error('ConvTranspose: output_shape not supported');
    const [n, c, h, wd] = x.shape;
    const group = attrInt(node, 'group', 1);
    const [, og, kh, kw] = w.shape;
    const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
    const [pt, pl, pb, pr] = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    const [dh, dw] = attrInts(node, 'dilations') ?? [1, 1];
    const [oph, opw] = attrInts(node, 'output_padding') ?? [0, 0];
    const cg = c / group;
    const o = og * group;
    const ho = sh * (h - 1) + oph + (kh - 1) * dh + 1 - pt - pb;
    const wo = sw * (wd - 1) + opw + (kw - 1) * dw + 1 - pl - pr;
    const shape = [n, o, ho, wo];
    const data = new Float64Array(size(shape));
    // scatter every input pixel through the kernel
    for (let b = 0; b < n; b++) {
      for (let ci = 0; ci < c; ci++) {
        const gi = Math.floor(ci / cg);
        for (let y = 0; y < h; y++) {
          for (let xi = 0; xi < wd; xi++) {
            const v = x.data[((b * c + ci) * h + y) * wd + xi];
            for (let oc = 0; oc < og; oc++) {
              const co = gi * og + oc;
              for (let i = 0; i < kh; i++) {
                const oy = y * sh - pt + i * dh;
                if (oy < 0 || oy >= ho) continue;
                for (let j = 0; j < kw; j++) {
                  const ox = xi * sw - pl + j * dw;
                  if (ox < 0 || ox >= wo) continue;
                  data[((b * o + co) * ho + oy) * wo + ox] += v * w.data[((ci * og + oc) * kh + i) * kw + j];
                }
              }
            }
          }
        }
      }
    }
    if (bias) forEachIndex(shape, (idx, flat) => (data[flat] += bias.data[idx[1]]));
    return [{ dtype: x.dtype, shape, data }];
  },

  AveragePool: (node, [x]) => {
    const p = poolGeometry(node, x);
    const includePad = attrInt(node, 'count_include_pad', 0) === 1;
    const shape = [p.n, p.c, p.ho, p.wo];
    const data = new Float64Array(size(shape));
    let flat = 0;
    for (let nc = 0; nc < p.n * p.c; nc++) {
      for (let y = 0; y < p.ho; y++) {
        for (let xo = 0; xo < p.wo; xo++) {
          let acc = 0;
          let inside = 0;
          let padded = 0;
          for (let i = 0; i < p.kh; i++) {
            const iy = y * p.sh - p.pt + i * p.dh;
            for (let j = 0; j < p.kw; j++) {
              const ix = xo * p.sw - p.pl + j * p.dw;
              // positions in the padded input count when count_include_pad is set
              if (iy < p.h + p.pb && ix < p.w + p.pr) padded++;
              if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
              acc += x.data[(nc * p.h + iy) * p.w + ix];
              inside++;
            }
          }
          data[flat++] = acc / (includePad ? padded : inside);
        }
      }
    }
    return [{ dtype: x.dtype, shape, data }];
  },

  MaxPool: (node, [x]) => {
    const p = poolGeometry(node, x);
    if (attrInt(node, 'storage_order', 0) !== 0) throw new Error('MaxPool: storage_order 1 not supported');
    const shape = [p.n, p.c, p.ho, p.wo];
    const data = new Float64Array(size(shape));
    const indices = new Float64Array(size(shape));
    let flat = 0;
    for (let nc = 0; nc < p.n * p.c; nc++) {
      for (let y = 0; y < p.ho; y++) {
        for (let xo = 0; xo < p.wo; xo++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < p.kh; i++) {
            const iy = y * p.sh - p.pt + i * p.dh;
            if (iy < 0 || iy >= p.h) continue;
            for (let j = 0; j < p.kw; j++) {
              const ix = xo * p.sw - p.pl + j * p.dw;
              if (ix < 0 || ix >= p.w) continue;
              const o = (nc * p.h + iy) * p.w + ix;
              // strict '>': the first maximum in row-major window order wins
              if (x.data[o] > best) {
                best = x.data[o];
                at = o;
              }
            }
          }
          data[flat] = best;
          indices[flat] = at; // flat offset into the whole NCHW input
          flat++;
        }
      }
    }
    return [
      { dtype: x.dtype, shape, data },
      { dtype: 'int64', shape, data: indices },
    ];
  },

  Resize: (node, [x, _roi, scalesV, sizesV]) => {
    const mode = attrString(node, 'mode', 'nearest');
    const ctm = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
    const nearest = attrString(node, 'nearest_mode', 'round_prefer_floor');
    if (mode !== 'nearest' || ctm !== 'asymmetric' || nearest !== 'floor') {
      throw new Error(`Resize: only mode nearest, asymmetric, floor are implemented (got ${mode}, ${ctm}, ${nearest})`);
    }
    const rank = x.shape.length;
    let scales: number[];
    let shape: number[];
    if (scalesV && scalesV.data.length) {
      scales = Array.from(scalesV.data);
      shape = x.shape.map((d, i) => Math.floor(d * scales[i]));
    } else {
      shape = ints(sizesV);
      scales = shape.map((d, i) => d / x.shape[i]);
    }
    const xs = stridesOf(x.shape);
    const data = new Float64Array(size(shape));
    forEachIndex(shape, (idx, flat) => {
      let o = 0;
      for (let i = 0; i < rank; i++) {
        const src = Math.min(Math.max(Math.floor(idx[i] / scales[i]), 0), x.shape[i] - 1);
        o += src * xs[i];
      }
      data[flat] = x.data[o];
    });
    return [{ dtype: x.dtype, shape, data }];
  },

  Softmax: (node, [x]) => {
    const axis = normAxis(attrInt(node, 'axis', -1), x.shape.length);
    const mx = reduceGeneric(x, [axis], true, false, -Infinity, (a, v) => Math.max(a, v)).value;
    const e = broadcastMap([x, mx], x.dtype, ([v, m]) => Math.exp(v - m));
    const s = reduceGeneric(e, [axis], true, false, 0, (a, v) => a + v).value;
    return [broadcastMap([e, s], x.dtype, ([v, t]) => v / t)];
  },

  BatchNormalization: (node, [x, scale, bias, mean, variance]) => {
    if (attrInt(node, 'training_mode', 0) !== 0) throw new Error('BatchNormalization: training_mode not supported');
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const c = x.shape[1];
    const data = new Float64Array(x.data.length);
    const perChannel = size(x.shape.slice(2));
    for (let i = 0; i < x.data.length; i++) {
      const ch = Math.floor(i / perChannel) % c;
      data[i] = ((x.data[i] - mean.data[ch]) / Math.sqrt(variance.data[ch] + eps)) * scale.data[ch] + bias.data[ch];
    }
    return [{ dtype: x.dtype, shape: x.shape, data }];
  },

  GatherElements: (node, [x, indices]) => {
    const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
    const xs = stridesOf(x.shape);
    const data = new Float64Array(size(indices.shape));
    forEachIndex(indices.shape, (idx, flat) => {
      let k = indices.data[flat];
      if (k < 0) k += x.shape[axis];
      if (k < 0 || k >= x.shape[axis]) throw new Error(`GatherElements: index ${k} out of range`);
      const source = [...idx];
      source[axis] = k;
      data[flat] = x.data[offset(source, xs)];
    });
    return [{ dtype: x.dtype, shape: [...indices.shape], data }];
  },

  ScatterElements: (node, [x, indices, updates]) => {
    const rank = x.shape.length;
    const axis = normAxis(attrInt(node, 'axis', 0), rank);
    const reduction = attrString(node, 'reduction', 'none');
    const combine: Record<string, (a: number, b: number) => number> = {
      none: (_a, b) => b,
      add: (a, b) => a + b,
      mul: (a, b) => a * b,
      min: Math.min,
      max: Math.max,
    };
    const fn = combine[reduction];
    if (!fn) throw new Error(`ScatterElements: reduction ${reduction}`);
    const xs = stridesOf(x.shape);
    const data = Float64Array.from(x.data);
    forEachIndex(indices.shape, (idx, flat) => {
      let k = indices.data[flat];
      if (k < 0) k += x.shape[axis];
      if (k < 0 || k >= x.shape[axis]) throw new Error(`ScatterElements: index ${k} out of range`);
      const target = [...idx];
      target[axis] = k;
      const o = offset(target, xs);
      data[o] = fn(data[o], updates.data[flat]);
    });
    return [{ dtype: x.dtype, shape: x.shape, data }];
  },
};

/** The operator types this interpreter implements. */
export const REFERENCE_OPS: readonly string[] = Object.keys(OPS);
