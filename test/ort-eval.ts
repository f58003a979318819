/** Runs a graph once on onnxruntime with its parameters fed as inputs (gradient tests compare it with the float64 interpreter). */
import type { Graph, Tensor } from '../src/engine/graph.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, type Feed } from '../src/engine/runtime.js';

export async function runOrt(g: Graph, outputs: Record<string, Tensor>, feeds: Record<string, Feed>): Promise<Record<string, Float32Array>> {
  const model = exportOnnx(g, { outputs, paramInputs: 'all' });
  const all: Record<string, Feed> = { ...feeds };
  for (const inp of model.inputs) if (inp.param) all[inp.name] = inp.param.data;
  const cg = await CompiledGraph.create(model, { threads: 1 });
  try {
    return (await cg.run(all)) as Record<string, Float32Array>;
  } finally {
    await cg.release();
  }
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
