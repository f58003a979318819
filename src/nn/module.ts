/**
 * Modules hold their parameters as plain attributes (tinygrad style): the state dict
 * is found by walking those attributes, so a parameter's name is its attribute path
 * (`blocks.0.conv1.weight`) and nothing has to be registered by hand.
 */
import { Param, Tensor } from '../engine/graph.js';

/** What a forward pass needs besides its inputs. */
export interface ForwardContext {
  /** Training: batch statistics in BN, power-iteration updates written back. */
  training: boolean;
  /** New values of buffers computed by this forward (SN vectors, BN running statistics). */
  updates: Map<Param, Tensor>;
  /** When present, spectral-norm layers record the σ they divide by ([1, 1]), keyed by their weight. */
  sigmas?: Map<Param, Tensor>;
  /** Nothing will be differentiated through this forward: layers may leave out what only backprop needs. */
  noGrad?: boolean;
  /**
   * Cross-replica BatchNorm: batch statistics over this many data-parallel replicas' batches,
   * summed through crossReplicaSum (the graph then runs as a SegmentedGraph). Absent: this
   * forward's batch only.
   */
  crossReplicas?: number;
}

export function evalContext(): ForwardContext {
  return { training: false, updates: new Map() };
}

export function trainContext(): ForwardContext {
  return { training: true, updates: new Map() };
}

export abstract class Module {
  /** Every parameter and buffer under this module, in declaration order, keyed by attribute path. */
  namedParams(prefix = ''): [string, Param][] {
    const out: [string, Param][] = [];
    for (const [key, value] of Object.entries(this)) {
      collect(value, prefix ? `${prefix}.${key}` : key, out);
    }
    return out;
  }

  /** Sets every Param's name to its path, so ONNX graphs and checkpoints name weights by path. */
  nameParams(prefix = ''): this {
    for (const [path, p] of this.namedParams(prefix)) p.name = path;
    return this;
  }

  /** This module and every submodule, keyed by attribute path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    const visit = (value: unknown, path: string): void => {
      if (value instanceof Module) out.push(...value.namedModules(path));
      else if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}.${i}`));
    };
    for (const [key, value] of Object.entries(this)) visit(value, prefix ? `${prefix}.${key}` : key);
    return out;
  }

  stateDict(): Map<string, Param> {
    return new Map(this.namedParams());
  }

  parameterCount(trainableOnly = true): number {
    let n = 0;
    for (const [, p] of this.namedParams()) if (p.trainable || !trainableOnly) n += p.data.length;
    return n;
  }
}

function collect(value: unknown, path: string, out: [string, Param][]): void {
  if (value instanceof Param) out.push([path, value]);
  else if (value instanceof Module) out.push(...value.namedParams(path));
  else if (Array.isArray(value)) value.forEach((v, i) => collect(v, `${path}.${i}`, out));
}
