/**
 * Rewrites an exported model so that its convolutions with dynamic weights (graph inputs or
 * computed, as in every training graph) run on onnxruntime's blocked-layout kernels:
 * ReorderInput → com.microsoft.nchwc Conv (the weight reordered in the graph) → ReorderOutput.
 *
 * Why: onnxruntime converts only convolutions whose weights are constant initializers to its
 * NCHWc kernels. The others run as im2col + GEMM per image, which needs a workspace allocated
 * on every run; without the memory arena (the trainer's default, for memory) a 3x3 conv
 * over [128, 512, 4, 4] ran at 77 GFLOP/s that way against 186-236 with the blocked kernel,
 * and at 145-160 even with the arena. The blocked kernel reads the weight as an ordinary
 * input, so reordering it in the graph each run is all it takes.
 *
 * Only for onnxruntime's CPU provider (the contrib kernels exist nowhere else): runtime.ts
 * applies it, after probing the block size its build uses on this CPU.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

function int64Initializer(name: string, values: number[]): TensorProto {
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

function attr(node: NodeProto, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function ints(a: onnxProto.onnx.IAttributeProto | undefined): number[] {
  return (a?.ints ?? []).map(Number);
}

/**
 * The model with every eligible Conv lowered, or null when none is (the caller keeps its
 * bytes). Eligible: default domain, group 1, dilation 1, explicit pads, a non-initializer
 * weight of known 4-d shape whose input and output channels are multiples of `block`.
 */
export function lowerToBlockedConvs(bytes: Uint8Array, block: number): Uint8Array | null {
  if (!(block > 1)) return null;
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph?.node) return null;
  const constant = new Set((graph.initializer ?? []).map((t) => t.name));
  const shapeOf = new Map<string, number[]>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? [])]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (v.name && dims?.every((d) => d.dimValue != null)) shapeOf.set(v.name, dims.map((d) => Number(d.dimValue)));
  }
  const taken = new Set<string>();
  for (const n of graph.node) for (const o of n.output ?? []) taken.add(o);
  for (const t of [...(graph.initializer ?? []), ...(graph.input ?? [])]) if (t.name) taken.add(t.name);
  let serial = 0;
  const fresh = (base: string): string => {
    let name: string;
    do name = `${base}_nchwc${serial++}`;
    while (taken.has(name));
    taken.add(name);
    return name;
  };

  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  // a weight read by several convs (D run twice, e.g. on a penalty's interpolates) is blocked once
  const blockedWeight = new Map<string, string>();
  let lowered = 0;
  for (const node of graph.node) {
    const [x, w, b] = node.input ?? [];
    const shape = w ? shapeOf.get(w) : undefined;
    const eligible =
      node.opType === 'Conv' &&
      !node.domain &&
      x && w && !constant.has(w) && shape?.length === 4 &&
      shape[0]! % block === 0 && shape[1]! % block === 0 &&
      (Number(attr(node, 'group')?.i ?? 1) === 1) &&
      ints(attr(node, 'dilations')).every((d) => d === 1) &&
      !attr(node, 'auto_pad');
    if (!eligible) {
      nodes.push(node);
      continue;
    }
    const [o, i, kh, kw] = shape!;
    const y = node.output![0]!;
    const base = node.name || y;
    const [xb, yb] = ['x', 'y'].map((s) => fresh(`${base}_${s}`));
    nodes.push({ name: fresh(`${base}_reorder_input`), opType: 'ReorderInput', domain: NCHWC_DOMAIN, input: [x], output: [xb!] });
    let wb = blockedWeight.get(w);
    if (!wb) {
      const [w1, w2, w3, s2, s4] = ['w1', 'w2', 'w3', 's2', 's4'].map((s) => fresh(`${base}_${s}`));
      wb = fresh(`${base}_wb`);
      blockedWeight.set(w, wb);
      initializers.push(int64Initializer(s2!, [1, o, i * kh! * kw!, 1]), int64Initializer(s4!, [o, i, kh!, kw!]));
      nodes.push(
        // The filter layout of MLAS's NCHWc kernels, [O/b, I/b, kh, kw, b_in, b_out], by two of its
        // own vectorised reorders: OIHW read as images [O, I, kh, kw] blocks the input channels,
        // (o, i/b, kh, kw, b_in); that read as one image [1, O, I·kh·kw, 1] blocks the output
        // channels outermost and innermost. Transposes (a 6-d permutation, or two one-axis moves)
        // took 2-3x longer, and neither needs the block size in a shape.
        { name: fresh(`${base}_w_block_in`), opType: 'ReorderInput', domain: NCHWC_DOMAIN, input: [w], output: [w1!] },
        { name: fresh(`${base}_w_view`), opType: 'Reshape', input: [w1!, s2!], output: [w2!] },
        { name: fresh(`${base}_w_block_out`), opType: 'ReorderInput', domain: NCHWC_DOMAIN, input: [w2!], output: [w3!] },
        { name: fresh(`${base}_w_merge`), opType: 'Reshape', input: [w3!, s4!], output: [wb] },
      );
    }
    nodes.push(
      {
        name: fresh(`${base}_conv`),
        opType: 'Conv',
        domain: NCHWC_DOMAIN,
        input: b ? [xb!, wb, b] : [xb!, wb],
        output: [yb!],
        attribute: (node.attribute ?? []).filter((a) => ['kernel_shape', 'strides', 'pads', 'dilations', 'group'].includes(a.name ?? '')),
      },
      { name: fresh(`${base}_reorder_output`), opType: 'ReorderOutput', domain: NCHWC_DOMAIN, input: [yb!], output: [y], attribute: [{ name: 'channels', type: onnx.AttributeProto.AttributeType.INT, i: o }] },
    );
    lowered++;
  }
  if (!lowered) return null;
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []), ...initializers];
  if (!(model.opsetImport ?? []).some((op) => op.domain === NCHWC_DOMAIN)) model.opsetImport = [...(model.opsetImport ?? []), { domain: NCHWC_DOMAIN, version: 1 }];
  return onnx.ModelProto.encode(model).finish();
}
