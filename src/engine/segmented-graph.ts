/**
 * A graph with cross-replica sums (ops/collective.ts) run as a chain of onnxruntime
 * sessions. A node's depth is the number of sums on its longest path from the inputs;
 * the nodes of one depth form one session, and before the session of depth k runs, the
 * sums whose results have depth k are computed by one call of the caller's `reduce` (in
 * place over their inputs packed together, e.g. one MPI Allreduce). Values that cross from one session to a later one (activations kept for the
 * backward pass, mostly) leave onnxruntime and come back as inputs: boundaryBytes() says
 * how many per run, the price of the cuts.
 */
import { Graph, Tensor, type Node } from './graph.js';
import { exportOnnx, liveNodes } from './onnx-export.js';
import { CompiledGraph, type Feed, type Fetched, type RuntimeOptions } from './runtime.js';
import { numel } from '../io/ndarray.js';
import { CROSS_REPLICA_SUM } from './ops/collective.js';

/** Sums `buf` over the replicas, in place (every replica calls it in the same order). */
export type CrossReplicaReduce = (buf: Float32Array | Float64Array) => Promise<void>;

interface Stage {
  compiled: CompiledGraph;
  /** stage input name -> the tensor of the whole graph it carries (graph inputs, params, earlier values) */
  sources: Map<string, Tensor>;
  /** stage output name -> tensor of the whole graph */
  results: Map<string, Tensor>;
  /** sums computed before this stage runs */
  sums: Node[];
}

const BYTES: Record<Tensor['dtype'], number> = { float32: 4, float64: 8, int64: 8, bool: 1 };

export class SegmentedGraph {
  private constructor(
    private readonly stages: Stage[],
    private readonly outputs: Record<string, Tensor>,
    /** bytes leaving onnxruntime between sessions per run (sum inputs not counted) */
    readonly boundaryBytes: number,
  ) {}

  /** Number of onnxruntime sessions (one more than the longest chain of sums). */
  get sessions(): number {
    return this.stages.length;
  }

  /** Cuts the graph computing `outputs` at its cross-replica sums and compiles each piece (params are fed, not baked in). */
  static async create(outputs: Record<string, Tensor>, opts: RuntimeOptions = {}): Promise<SegmentedGraph> {
    const tensors = Object.values(outputs);
    if (tensors.length === 0) throw new Error('SegmentedGraph: no outputs');
    const nodes = liveNodes(tensors[0].graph, tensors);
    const depth = new Map<Tensor, number>();
    const depthOf = (t: Tensor): number => depth.get(t) ?? 0;
    let maxDepth = 0;
    for (const n of nodes) {
      const k = Math.max(0, ...n.inputs.map(depthOf)) + (n.op === CROSS_REPLICA_SUM ? 1 : 0);
      n.outputs.forEach((t) => depth.set(t, k));
      maxDepth = Math.max(maxDepth, k);
    }
    // Sums run at their depth; every other node runs in the last session its consumers allow
    // (a sum's input: the session before the sum), so values derived from the forward pass for
    // the backward pass (conv-gradient windows, ReLU masks, upsampled copies) are made where
    // they are used and only their smaller sources cross (BigGAN 32 ch 64 G, 25 images: 700 -> 303 MiB).
    const sessionOf = new Map<Node, number>();
    const consumers = new Map<Tensor, Node[]>();
    for (const n of nodes) for (const t of n.inputs) consumers.set(t, [...(consumers.get(t) ?? []), n]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (n.op === CROSS_REPLICA_SUM) {
        sessionOf.set(n, depthOf(n.outputs[0]));
        continue;
      }
      let latest = n.outputs.some((t) => tensors.includes(t)) ? maxDepth : Infinity;
      for (const t of n.outputs) {
        for (const c of consumers.get(t) ?? []) latest = Math.min(latest, c.op === CROSS_REPLICA_SUM ? sessionOf.get(c)! - 1 : sessionOf.get(c)!);
      }
      sessionOf.set(n, Number.isFinite(latest) ? latest : depthOf(n.outputs[0]));
    }
    // who reads each value: nodes of other sessions, sums, and the caller
    const readOutside = new Set<Tensor>(tensors);
    for (const n of nodes) {
      for (const t of n.inputs) {
        if (t.producer && (n.op === CROSS_REPLICA_SUM || t.producer.op === CROSS_REPLICA_SUM || sessionOf.get(t.producer) !== sessionOf.get(n))) readOutside.add(t);
      }
    }
    const stages: Stage[] = [];
    let boundaryBytes = 0;
    for (let k = 0; k <= maxDepth; k++) {
      const own = nodes.filter((n) => n.op !== CROSS_REPLICA_SUM && sessionOf.get(n) === k);
      const sums = nodes.filter((n) => n.op === CROSS_REPLICA_SUM && depthOf(n.outputs[0]) === k);
      const piece = cut(own);
      const produced = new Set(own.flatMap((n) => n.outputs));
      const results = new Map<string, Tensor>();
      for (const t of produced) {
        if (!readOutside.has(t)) continue;
        results.set(boundaryName(t), t);
        if (!tensors.includes(t)) boundaryBytes += numel(t.shape as number[]) * BYTES[t.dtype];
      }
      const stageOutputs: Record<string, Tensor> = {};
      for (const [name, t] of results) {
        // named where it is made: no output Identity (see onnx-export.ts)
        const local = piece.map.get(t)!;
        local.name = name;
        stageOutputs[name] = local;
      }
      const compiled = results.size > 0
        ? await CompiledGraph.create(exportOnnx(piece.graph, { outputs: stageOutputs, paramInputs: 'all', graphName: `segment_${k}` }), { spinning: false, ...opts })
        : undefined;
      stages.push({ compiled: compiled!, sources: piece.sources, results, sums });
    }
    return new SegmentedGraph(stages.filter((s) => s.compiled || s.sums.length > 0), outputs, boundaryBytes);
  }

  /**
   * Runs every session in order, reducing across replicas between them. Feeds name the
   * graph's inputs; a parameter is fed its current data unless `feeds` names it.
   */
  async run(feeds: Record<string, Feed>, reduce: CrossReplicaReduce): Promise<Record<string, Fetched>> {
    const values = new Map<Tensor, Fetched>();
    const valueOf = (t: Tensor): Fetched => {
      const v = values.get(t) ?? (t.kind === 'input' ? feeds[t.name] : t.kind === 'param' ? feeds[t.param!.name] ?? t.param!.data : undefined);
      if (!v) throw new Error(`SegmentedGraph.run: ${t.name} not fed`);
      return v;
    };
    for (const stage of this.stages) {
      // the sums of one depth travel together: one reduction per dtype (packed into a fresh buffer,
      // which the reduction may overwrite: a sum's input can be a caller's feed)
      for (const dtype of ['float32', 'float64'] as const) {
        const sums = stage.sums.filter((n) => n.inputs[0].dtype === dtype);
        if (sums.length === 0) continue;
        const parts = sums.map((n) => valueOf(n.inputs[0]) as Float32Array | Float64Array);
        const packed = dtype === 'float32' ? new Float32Array(parts.reduce((a, p) => a + p.length, 0)) : new Float64Array(parts.reduce((a, p) => a + p.length, 0));
        let at = 0;
        for (const p of parts) {
          packed.set(p, at);
          at += p.length;
        }
        await reduce(packed);
        at = 0;
        sums.forEach((n, i) => {
          values.set(n.outputs[0], packed.slice(at, at + parts[i].length));
          at += parts[i].length;
        });
      }
      if (!stage.compiled) continue;
      const stageFeeds: Record<string, Feed> = {};
      for (const [name, t] of stage.sources) stageFeeds[name] = valueOf(t);
      const out = await stage.compiled.run(stageFeeds);
      for (const [name, t] of stage.results) values.set(t, out[name]);
    }
    const result: Record<string, Fetched> = {};
    for (const [name, t] of Object.entries(this.outputs)) result[name] = valueOf(t);
    return result;
  }

  async release(): Promise<void> {
    for (const s of this.stages) await s.compiled?.release();
  }
}

const boundaryName = (t: Tensor): string => `seg.${t.id}`;

/** One depth's nodes as a graph of their own: values from elsewhere become its inputs. */
function cut(own: Node[]): { graph: Graph; map: Map<Tensor, Tensor>; sources: Map<string, Tensor> } {
  const graph = new Graph();
  const map = new Map<Tensor, Tensor>();
  const sources = new Map<string, Tensor>();
  const local = (t: Tensor): Tensor => {
    let m = map.get(t);
    if (m) return m;
    if (t.kind === 'const') {
      m = graph.constant(t.constData!);
    } else if (t.kind === 'param') {
      m = graph.param(t.param!);
      sources.set(t.param!.name, t);
    } else {
      const name = t.kind === 'input' ? t.name : boundaryName(t);
      m = graph.input(name, [...t.shape], t.dtype);
      sources.set(name, t);
    }
    map.set(t, m);
    return m;
  };
  for (const n of own) {
    const outs = graph.addNode(n.op, n.inputs.map(local), n.attrs, n.outputs.map((t) => ({ shape: t.shape, dtype: t.dtype })), n.domain);
    n.outputs.forEach((t, i) => map.set(t, outs[i]));
  }
  return { graph, map, sources };
}
