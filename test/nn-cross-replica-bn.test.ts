/**
 * Cross-replica BatchNorm in a real generator (ForwardContext.crossReplicas): two replicas
 * with half the batch each (simulated in one process) compute the images and, summed, the
 * parameter gradients of one generator over the whole batch, and the running statistics
 * every replica writes are the whole batch's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Param, type Tensor } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { grad } from '../src/engine/autodiff.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, type Fetched } from '../src/engine/runtime.js';
import { SegmentedGraph } from '../src/engine/segmented-graph.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { parseGeneratorArgs } from '../src/models/biggan-config.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { Rng } from '../src/random/rng.js';
import { inProcessReducers } from './mpi/in-process-replicas.js';
import { maxRelDiff } from './mpi/bn-graph.js';

const Z = 8;
const G = new BigGANGenerator(parseGeneratorArgs({ resolution: 32, G_ch: 4, dim_z: Z, n_classes: 3, G_attn: '0', shared_dim: 4, hier: false }));
initOrthogonal(G, new Rng(7));
initSpectralVectors(G);
const trainable = G.namedParams().map(([, p]) => p).filter((p) => p.trainable);
const runningMean = G.out_bn.stored_mean;

/** G forward in training mode, a loss Σ w·G(z), gradients of every trainable parameter, the output BN's new running mean */
function build(batch: number, crossReplicas?: number): Record<string, Tensor> {
  const g = new Graph();
  const z = g.input('z', [batch, Z]);
  const y = g.input('y', [batch], 'int64');
  const w = g.input('w', [batch, 3, 32, 32]);
  const ctx = { training: true, updates: new Map<Param, Tensor>(), ...(crossReplicas ? { crossReplicas } : {}) };
  const img = G.forward(ctx, { z, classes: { ids: y } });
  const loss = op.reduceSum(op.mul(img, w), [0, 1, 2, 3]);
  const grads = grad(loss, trainable.map((p) => g.param(p)));
  const outputs: Record<string, Tensor> = { img, loss, runningMean: ctx.updates.get(runningMean)! };
  grads.forEach((t, i) => (outputs[`grad${i}`] = t));
  return outputs;
}

function inputs(batch: number) {
  return {
    // phase 0.5: with sin(1.3 i), exactly one element of one backward stage's [3, 16, 16, 16]
    // gradient jumped once convs ran on the blocked kernels (by all appearances a tie at a ReLU kink
    // that their rounding flipped; every other element agreed to 1e-6)
    z: Float32Array.from({ length: batch * Z }, (_, i) => Math.sin(i * 1.3 + 0.5)),
    y: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 3)),
    w: Float32Array.from({ length: batch * 3072 }, (_, i) => Math.cos(i * 0.7)),
  };
}

test('G with cross-replica BN over 2 replicas of 3 images = G over 6 images (images, summed gradients, running statistics)', async () => {
  const per = 3;
  const whole = build(2 * per);
  const plain = await CompiledGraph.create(exportOnnx(whole.img.graph, { outputs: whole, paramInputs: 'all' }));
  const all = inputs(2 * per);
  const feeds: Record<string, Fetched> = { ...all };
  for (const inp of plain.model.inputs) if (inp.param) feeds[inp.name] = inp.param.data;
  const want = await plain.run(feeds);

  const seg = await SegmentedGraph.create(build(per, 2));
  assert.ok(seg.sessions > 10, `${seg.sessions} sessions`);
  const reducers = inProcessReducers(2);
  const half = (a: Float32Array | BigInt64Array, r: number, size: number) => a.slice(r * per * size, (r + 1) * per * size);
  const runs = await Promise.all([0, 1].map((r) => seg.run({ z: half(all.z, r, Z), y: half(all.y, r, 1), w: half(all.w, r, 3072) }, reducers[r])));

  const img = Float32Array.from([...(runs[0].img as Float32Array), ...(runs[1].img as Float32Array)]);
  assert.ok(maxRelDiff(img, want.img as Float32Array) < 1e-5, 'images');
  for (const r of runs) assert.ok(maxRelDiff(r.runningMean as Float32Array, want.runningMean as Float32Array) < 1e-6, 'running mean');
  // conv biases ahead of a BN have gradients that are rounding noise (BN removes their effect): judged against all gradients' scale
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const globalScale = Math.max(...trainable.map((_, i) => maxAbs(want[`grad${i}`] as Float32Array)));
  for (let i = 0; i < trainable.length; i++) {
    const a = runs[0][`grad${i}`] as Float32Array;
    const b = runs[1][`grad${i}`] as Float32Array;
    const ref = want[`grad${i}`] as Float32Array;
    const tol = 1e-4 * maxAbs(ref) + 1e-6 * globalScale;
    let worst = 0;
    for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(a[k] + b[k] - ref[k]));
    assert.ok(worst <= tol, `gradient of ${trainable[i].name}: off by ${worst}, tolerance ${tol}`);
  }
});
