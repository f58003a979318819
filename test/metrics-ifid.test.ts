/**
 * Intra-class FID on synthetic per-class Gaussian features whose per-class FID
 * is known in closed form, and the small-set FID route it uses (the span of
 * the rows) against fid.ts's covariance route.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { type Matrix, matrix } from '../src/linalg/matrix.js';
import { featureSetFid } from '../src/metrics/feature-set-fid.js';
import { type EpsOffsetPolicy, frechetDistanceFromFeatures } from '../src/metrics/fid.js';
import { intraClassFid } from '../src/metrics/intra-class-fid.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { Rng } from '../src/random/rng.js';
import { assertUserError } from './assert-user-error.js';

function gaussianRows(n: number, d: number, rng: Rng, mean: number, scale: number): Float64Array {
  return Float64Array.from({ length: n * d }, () => mean + scale * rng.normal());
}

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (tolerance ${tol})`);
}

test('FID of small feature sets: the span route equals the covariance route, for every eps policy', () => {
  const rng = new Rng(11);
  const d = 40;
  const x = matrix(12, d, gaussianRows(12, d, rng, 0.5, 1));
  const y = matrix(9, d, gaussianRows(9, d, rng, 0, 1.5));
  // a feature constant in one set: the case pytorch-fid's policy offsets
  const yc = matrix(9, d, y.data.slice());
  for (let i = 0; i < 9; i++) yc.data[i * d + 7] = 0.25;
  for (const [a, b, what] of [[x, y, 'no constant feature'], [x, yc, 'a constant feature']] as const) {
    for (const epsOffset of ['never', 'always', 'pytorch-fid'] as EpsOffsetPolicy[]) {
      const want = frechetDistanceFromFeatures(a, b, { epsOffset });
      const got = featureSetFid(a, b, { epsOffset, route: 'span' });
      close(got, want, 1e-10 * want, `${what}, ${epsOffset}`);
    }
  }
  // the offset changes the value (so the comparison above saw it applied in the span route too)
  assert.ok(Math.abs(featureSetFid(x, yc, { epsOffset: 'always', route: 'span' }) - featureSetFid(x, yc, { epsOffset: 'never', route: 'span' })) > 1e-6);
  // at least as many rows as dimensions: 'auto' is fid.ts itself
  const big = matrix(30, 8, gaussianRows(30, 8, rng, 0, 1)), big2 = matrix(25, 8, gaussianRows(25, 8, rng, 1, 1));
  assert.equal(featureSetFid(big, big2), frechetDistanceFromFeatures(big, big2));
  assertUserError(() => featureSetFid(matrix(1, d, x.data.slice(0, d)), y), /too few samples for the covariance: got 1/);
});

/**
 * Per class c: real rows R_c ~ N(m_c, s_c^2 I); generated rows G_c = a_c (R_c - mean(R_c)) + mean(R_c) + delta_c.
 * Then mean(G_c) - mean(R_c) = delta_c and Cov(G_c) = a_c^2 Cov(R_c), so
 * FID_c = |delta_c|^2 + tr S + a^2 tr S - 2 a tr S = |delta_c|^2 + (1 - a_c)^2 tr Cov(R_c), exactly.
 */
function perClassSets(d: number, perClass: number[], seed: number): {
  real: Matrix; realIds: Int32Array; fake: Matrix; fakeIds: Int32Array; want: number[];
} {
  const rng = new Rng(seed);
  const C = perClass.length, n = perClass.reduce((s, v) => s + v, 0);
  const real = matrix(n, d), fake = matrix(n, d);
  const realIds = new Int32Array(n), fakeIds = new Int32Array(n);
  const want: number[] = [];
  // classes interleaved in both sets, and in a different order in each
  const realOrder = Array.from({ length: n }, (_, i) => i), fakeOrder = [...realOrder].reverse();
  let row = 0;
  for (let c = 0; c < C; c++) {
    const m = perClass[c]!;
    const rows = gaussianRows(m, d, rng, c - 1, 0.5 + 0.3 * c);
    const a = 0.6 + 0.2 * c;
    const delta = Float64Array.from({ length: d }, (_, j) => (j % (c + 2) === 0 ? 0.1 * (c + 1) : 0));
    const mean = new Float64Array(d);
    for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j]! / m;
    let trace = 0;
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += (rows[i * d + j]! - mean[j]!) ** 2;
      trace += s / (m - 1);
    }
    let delta2 = 0;
    for (const v of delta) delta2 += v * v;
    want.push(delta2 + (1 - a) ** 2 * trace);
    for (let i = 0; i < m; i++, row++) {
      const ri = realOrder[row]!, fi = fakeOrder[row]!;
      realIds[ri] = c;
      fakeIds[fi] = c;
      for (let j = 0; j < d; j++) {
        const v = rows[i * d + j]!;
        real.data[ri * d + j] = v;
        fake.data[fi * d + j] = a * (v - mean[j]!) + mean[j]! + delta[j]!;
      }
    }
  }
  return { real, realIds, fake, fakeIds, want };
}

test('iFID = the mean of closed-form per-class FIDs (fewer rows than features, and more)', () => {
  for (const [d, perClass] of [[64, [5, 9, 12]], [6, [20, 30, 25, 40]]] as const) {
    const s = perClassSets(d, [...perClass], 3);
    const r = intraClassFid(s.fake, s.fakeIds, s.real, s.realIds, { epsOffset: 'never' });
    assert.deepEqual([...r.classes], perClass.map((_, c) => c));
    s.want.forEach((w, c) => close(r.perClass[c]!, w, 1e-9 * Math.max(1, w), `d=${d} class ${c}`));
    const mean = s.want.reduce((a, b) => a + b, 0) / s.want.length;
    close(r.mean, mean, 1e-9 * mean, `d=${d} mean`);
    // and through the registry, with the class count
    const m = computeMetrics(['ifid'], { fakeFeatures: s.fake, fakeClasses: s.fakeIds, realFeatures: s.real, realClasses: s.realIds }, { ifid: { epsOffset: 'never' } });
    assert.equal(m.ifid, r.mean);
    assert.equal(m.ifid_classes, perClass.length);
  }
});

test('iFID of a labelled set against itself is 0 (within rounding, never printed below 0)', () => {
  const s = perClassSets(48, [6, 7, 8], 5);
  const r = intraClassFid(s.real, s.realIds, s.real, s.realIds);
  for (const v of r.perClass) assert.ok(Math.abs(v) < 1e-10, `per-class FID of a set with itself: ${v}`);
  const m = computeMetrics(['ifid'], { fakeFeatures: s.real, fakeClasses: s.realIds, realFeatures: s.real, realClasses: s.realIds });
  assert.ok(m.ifid! >= 0 && m.ifid! < 1e-10);
  if (m.ifid_raw !== undefined) assert.ok(m.ifid_raw < 0 && m.ifid === 0);
});

test('iFID: classes are paired by id, and each needs 2 images in both sets', () => {
  const s = perClassSets(16, [4, 4, 4], 7);
  const names = ['cat', 'dog', 'owl', 'ant'];
  // one generated image of class 2 left: too few
  const keep = Array.from({ length: s.fake.rows }, (_, i) => i).filter((i) => s.fakeIds[i] !== 2 || i === s.fakeIds.indexOf(2));
  const fake = matrix(keep.length, 16, Float64Array.from(keep.flatMap((i) => [...s.fake.data.subarray(i * 16, i * 16 + 16)])));
  const fakeIds = Int32Array.from(keep.map((i) => s.fakeIds[i]!));
  assertUserError(() => intraClassFid(fake, fakeIds, s.real, s.realIds, {}, names), /iFID needs at least 2 images of every class in both sets: class 2 \(owl\) has 1 evaluated and 4 real/);
  // a generated class the real set lacks
  const otherIds = s.fakeIds.map((c) => (c === 1 ? 3 : c));
  assertUserError(() => intraClassFid(s.fake, otherIds, s.real, s.realIds, {}, names), /class 1 \(dog\) has 0 evaluated and 4 real/);
  assertUserError(() => computeMetrics(['ifid'], { fakeFeatures: s.fake, realFeatures: s.real, realClasses: s.realIds }), /metric ifid needs the class of each fake sample/);
  assertUserError(() => intraClassFid(s.fake, s.fakeIds.subarray(1), s.real, s.realIds), /11 class ids for 12 generated feature rows/);
});
