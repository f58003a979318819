/**
 * Running statistics of micro-batches computed apart: forwards fed zero running statistics,
 * their outputs replayed in order, equal bit for bit the chain of one process that feeds
 * each forward the previous forward's statistics (BatchNorm2d and a class-conditional BN).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Param, type Tensor } from '../src/engine/graph.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, type Feed } from '../src/engine/runtime.js';
import { BatchNorm2d } from '../src/nn/batchnorm.js';
import { trainContext } from '../src/nn/module.js';
import { replayRunningAverage } from '../src/nn/running-average-replay.js';

test('zero-fed micro-batch forwards + replay = one process chaining its running statistics, bit for bit', async () => {
  const C = 6;
  const bn = new BatchNorm2d(C);
  bn.nameParams();
  const g = new Graph();
  const x = g.input('x', [3, C, 4, 5]);
  const ctx = trainContext();
  bn.forward(ctx, x);
  const stats: Param[] = [bn.stored_mean, bn.stored_var];
  const outputs: Record<string, Tensor> = Object.fromEntries(stats.map((p) => [`next:${p.name}`, ctx.updates.get(p)!]));
  const compiled = await CompiledGraph.create(exportOnnx(g, { outputs, paramInputs: 'all' }));
  const micro = Array.from({ length: 4 }, (_, k) => Float32Array.from({ length: 3 * C * 20 }, (_, i) => Math.sin(i * 0.3 + k) * (1 + k) + k * 0.7));
  const start = [Float32Array.from({ length: C }, (_, c) => 0.3 * c - 0.5), Float32Array.from({ length: C }, (_, c) => 1 + 0.2 * c)];
  const run = async (xs: Float32Array, mean: Float32Array, variance: Float32Array) => {
    const feeds: Record<string, Feed> = { x: xs, [stats[0].name]: mean, [stats[1].name]: variance };
    for (const inp of compiled.model.inputs) if (inp.param && !(inp.name in feeds)) feeds[inp.name] = inp.param.data;
    const out = await compiled.run(feeds);
    return stats.map((p) => out[`next:${p.name}`] as Float32Array);
  };
  // one process: each micro-batch's forward starts from the previous one's statistics
  let chained: Float32Array[] = start;
  for (const xs of micro) chained = await run(xs, chained[0], chained[1]);
  // ranks: every micro-batch from zeros, then the replay in micro-batch order
  const terms = await Promise.all(micro.map((xs) => run(xs, new Float32Array(C), new Float32Array(C))));
  for (let s = 0; s < 2; s++) {
    const replayed = replayRunningAverage(start[s], terms.map((t) => t[s]), bn.momentum);
    assert.deepEqual(replayed, chained[s], `${stats[s].name}: replay differs from the chain`);
  }
});
