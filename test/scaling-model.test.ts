import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ringAllreduceSeconds, scalingPoint, smallAllreduceSeconds, type Network } from '../bench/scaling-model.js';

const NET: Network = { label: 'test', bytesPerS: 1e9, latencyS: 1e-5 };

test('ring Allreduce: 2(p-1)/p of the bytes over the bandwidth plus 2(p-1) latencies; nothing on one worker', () => {
  assert.equal(ringAllreduceSeconds(1e9, 1, NET), 0);
  // p = 4: 1.5 × 1 s + 6 × 10 µs
  assert.ok(Math.abs(ringAllreduceSeconds(1e9, 4, NET) - (1.5 + 6e-5)) < 1e-12);
  assert.ok(Math.abs(smallAllreduceSeconds(8, NET) - 3e-5) < 1e-15);
  assert.ok(Math.abs(smallAllreduceSeconds(5, NET) - 3e-5) < 1e-15);
});

test('a point: compute shrinks with p, communication adds, efficiency = T(1) / (p T(p))', () => {
  const cost = { perImageSeconds: 0.01, globalBatch: 100, fixedSeconds: 0, ringAllreduceBytes: [1e8, 1e8], smallAllreduces: 10 };
  const one = scalingPoint(cost, 1, NET);
  assert.equal(one.computeS, 1);
  assert.equal(one.communicationS, 0);
  assert.equal(one.efficiency, 1);
  const two = scalingPoint(cost, 2, NET);
  // compute 0.5 s; each ring: 1 × 0.1 s + 2 × 10 µs; 10 small: 10 × 10 µs
  const comm = 2 * (0.1 + 2e-5) + 10 * 1e-5;
  assert.ok(Math.abs(two.communicationS - comm) < 1e-12);
  assert.ok(Math.abs(two.efficiency - 0.5 / (0.5 + comm)) < 1e-12);
  assert.throws(() => scalingPoint(cost, 0, NET), /positive integer/);
  // a fixed per-worker cost does not shrink with p: efficiency falls even without communication
  const fixed = scalingPoint({ ...cost, fixedSeconds: 0.5, ringAllreduceBytes: [], smallAllreduces: 0 }, 2, NET);
  assert.equal(fixed.computeS, 1);
  assert.equal(fixed.efficiency, 1.5 / 2);
});
