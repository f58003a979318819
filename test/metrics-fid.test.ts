import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNpy } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz.js';
import { type Matrix, matrix } from '../src/linalg/matrix.js';
import { matrixFromNdArray, float64Data } from '../src/metrics/feature-matrix.js';
import {
  frechetDistance, frechetDistanceDetails, frechetDistanceFromFeatures, gaussianStatsFromFeatures,
} from '../src/metrics/fid.js';
import { FeatureStats } from '../src/metrics/feature-stats.js';
import { readStatsFile, writeStatsFile } from '../src/metrics/stats-file.js';
import { computeMetrics, listMetrics, getMetric } from '../src/metrics/registry.js';
import { METRICS_REF } from './fixture-paths.js';
import { assertUserError } from './assert-user-error.js';

const results = JSON.parse(fs.readFileSync(path.join(METRICS_REF, 'results.json'), 'utf8'));
const features = (name: string): Matrix => matrixFromNdArray(readNpy(path.join(METRICS_REF, `${name}.npy`)), name);

function close(got: number, want: number, atol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= atol, `${what}: got ${got}, want ${want}, |diff| ${Math.abs(got - want)} > ${atol}`);
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-metrics-fid-'));
}

const CASES = [
  // README section 4: rtol 1e-9 for main, atol 1e-5 for rank-deficient, ~1e-6 relative for singular.
  { key: 'main', a: 'fid_a', b: 'fid_b', atol: 1e-9 * 114.45, eps: false },
  { key: 'rank_deficient', a: 'fid_rankdef_a', b: 'fid_rankdef_b', atol: 1e-5, eps: false },
  { key: 'singular', a: 'fid_singular_a', b: 'fid_singular_b', atol: 1e-6 * 98.5, eps: true },
] as const;

test('mean and ddof-1 covariance match numpy (fid_mu_a, fid_sigma_a)', () => {
  const s = gaussianStatsFromFeatures(features('fid_a'));
  const mu = float64Data(readNpy(path.join(METRICS_REF, 'fid_mu_a.npy')), 'mu');
  const sigma = float64Data(readNpy(path.join(METRICS_REF, 'fid_sigma_a.npy')), 'sigma');
  for (let i = 0; i < mu.length; i++) close(s.mu[i]!, mu[i]!, 1e-15, `mu[${i}]`);
  for (let i = 0; i < sigma.length; i++) close(s.sigma.data[i]!, sigma[i]!, 1e-13, `sigma[${i}]`);
});

for (const c of CASES) {
  test(`FID fixture case ${c.key}: default reproduces pytorch-fid`, () => {
    const ref = results.fid[c.key];
    const A = gaussianStatsFromFeatures(features(c.a)), B = gaussianStatsFromFeatures(features(c.b));
    const d = frechetDistanceDetails(A.mu, A.sigma, B.mu, B.sigma);
    assert.equal(d.epsOffsetApplied, ref.eps_branch_taken);
    assert.equal(d.epsOffsetApplied, c.eps);
    close(d.fid, ref.pytorch_fid, c.atol, 'pytorch-fid');
    close(d.meanTerm, ref.mean_term, 1e-12, 'mean term');
    close(d.traceSigma1, ref.trace_sigma1, 1e-12, 'tr sigma1');
    close(d.traceSigma2, ref.trace_sigma2, 1e-12, 'tr sigma2');
    // Cross-check with the eigendecomposition route.
    close(frechetDistance(A.mu, A.sigma, B.mu, B.sigma, { method: 'eigh' }), ref.pytorch_fid, c.atol, 'pytorch-fid (eigh)');
    // torch-fidelity (no eps offset) and the always-offset variant.
    close(frechetDistance(A.mu, A.sigma, B.mu, B.sigma, { epsOffset: 'never' }), ref.torch_fidelity_eigvals, c.atol, 'torch-fidelity');
    close(frechetDistance(A.mu, A.sigma, B.mu, B.sigma, { epsOffset: 'always' }), ref.with_eps_offset_always, c.atol, 'always offset');
    // Symmetric in its arguments.
    close(frechetDistance(B.mu, B.sigma, A.mu, A.sigma), d.fid, 1e-9 * d.fid, 'symmetry');
  });
}

test('singular case: the two references are 0.0103 apart and each option picks its own', () => {
  const ref = results.fid.singular;
  const A = gaussianStatsFromFeatures(features('fid_singular_a')), B = gaussianStatsFromFeatures(features('fid_singular_b'));
  const pf = frechetDistance(A.mu, A.sigma, B.mu, B.sigma);
  const tf = frechetDistance(A.mu, A.sigma, B.mu, B.sigma, { epsOffset: 'never' });
  close(pf, ref.pytorch_fid, 1e-7, 'pytorch-fid');
  // A 40-digit mpmath evaluation of the eps-offset formula on these sigmas gave
  // 98.51666344650981 (SciPy's sqrtm: 6e-12 away); the offset case is well conditioned.
  close(pf, 98.51666344650981, 1e-10, 'high-precision eps-offset value');
  close(tf, ref.own_symmetric_eigh, 1e-6, 'no-offset symmetric');
  assert.ok(Math.abs(pf - tf) > 0.01);
});

test('FID of a set against itself is ~0 (full-rank, rank-deficient, dead features)', () => {
  for (const name of ['fid_a', 'fid_rankdef_a', 'fid_singular_a']) {
    const s = gaussianStatsFromFeatures(features(name));
    let tr = 0;
    for (let i = 0; i < s.mu.length; i++) tr += s.sigma.data[i * s.mu.length + i]!;
    const fid = frechetDistance(s.mu, s.sigma, s.mu, s.sigma, { epsOffset: 'never' });
    assert.ok(Math.abs(fid) < 1e-10 * tr, `${name}: ${fid}`);
  }
  // And a larger random set through the whole path (256-d).
  const n = 600, d = 256;
  const x = matrix(n, d);
  let seed = 12345;
  for (let i = 0; i < x.data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    x.data[i] = seed / 2 ** 32 + 0.01 * (i % d);
  }
  assert.ok(Math.abs(frechetDistanceFromFeatures(x, x)) < 1e-9);
});

test('FeatureStats: batches, shard merges and serialisation reproduce the whole', () => {
  const x = features('fid_a'); // 500 x 64
  const d = x.cols;
  const rows = (r0: number, r1: number): Matrix => matrix(r1 - r0, d, x.data.subarray(r0 * d, r1 * d));
  const exact = gaussianStatsFromFeatures(x);
  const bounds = [0, 100, 200, 300, 400, 500];

  const shift = Float64Array.from(x.data.subarray(0, d));
  const whole = new FeatureStats(d, { shift });
  for (let b = 0; b + 1 < bounds.length; b++) whole.add(rows(bounds[b]!, bounds[b + 1]!));
  assert.equal(whole.count, 500);
  const w = whole.toMeanCov();
  for (let i = 0; i < d; i++) close(w.mu[i]!, exact.mu[i]!, 1e-14, 'streamed mu');
  for (let i = 0; i < d * d; i++) close(w.sigma.data[i]!, exact.sigma.data[i]!, 1e-13, 'streamed sigma');

  // Two shards with the same shift (same batches): merged result is bit-identical.
  const s1 = new FeatureStats(d, { shift }).add(rows(0, 100)).add(rows(100, 200));
  const s2 = new FeatureStats(d, { shift }).add(rows(400, 500)).add(rows(200, 300)).add(rows(300, 400));
  const dir = tmpDir();
  try {
    s2.save(path.join(dir, 'shard2.npz'));
    const merged = new FeatureStats(d).merge(s1).merge(FeatureStats.load(path.join(dir, 'shard2.npz')));
    assert.equal(merged.count, 500);
    const m = merged.toMeanCov();
    assert.deepEqual(m.mu, w.mu);
    assert.deepEqual(m.sigma.data, w.sigma.data);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // Default shifts differ per shard: merging re-centres, equal to rounding.
  const a = new FeatureStats(d).add(rows(0, 250));
  const b = new FeatureStats(d).add(rows(250, 500));
  const m2 = a.merge(b).toMeanCov();
  for (let i = 0; i < d; i++) close(m2.mu[i]!, exact.mu[i]!, 1e-14, 'merged mu');
  for (let i = 0; i < d * d; i++) close(m2.sigma.data[i]!, exact.sigma.data[i]!, 1e-13, 'merged sigma');

  // Too few samples, wrong width.
  assertUserError(() => new FeatureStats(d).add(rows(0, 1)).toMeanCov(), /too few samples for the covariance: got 1, need at least 2/);
  assertUserError(() => gaussianStatsFromFeatures(rows(0, 1)), /too few samples for the covariance: got 1, need at least 2/);
  assertUserError(() => new FeatureStats(d + 1).add(rows(0, 2)), /65/);
  // float32 batches are accepted as they come out of the network.
  const f32 = new FeatureStats(2).add({ rows: 3, cols: 2, data: Float32Array.of(1, 2, 3, 4, 5, 7) }).toMeanCov();
  close(f32.mu[1]!, 13 / 3, 1e-15, 'float32 batch mean');
});

test('stats files: round trip, float32 input, clear errors', () => {
  const dir = tmpDir();
  try {
    const s = gaussianStatsFromFeatures(features('fid_b'));
    const file = path.join(dir, 'stats.npz');
    writeStatsFile(file, s);
    const back = readStatsFile(file);
    assert.deepEqual(back.mu, s.mu);
    assert.deepEqual(back.sigma.data, s.sigma.data);

    const f32 = path.join(dir, 'f32.npz');
    writeNpz(f32, {
      mu: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) },
      sigma: { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 0.5, 0.5, 2) },
      extra: { dtype: 'int32', shape: [1], data: Int32Array.of(3) },
    });
    assert.deepEqual([...readStatsFile(f32).sigma.data], [1, 0.5, 0.5, 2]);

    const bad = (name: string, arrays: Parameters<typeof writeNpz>[1], re: RegExp): void => {
      const p = path.join(dir, name);
      writeNpz(p, arrays);
      assertUserError(() => readStatsFile(p), re);
    };
    const f64 = (shape: number[], n = shape.reduce((x, y) => x * y, 1)) => ({ dtype: 'float64' as const, shape, data: new Float64Array(n) });
    bad('nokeys.npz', { m: f64([2]) }, /expected arrays 'mu' and 'sigma', found 'm'/);
    bad('mu2d.npz', { mu: f64([2, 1]), sigma: f64([2, 2]) }, /'mu' must be 1-D, got shape \[2, 1\]/);
    bad('sig1d.npz', { mu: f64([2]), sigma: f64([4]) }, /'sigma' must be 2-D/);
    bad('nonsq.npz', { mu: f64([2]), sigma: f64([2, 3]) }, /'sigma' must be square, got shape \[2, 3\]/);
    bad('mismatch.npz', { mu: f64([3]), sigma: f64([2, 2]) }, /'mu' has 3 entries but 'sigma' is 2x2/);
    bad('int.npz', { mu: { dtype: 'int32', shape: [2], data: Int32Array.of(1, 2) }, sigma: f64([2, 2]) }, /must be float32 or float64, got int32/);
    bad('nan.npz', { mu: f64([2]), sigma: { dtype: 'float64', shape: [2, 2], data: Float64Array.of(1, NaN, NaN, 1) } }, /NaN/);
    bad('asym.npz', { mu: f64([2]), sigma: { dtype: 'float64', shape: [2, 2], data: Float64Array.of(1, 0.5, -0.5, 1) } }, /not symmetric/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('frechetDistance rejects mismatched statistics', () => {
  const a = gaussianStatsFromFeatures(features('fid_a'));
  const small = { mu: new Float64Array(2), sigma: matrix(2, 2, Float64Array.of(1, 0, 0, 1)) };
  assertUserError(() => frechetDistance(a.mu, a.sigma, small.mu, small.sigma), /different dimensions \(64 vs 2\)/);
  assertUserError(() => frechetDistance(new Float64Array(3), small.sigma, small.mu, small.sigma), /mu has 3 entries but sigma is 2x2/);
});

test('metric registry lists is, fid, kid (then pr, dc, ifid) and computes FID from features or stats', () => {
  assert.deepEqual(listMetrics().map((m) => m.name), ['is', 'fid', 'kid', 'pr', 'dc', 'ifid']);
  for (const m of listMetrics()) assert.ok(m.description.length > 10);
  const fa = features('fid_a'), fb = features('fid_b');
  const r1 = computeMetrics(['fid'], { fakeFeatures: fa, realFeatures: fb });
  close(r1.fid!, results.fid.main.pytorch_fid, 1e-7, 'registry fid');
  const r2 = computeMetrics(['fid'], { fakeFeatures: fa, realStats: gaussianStatsFromFeatures(fb) });
  close(r2.fid!, r1.fid!, 1e-12, 'stats vs features');
  assertUserError(() => getMetric('fid50k'), /unknown metric 'fid50k' \(available: is, fid, kid, pr, dc, ifid\)/);
  assertUserError(() => computeMetrics(['fid'], { fakeFeatures: fa }), /needs real features or real statistics/);
  assertUserError(() => computeMetrics(['kid'], { fakeFeatures: fa, realStats: gaussianStatsFromFeatures(fb) }), /real features/);
  assertUserError(() => computeMetrics(['is'], {}), /needs fake logits/);
});
