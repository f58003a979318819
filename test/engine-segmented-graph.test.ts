/**
 * SegmentedGraph: a graph with cross-replica sums cut into onnxruntime sessions. One
 * replica must compute what the plain graph computes; two replicas (simulated in one
 * process, their sums met in JS) must compute what one process computes over their
 * concatenated batch. The same under a real `mpiexec -n 2`: test/mpi-collectives.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentedGraph } from '../src/engine/segmented-graph.js';
import { inProcessReducers } from './mpi/in-process-replicas.js';
import { bnGraph, globalInputs, maxRelDiff, plainRun, C, H, W } from './mpi/bn-graph.js';

test('one replica: the segmented graph computes what the plain graph computes', async () => {
  const batch = 6;
  const seg = await SegmentedGraph.create(bnGraph(batch, 1, true));
  // two sums in the forward pass, their two gradient sums in the backward pass
  assert.equal(seg.sessions, 5);
  assert.ok(seg.boundaryBytes > 0);
  const { x, w } = globalInputs(batch);
  const got = await seg.run({ x, w }, async () => {});
  const want = await plainRun(batch);
  for (const k of ['y', 'loss', 'dx', 'dgamma', 'dbeta']) assert.ok(maxRelDiff(got[k] as Float32Array, want[k] as Float32Array) < 1e-6, k);
});

test('two replicas with half the batch each: statistics and gradients of the whole batch', async () => {
  const per = 3;
  const reducers = inProcessReducers(2);
  const seg = await SegmentedGraph.create(bnGraph(per, 2, true));
  const { x, w } = globalInputs(2 * per);
  const img = C * H * W;
  const runs = await Promise.all([0, 1].map((r) => seg.run({ x: x.slice(r * per * img, (r + 1) * per * img), w: w.slice(r * per * img, (r + 1) * per * img) }, reducers[r])));
  const want = await plainRun(2 * per);
  const cat = (k: string) => Float32Array.from([...(runs[0][k] as Float32Array), ...(runs[1][k] as Float32Array)]);
  const added = (k: string) => (runs[0][k] as Float32Array).map((v, i) => v + (runs[1][k] as Float32Array)[i]);
  assert.ok(maxRelDiff(cat('y'), want.y as Float32Array) < 1e-5, 'y');
  assert.ok(maxRelDiff(cat('dx'), want.dx as Float32Array) < 1e-5, 'dx');
  // parameter gradients and the loss are per-replica parts: summed (the Allreduce of data parallelism)
  assert.ok(maxRelDiff(added('dgamma'), want.dgamma as Float32Array) < 1e-5, 'dgamma');
  assert.ok(maxRelDiff(added('dbeta'), want.dbeta as Float32Array) < 1e-5, 'dbeta');
  assert.ok(maxRelDiff(added('loss'), want.loss as Float32Array) < 1e-5, 'loss');
});
