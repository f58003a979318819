/**
 * A graph in which a parameter can stand for a computed value. Models read their
 * weights with `graph.param(p)`; a training iteration holds several forward passes
 * whose weights and buffers are the results of earlier steps (D after its Adam
 * step, SN vectors after the last power iteration). Binding a Param to a tensor
 * makes the unchanged model code read that tensor, so the whole iteration can be
 * one graph whose only state inputs are the values before it.
 */
import { Graph, Param, Tensor } from '../engine/graph.js';

export class BindingGraph extends Graph {
  private bound = new Map<Param, Tensor>();

  /** The bound value of p, else the graph input that feeds p. */
  override param(p: Param): Tensor {
    return this.bound.get(p) ?? super.param(p);
  }

  /** The graph input of p (its value when the graph starts), whatever is bound. */
  inputOf(p: Param): Tensor {
    return super.param(p);
  }

  /** Runs fn with `bindings` in force (replacing any earlier ones), then restores the previous ones. */
  withBindings<T>(bindings: Map<Param, Tensor>, fn: () => T): T {
    for (const [p, t] of bindings) {
      if (t.graph !== this) throw new Error(`binding for ${p.name}: tensor ${t} belongs to another graph`);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`binding for ${p.name}: tensor ${t} does not have the parameter's shape [${p.shape}]`);
      }
    }
    const saved = this.bound;
    this.bound = bindings;
    try {
      return fn();
    } finally {
      this.bound = saved;
    }
  }
}
