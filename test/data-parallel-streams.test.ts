/**
 * The data-parallel streams: N ranks with K local accumulations take exactly the real
 * batches and latents of one process with N·K accumulations (rank r: the r-th block of
 * every step), and every rank's loader ends where that process's does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchLoader } from '../src/data/batch-loader.js';
import { PreparedDataset } from '../src/data/prepared-dataset.js';
import { rankMicroBatches } from '../src/distributed/micro-batches.js';
import { iterationNoise, type NoiseSpec } from '../src/train/run/latents.js';

const R = 2;
function dataset(n: number): PreparedDataset {
  const per = R * R * 3;
  const images = Uint8Array.from({ length: n * per }, (_, k) => (k * 37 + 11) % 256);
  return PreparedDataset.fromArrays({ images, labels: Int32Array.from({ length: n }, (_, i) => i % 3), resolution: R, classNames: ['a', 'b', 'c'] });
}

test('rank blocks: the r-th K micro-batches of every step, covering one process exactly once', () => {
  const plan = { dSteps: 2, dAccumulations: 2, gAccumulations: 1 };
  const ranks = [0, 1, 2].map((rank) => rankMicroBatches({ ...plan, size: 3, rank }));
  assert.deepEqual(ranks[1], { dTotal: 6, gTotal: 3, d: [[2, 3], [8, 9]], g: [13] });
  const covered = ranks.flatMap((r) => [...r.d.flat(), ...r.g]).sort((a, b) => a - b);
  assert.deepEqual(covered, Array.from({ length: 2 * 6 + 3 }, (_, i) => i));
});

test('N ranks (loader.skip for the others\' batches) see one process\'s batches and latents, and end in its loader state', () => {
  const ds = dataset(23);
  const B = 2;
  const size = 2;
  const plan = { size, dSteps: 2, dAccumulations: 1, gAccumulations: 1 };
  const iterations = 7; // 28 real batches: past two epoch ends (11 batches per epoch)
  const one = new BatchLoader(ds, { batchSize: B, seed: 5, flip: true });
  const spec: NoiseSpec = { seed: 3, batch: B, zDim: 4, numClasses: 3, dSteps: 2, dAccumulations: size, gAccumulations: size, latent: 'normal', zStd: 1 };
  const loaders = [0, 1].map(() => new BatchLoader(ds, { batchSize: B, seed: 5, flip: true }));
  for (let itr = 1; itr <= iterations; itr++) {
    const wantReal = Array.from({ length: plan.dSteps * size }, () => one.next());
    const noise = iterationNoise(spec, itr);
    for (let rank = 0; rank < size; rank++) {
      const mine = rankMicroBatches({ ...plan, rank });
      const keep = new Set(mine.d.flat());
      for (let j = 0; j < wantReal.length; j++) {
        if (!keep.has(j)) {
          loaders[rank].skip();
          continue;
        }
        const got = loaders[rank].next();
        assert.deepEqual(got.images, wantReal[j].images, `itr ${itr} rank ${rank} real batch ${j}`);
        assert.deepEqual(got.labels, wantReal[j].labels);
      }
      // the rank's latents are the process's micro-batches r of each step (drawn by every rank)
      assert.deepEqual(mine.d.flat().map((j) => noise.zs[j]), [noise.zs[rank], noise.zs[size + rank]]);
      assert.deepEqual(mine.g.map((j) => noise.yFakes[j]), [noise.yFakes[2 * size + rank]]);
    }
  }
  for (const l of loaders) assert.deepEqual(l.state(), one.state());
});
