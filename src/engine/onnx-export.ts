/**
 * Turns a graph into an ONNX ModelProto (opset 17) with onnx-proto's protobufjs
 * encoder. Parameters become initializers (inference: ORT can constant-fold
 * spectral norm) or graph inputs (training: updated weights are fed each step).
 */
import onnxProto from 'onnx-proto';
import { Graph, Tensor, Node, Param, AttrValue, ConstData, DType } from './graph.js';
import { onnxDTypeCode } from './ops/elementwise.js';

const { onnx } = onnxProto;

export const OPSET = 17;

export interface ExportOptions {
  /** Output name → tensor. */
  outputs: Record<string, Tensor>;
  /** Which parameters are graph inputs (fed per run); all others are baked in as initializers. */
  paramInputs?: 'all' | 'none' | Set<Param>;
  graphName?: string;
  docString?: string;
}

export interface ExportedModel {
  bytes: Uint8Array;
  /** Declared graph inputs in order (runtime inputs first, then fed parameters). */
  inputs: { name: string; shape: number[]; dtype: DType; param?: Param }[];
  outputs: { name: string; shape: number[]; dtype: DType }[];
}

function rawBytes(d: ConstData['data']): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function tensorProto(name: string, dtype: DType, shape: readonly number[], data: ConstData['data']): onnxProto.onnx.ITensorProto {
  return { name, dims: [...shape], dataType: onnxDTypeCode(dtype), rawData: rawBytes(data) };
}

function valueInfo(name: string, dtype: DType, shape: readonly number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: onnxDTypeCode(dtype), shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats as {float}`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: tensorProto('', v.tensor.dtype, v.tensor.shape, v.tensor.data) };
}

/** Nodes needed for the outputs, in creation (= topological) order. */
export function liveNodes(graph: Graph, outputs: Tensor[]): Node[] {
  const live = new Set<Node>();
  const stack = [...outputs];
  const seen = new Set<Tensor>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.producer && !live.has(t.producer)) {
      live.add(t.producer);
      stack.push(...t.producer.inputs);
    }
  }
  return graph.nodes.filter((n) => live.has(n));
}

export function exportOnnx(graph: Graph, opts: ExportOptions): ExportedModel {
  const outEntries = Object.entries(opts.outputs);
  const nodes = liveNodes(graph, outEntries.map(([, t]) => t));
  const used = new Set<Tensor>();
  for (const n of nodes) n.inputs.forEach((t) => used.add(t));
  for (const [, t] of outEntries) used.add(t);

  const paramInputs = opts.paramInputs ?? 'none';
  const isFed = (p: Param): boolean => paramInputs === 'all' || (paramInputs instanceof Set && paramInputs.has(p));

  const inputs: ExportedModel['inputs'] = [];
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  const names = new Map<Tensor, string>();
  const taken = new Set<string>();
  const claim = (t: Tensor, name: string): void => {
    if (taken.has(name)) throw new Error(`onnx export: two tensors named ${name}`);
    taken.add(name);
    names.set(t, name);
  };

  for (const t of graph.inputs) {
    if (!used.has(t)) continue;
    claim(t, t.name);
    inputs.push({ name: t.name, shape: [...t.shape], dtype: t.dtype });
  }
  const usedTensors = [...used].sort((a, b) => a.id - b.id);
  for (const t of usedTensors) {
    if (t.kind === 'param') {
      const p = t.param!;
      claim(t, p.name);
      if (isFed(p)) inputs.push({ name: p.name, shape: [...p.shape], dtype: 'float32', param: p });
      else initializer.push(tensorProto(p.name, 'float32', p.shape, p.data));
    } else if (t.kind === 'const') {
      claim(t, `const_${t.id}`);
      initializer.push(tensorProto(`const_${t.id}`, t.dtype, t.shape, t.constData!.data));
    }
  }
  for (const n of nodes) for (const t of n.outputs) claim(t, t.name);

  const nodeProtos: onnxProto.onnx.INodeProto[] = nodes.map((n, i) => ({
    name: `${n.op}_${i}`,
    opType: n.op,
    domain: n.domain ?? '',
    input: n.inputs.map((t) => names.get(t)!),
    output: n.outputs.map((t) => names.get(t)!),
    attribute: Object.entries(n.attrs)
      .filter(([k]) => !k.startsWith('_'))
      .map(([k, v]) => attribute(k, v)),
  }));
  // Outputs get their requested names through Identity nodes (ORT removes them), unless the
  // tensor already has that name (SegmentedGraph's sessions: onnxruntime's basic-level
  // fusions could leave a dangling reference when an output Identity read a value that a
  // fused MatMul + Add also read: seen with 1.30).
  const outputs: ExportedModel['outputs'] = [];
  for (const [name, t] of outEntries) {
    if (names.get(t) !== name || t.kind !== 'op') nodeProtos.push({ name: `output_${name}`, opType: 'Identity', input: [names.get(t)!], output: [name] });
    outputs.push({ name, shape: [...t.shape], dtype: t.dtype });
  }

  // The shapes of computed conv weights (a spectrally normalised W, a dx conv's flipped
  // kernel), so a runtime that lowers convs with dynamic weights to its own kernels
  // (runtime.ts: onnxruntime's blocked NCHWc convolutions) knows them from the model alone.
  const valueInfoOf = new Map<string, onnxProto.onnx.IValueInfoProto>();
  for (const n of nodes) {
    const w = n.op === 'Conv' && !n.domain ? n.inputs[1] : undefined;
    if (w && w.kind === 'op') valueInfoOf.set(names.get(w)!, valueInfo(names.get(w)!, w.dtype, w.shape));
  }

  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'biggan-ts',
    opsetImport: [{ domain: '', version: OPSET }],
    docString: opts.docString,
    graph: {
      name: opts.graphName ?? 'graph',
      node: nodeProtos,
      initializer,
      input: inputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
      output: outputs.map((o) => valueInfo(o.name, o.dtype, o.shape)),
      valueInfo: [...valueInfoOf.values()],
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs, outputs };
}
