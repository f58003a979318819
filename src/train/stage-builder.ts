/**
 * The bookkeeping every training-stage graph shares (iteration-graph.ts,
 * accumulation-graph.ts): the current tensor of each state entry (weights, buffers,
 * Adam moments, G_ema) as the stage changes it, the named outputs, and the final
 * export, which returns the new value of every entry the stage changed.
 *
 * Each state entry starts as the graph input holding its value before the stage;
 * `set` records a newer value, which later reads (`cur`, bindings of a forward pass)
 * see. So the caller only swaps arrays between runs.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { exportOnnx, ExportedModel, liveNodes } from '../engine/onnx-export.js';
import { CROSS_REPLICA_SUM } from '../engine/ops/collective.js';
import type { ForwardContext } from '../nn/module.js';
import { BindingGraph } from './binding-graph.js';
import { adamUpdate, AdamScalars } from './adam.js';
import { AdamState } from './optimizer-state.js';
import { emaUpdate, EmaScalars } from './ema.js';
import type { GeneratorModel } from '../models/interfaces.js';

/** What a compiled stage needs to know about its graph. */
export interface StageLayout {
  model: ExportedModel;
  /** Operator count (before onnxruntime's optimisations). */
  nodes: number;
  /** Output name of each state entry's new value (weights, buffers, Adam moments, G_ema). */
  state: Map<Param, string>;
  /** The outputs by name when the graph holds cross-replica sums: it runs as a SegmentedGraph. */
  crossReplica?: Record<string, Tensor>;
}

export class StageBuilder {
  readonly g = new BindingGraph();
  private readonly state = new Map<Param, Tensor>();
  private readonly outputs: Record<string, Tensor> = {};

  /** The current value of p: its latest new value in this stage, else its graph input. */
  cur(p: Param): Tensor {
    return this.state.get(p) ?? this.g.inputOf(p);
  }

  /** Whether the stage has changed p so far. */
  changed(p: Param): boolean {
    return this.state.has(p);
  }

  set(p: Param, t: Tensor): void {
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`new value of ${p.name} has shape [${t.shape}], expected [${p.shape}]`);
    }
    this.state.set(p, t);
  }

  /** The buffer updates (SN vectors, BN statistics) a forward pass recorded. */
  applyUpdates(ctx: ForwardContext): void {
    ctx.updates.forEach((t, p) => this.set(p, t));
  }

  /** Current values of a network's entries; `frozen`: trainable ones behind stopGradient. */
  bindingsOf(entries: Param[], frozen: boolean): Map<Param, Tensor> {
    return new Map(entries.map((p) => [p, frozen && p.trainable ? op.stopGradient(this.cur(p)) : this.cur(p)]));
  }

  /** One Adam step of `params` with `grads` (same order). */
  adamStep(adam: AdamState, params: Param[], grads: Tensor[], s: AdamScalars): void {
    params.forEach((p, i) => {
      const slots = adam.slots.get(p);
      if (!slots) throw new Error(`no Adam state for ${p.name}`);
      const u = adamUpdate(this.cur(p), grads[i], this.cur(slots.expAvg), this.cur(slots.expAvgSq), s);
      this.set(p, u.param);
      this.set(slots.expAvg, u.expAvg);
      this.set(slots.expAvgSq, u.expAvgSq);
    });
  }

  /** G_ema ← EMA of every G entry (weights and buffers), from their current values. */
  emaStep(G: GeneratorModel, G_ema: GeneratorModel, s: EmaScalars): void {
    const emaEntries = new Map(G_ema.namedParams());
    for (const [path, p] of G.namedParams()) {
      const e = emaEntries.get(path);
      if (!e) throw new Error(`G_ema has no entry ${path}`);
      this.set(e, emaUpdate(this.cur(e), this.cur(p), s));
    }
  }

  out(name: string, t: Tensor): string {
    if (name in this.outputs) throw new Error(`training stage graph: output ${name} defined twice`);
    this.outputs[name] = t;
    return name;
  }

  outEach(prefix: string, params: Param[], values: Tensor[]): Map<Param, string> {
    return new Map(params.map((p, i) => [p, this.out(`${prefix}:${p.name}`, values[i])]));
  }

  /** Outputs the new value of every changed entry (`new:<name>`) and exports the graph. */
  finish(docString: string): StageLayout {
    const state = new Map<Param, string>();
    for (const [p, t] of this.state) state.set(p, this.out(`new:${p.name}`, t));
    const model = exportOnnx(this.g, { outputs: this.outputs, paramInputs: 'all', graphName: 'biggan_train', docString });
    const nodes = liveNodes(this.g, Object.values(this.outputs));
    const crossReplica = nodes.some((n) => n.op === CROSS_REPLICA_SUM) ? { ...this.outputs } : undefined;
    return { model, nodes: nodes.length, state, ...(crossReplica ? { crossReplica } : {}) };
  }
}
