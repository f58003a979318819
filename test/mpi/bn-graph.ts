/**
 * A BatchNorm layer whose statistics are summed across replicas (the cross-replica BN
 * building block), with a loss and its gradients: built once with crossReplicaSum (run
 * as a SegmentedGraph) and once with the sums left out (a plain graph, the one-process
 * reference over the whole batch).
 */
import { Graph, Param, Tensor } from '../../src/engine/graph.js';
import * as op from '../../src/engine/ops.js';
import { grad } from '../../src/engine/autodiff.js';
import { CompiledGraph, type Fetched } from '../../src/engine/runtime.js';
import { exportOnnx } from '../../src/engine/onnx-export.js';

export const C = 4;
export const H = 3;
export const W = 5;

export function bnParams(): { gamma: Param; beta: Param } {
  const gamma = new Param('gamma', [1, C, 1, 1], Float32Array.from({ length: C }, (_, c) => 0.5 + 0.25 * c));
  const beta = new Param('beta', [1, C, 1, 1], Float32Array.from({ length: C }, (_, c) => 0.1 * c - 0.2));
  return { gamma, beta };
}

/** y = BN(x) with statistics over `replicas` × batch images; loss = Σ w·y; gradients of the loss. */
export function bnGraph(batch: number, replicas: number, crossReplica: boolean, params = bnParams()): Record<string, Tensor> {
  const g = new Graph();
  const sum = (t: Tensor): Tensor => (crossReplica ? op.crossReplicaSum(t) : t);
  const x = g.input('x', [batch, C, H, W]);
  const w = g.input('w', [batch, C, H, W]);
  const n = replicas * batch * H * W;
  const mean = op.div(sum(op.reduceSum(x, [0, 2, 3], true)), n);
  const d = op.sub(x, mean);
  const variance = op.div(sum(op.reduceSum(op.mul(d, d), [0, 2, 3], true)), n);
  const y = op.add(op.mul(op.div(d, op.sqrt(op.add(variance, 1e-5))), g.param(params.gamma)), g.param(params.beta));
  const loss = op.reduceSum(op.mul(w, y), [0, 1, 2, 3]);
  const [dx, dgamma, dbeta] = grad(loss, [x, g.param(params.gamma), g.param(params.beta)]);
  return { y, loss, dx, dgamma, dbeta };
}

/** Image i of the global batch (x and w), the same on every replica. */
export function globalInputs(total: number): { x: Float32Array; w: Float32Array } {
  const size = total * C * H * W;
  const x = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.71) * 2 + ((i * 13) % 7) * 0.3);
  const w = Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.37));
  return { x, w };
}

/** The one-process reference: the plain graph over the whole batch of `batch` images. */
export async function plainRun(batch: number): Promise<Record<string, Fetched>> {
  const params = bnParams();
  const outputs = bnGraph(batch, 1, false, params);
  const compiled = await CompiledGraph.create(exportOnnx(outputs.y.graph, { outputs, paramInputs: 'all' }));
  const { x, w } = globalInputs(batch);
  return compiled.run({ x, w, gamma: params.gamma.data, beta: params.beta.data });
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}
