/**
 * The power-iteration updates of every spectrally normalised weight in a module, alone:
 * the u (and v) vectors a training forward writes back, without the forward. With W fixed
 * within a step, one process's micro-batch k starts from the vectors after k such updates,
 * so a data-parallel rank r advances them r times before its own forward instead of
 * waiting for the ranks before it (docs/ARCHITECTURE.md, data-parallel training). Built
 * from the same SpectralWeight code, it rounds as the training graphs do (tested bit for bit).
 */
import { Graph, type Param, type Tensor } from '../engine/graph.js';
import { Module, trainContext } from './module.js';
import { SpectralWeight } from './spectral-norm.js';

/** The graph of one power iteration for each SN weight under `model`: buffer -> its next value. */
export function spectralAdvance(model: Module): { graph: Graph; updates: Map<Param, Tensor> } {
  const graph = new Graph();
  const ctx = trainContext();
  for (const [, m] of model.namedModules()) if (m instanceof SpectralWeight) m.normalized(graph, ctx);
  // with the ajbrock flavour σ (a logging buffer) too: the value the forward of that step writes
  return { graph, updates: ctx.updates };
}
