/** Replicas simulated in one process: their cross-replica sums meet in JS. */
import type { CrossReplicaReduce } from '../../src/engine/segmented-graph.js';

/** n replicas in one process: each reduce waits for all n buffers, then every one gets the sum in replica order. */
export function inProcessReducers(n: number): CrossReplicaReduce[] {
  let pending: { buf: Float32Array | Float64Array; done: () => void }[] = [];
  return Array.from({ length: n }, (_, r) => async (buf) => {
    await new Promise<void>((done) => {
      pending[r] = { buf, done };
      if (pending.filter(Boolean).length < n) return;
      const all = pending;
      pending = [];
      const total = all[0].buf.slice();
      for (let q = 1; q < n; q++) for (let i = 0; i < total.length; i++) total[i] += all[q].buf[i];
      for (const p of all) {
        p.buf.set(total);
        p.done();
      }
    });
  });
}
