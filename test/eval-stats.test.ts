/**
 * `biggan fid-stats` end to end with `--inception procedural`: statistics of an
 * .npy set, shards that merge into exactly the statistics of the whole, and FID
 * of a set against its own statistics.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNpz } from '../src/io/npz.js';
import { writeNpy } from '../src/io/npy.js';
import { readStatsFile } from '../src/metrics/stats-file.js';
import { biggan } from './cli-helpers.js';
import { maxAbsDiff } from './array-diff.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-eval-stats-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const P = ['--inception', 'procedural'];

/** n uint8 NHWC images of side s, image i shifted by `first`. */
function images(n: number, s: number, first: number): Uint8Array {
  const out = new Uint8Array(n * s * s * 3);
  for (let i = 0; i < n; i++) {
    const k = i + first;
    for (let p = 0; p < s * s; p++) {
      const x = p % s, y = Math.floor(p / s);
      out[(i * s * s + p) * 3] = (x * 9 + k * 53) & 255;
      out[(i * s * s + p) * 3 + 1] = (y * 11 + k * 17) & 255;
      out[(i * s * s + p) * 3 + 2] = ((x * y) / 4 + k * 97) & 255;
    }
  }
  return out;
}


const S = 32;
const all = path.join(tmp, 'all.npy'), partA = path.join(tmp, 'a.npy'), partB = path.join(tmp, 'b.npy');
writeNpy(all, { dtype: 'uint8', shape: [10, S, S, 3], data: images(10, S, 0) });
writeNpy(partA, { dtype: 'uint8', shape: [4, S, S, 3], data: images(4, S, 0) });
writeNpy(partB, { dtype: 'uint8', shape: [6, S, S, 3], data: images(6, S, 4) });

test('fid-stats: pytorch-fid layout, and shards of parts merge into the statistics of the whole', () => {
  const whole = path.join(tmp, 'whole.npz');
  const r = biggan(['fid-stats', '--data', all, '--out', whole, ...P, '--batch', '4']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /10 images \(pipeline pytorch-fid\): wrote/);
  assert.match(r.stderr, /10 images < 2049: the 2048x2048 covariance is rank-deficient/);
  const arrays = readNpz(whole);
  assert.deepEqual([...arrays.keys()].sort(), ['mu', 'sigma']);
  assert.deepEqual(arrays.get('mu')!.shape, [2048]);
  assert.deepEqual(arrays.get('sigma')!.shape, [2048, 2048]);
  assert.equal(arrays.get('sigma')!.dtype, 'float64');

  const shards = [partA, partB].map((data, i) => {
    const shard = path.join(tmp, `shard${i}.npz`);
    const s = biggan(['fid-stats', '--data', data, '--out', path.join(tmp, `part${i}.npz`), '--shard-out', shard, ...P, '--batch', '4']);
    assert.equal(s.status, 0, s.stderr);
    return shard;
  });
  const merged = path.join(tmp, 'merged.npz'), mergedShard = path.join(tmp, 'merged-shard.npz');
  const m = biggan(['fid-stats', '--merge', ...shards, '--out', merged, '--shard-out', mergedShard]);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stderr, /merged 2 shard\(s\), 10 images \(pipeline pytorch-fid\)/);
  const a = readStatsFile(merged), b = readStatsFile(whole);
  const scale = b.sigma.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbsDiff(a.mu, b.mu) < 1e-12, `mu differs by ${maxAbsDiff(a.mu, b.mu)}`);
  assert.ok(maxAbsDiff(a.sigma.data, b.sigma.data) <= 1e-12 * scale, `sigma differs by ${maxAbsDiff(a.sigma.data, b.sigma.data)} (scale ${scale})`);
  assert.equal(Number((readNpz(mergedShard).get('count')!.data as BigInt64Array)[0]), 10);

  // a shard made with the other preprocessing does not merge
  const other = path.join(tmp, 'tf.npz');
  const t = biggan(['fid-stats', '--data', partA, '--out', path.join(tmp, 'tf-stats.npz'), '--shard-out', other, ...P, '--pipeline', 'torch-fidelity', '--batch', '4']);
  assert.equal(t.status, 0, t.stderr);
  const bad = biggan(['fid-stats', '--merge', shards[0]!, other, '--out', path.join(tmp, 'x.npz')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /pipeline torch-fidelity.*pipeline pytorch-fid/);
});

test('eval --images NPY against the statistics of the same set: FID ~ 0, never printed negative', () => {
  // written by the first test (made here when run alone)
  const whole = path.join(tmp, 'whole.npz');
  if (!fs.existsSync(whole)) assert.equal(biggan(['fid-stats', '--data', all, '--out', whole, ...P, '--batch', '4']).status, 0);
  const out = path.join(tmp, 'self.json');
  const r = biggan(['eval', '--images', all, '--stats', whole, ...P, '--metrics', 'fid', '--fid-eps-offset', 'never', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^FID 0\.000   \(n=10 images, pipeline pytorch-fid\)   \[procedural Inception: a testing aid, these scores mean nothing\]\n$/);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.ok(rep.metrics.fid >= 0 && rep.metrics.fid < 1e-9, `FID ${rep.metrics.fid}`);
  // a value below 0 by rounding is reported as 0, with the computed one kept and a note
  if (rep.metrics.fid_raw !== undefined) {
    assert.equal(rep.metrics.fid, 0);
    assert.ok(rep.metrics.fid_raw < 0 && rep.metrics.fid_raw > -1e-9);
    assert.match(r.stderr, /note: FID came out as -.*reported as 0/);
  }
  assert.equal(rep.images.kind, 'npy');
});

test('fid-stats: a single image is too few for a covariance', () => {
  const one = path.join(tmp, 'one.npy');
  writeNpy(one, { dtype: 'uint8', shape: [1, S, S, 3], data: images(1, S, 0) });
  const r = biggan(['fid-stats', '--data', one, '--out', path.join(tmp, 'one.npz'), ...P]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /too few samples for the covariance: got 1, need at least 2/);
});
