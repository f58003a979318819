/**
 * Precision/recall (Kynkäänniemi et al.) and density/coverage (Naeem et al.)
 * on feature sets whose answers are known by construction: a set against
 * itself, far-apart clusters, hand-computed 1-D configurations (integer
 * coordinates, so every distance is exact and the strict "inside" boundary
 * is tested), and a brute-force reference across block boundaries.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { type Matrix, matrix } from '../src/linalg/matrix.js';
import { densityCoverage } from '../src/metrics/density-coverage.js';
import { kthNeighbourSquaredDistances } from '../src/metrics/nearest-neighbours.js';
import { precisionRecall } from '../src/metrics/precision-recall.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { Rng } from '../src/random/rng.js';
import { assertUserError } from './assert-user-error.js';

function gaussian(n: number, d: number, seed: number, shift = 0, scale = 1): Matrix {
  const rng = new Rng(seed);
  return matrix(n, d, Float64Array.from({ length: n * d }, () => shift + scale * rng.normal()));
}

/** Points on a line: one feature each. */
function line(...xs: number[]): Matrix {
  return matrix(xs.length, 1, Float64Array.from(xs));
}

test('k-th nearest neighbour radii: the row itself is excluded, its duplicates count', () => {
  assert.deepEqual([...kthNeighbourSquaredDistances(line(0, 0, 0, 5), 1)], [0, 0, 0, 25]);
  assert.deepEqual([...kthNeighbourSquaredDistances(line(0, 0, 0, 5), 2)], [0, 0, 0, 25]);
  assert.deepEqual([...kthNeighbourSquaredDistances(line(0, 0, 0, 5), 3)], [25, 25, 25, 25]);
  // 0 2 4 6 20: k=1 -> 2 2 2 2 14; k=2 -> 4 2 2 4 16 (squared below)
  assert.deepEqual([...kthNeighbourSquaredDistances(line(0, 2, 4, 6, 20), 1)], [4, 4, 4, 4, 196]);
  assert.deepEqual([...kthNeighbourSquaredDistances(line(0, 2, 4, 6, 20), 2)], [16, 4, 4, 16, 256]);
  assertUserError(() => kthNeighbourSquaredDistances(line(0, 1, 2), 3), /k=3\) needs at least 4 samples, got 3/);
});

test('a set against itself: precision = recall = coverage = 1, density exactly 1', () => {
  const x = gaussian(60, 8, 1);
  for (const k of [1, 3, 5, 10]) {
    assert.deepEqual(precisionRecall(x, x, { k }), { precision: 1, recall: 1 }, `k=${k}`);
    // every ball holds its centre and the k-1 neighbours strictly inside its radius
    assert.deepEqual(densityCoverage(x, x, { k }), { density: 1, coverage: 1 }, `k=${k}`);
  }
});

test('far-apart clusters: everything 0', () => {
  const real = gaussian(40, 6, 2), fake = gaussian(30, 6, 3, 1000);
  assert.deepEqual(precisionRecall(real, fake), { precision: 0, recall: 0 });
  assert.deepEqual(densityCoverage(real, fake), { density: 0, coverage: 0 });
});

test('hand-computed 1-D configuration (exact arithmetic)', () => {
  // real 0 2 4 6 20, k=1 radii 2 2 2 2 14; fake 1 3 13 14 40, k=1 radii 2 2 1 1 26
  const real = line(0, 2, 4, 6, 20), fake = line(1, 3, 13, 14, 40);
  // precision: 1 (ball of 0), 3 (of 2), 13 and 14 (of 20: 7, 6 < 14) inside; 40 (20 from 20) not -> 4/5
  // recall: 0, 2 (ball of 1), 4 (of 3), 20 (of 40: 20 < 26) inside; 6 (3 from 3, 7 from 13) not -> 4/5
  assert.deepEqual(precisionRecall(real, fake, { k: 1 }), { precision: 0.8, recall: 0.8 });
  // density: fake 1 in balls of 0 and 2, 3 in 2 and 4, 13 and 14 in 20's, 40 in none: 6 / (k=1 * 5)
  // coverage: the balls of 0, 2, 4, 20 hold a fake sample, 6's (radius 2: nearest fake 3 away) none
  assert.deepEqual(densityCoverage(real, fake, { k: 1 }), { density: 6 / 5, coverage: 0.8 });
  // k=2: real radii 4 2 2 4 16. Ball of 0 holds 1 and 3 (1, 3 < 4), of 2 holds 1 and 3, of 4 holds 3,
  // of 6 holds 3 (3 < 4), of 20 holds 13 and 14: 8 / (k=2 * 5); every ball holds one
  assert.deepEqual(densityCoverage(real, fake, { k: 2 }), { density: 0.8, coverage: 1 });
});

test('the boundary is strict: a sample exactly at the radius is outside', () => {
  // real 0 2: k=1 radii 2 and 2; fake 4 is exactly 2 from real 2, fake 3 is 1 from it
  assert.deepEqual(precisionRecall(line(0, 2), line(4, 6), { k: 1 }), { precision: 0, recall: 0 });
  assert.deepEqual(densityCoverage(line(0, 2), line(4, 3), { k: 1 }), { density: 0.5, coverage: 0.5 });
});

/** The definitions computed pair by pair, every distance kept (prdc's compute_prdc, squared). */
function bruteForce(real: Matrix, fake: Matrix, k: number): { precision: number; recall: number; density: number; coverage: number } {
  const d2 = (a: Matrix, i: number, b: Matrix, j: number): number => {
    let s = 0;
    for (let c = 0; c < a.cols; c++) s += (a.data[i * a.cols + c]! - b.data[j * b.cols + c]!) ** 2;
    return s;
  };
  const radii = (x: Matrix): number[] => Array.from({ length: x.rows }, (_, i) => {
    const others = Array.from({ length: x.rows }, (_, j) => d2(x, i, x, j)).filter((_, j) => j !== i).sort((p, q) => p - q);
    return others[k - 1]!;
  });
  const rr = radii(real), rf = radii(fake);
  let precision = 0, recall = 0, inside = 0, coverage = 0;
  for (let j = 0; j < fake.rows; j++) {
    let n = 0;
    for (let i = 0; i < real.rows; i++) if (d2(real, i, fake, j) < rr[i]!) n++;
    if (n > 0) precision++;
    inside += n;
  }
  for (let i = 0; i < real.rows; i++) {
    let inFake = false, covered = false;
    for (let j = 0; j < fake.rows; j++) {
      const v = d2(real, i, fake, j);
      if (v < rf[j]!) inFake = true;
      if (v < rr[i]!) covered = true;
    }
    if (inFake) recall++;
    if (covered) coverage++;
  }
  return { precision: precision / fake.rows, recall: recall / real.rows, density: inside / (k * fake.rows), coverage: coverage / real.rows };
}

test('blocked computation = brute force across block boundaries (600 real x 1100 generated)', () => {
  // 600 > 512 rows per self-distance block, 1100 > 1024 columns per cross block, 600 > 256 rows per cross block
  const real = gaussian(600, 5, 4), fake = gaussian(1100, 5, 5, 0.3, 1.2);
  const want = bruteForce(real, fake, 3);
  assert.deepEqual(precisionRecall(real, fake, { k: 3 }), { precision: want.precision, recall: want.recall });
  const want5 = bruteForce(real, fake, 5);
  assert.deepEqual(densityCoverage(real, fake, { k: 5 }), { density: want5.density, coverage: want5.coverage });
  assert.ok(want.precision > 0.5 && want.precision < 1 && want.recall > 0.5 && want.recall < 1, JSON.stringify(want));
});

test('precision/recall and density/coverage through the registry; input errors', () => {
  const real = gaussian(20, 4, 6), fake = gaussian(25, 4, 7, 0.5);
  const r = computeMetrics(['pr', 'dc'], { realFeatures: real, fakeFeatures: fake }, { pr: { k: 2 }, dc: { k: 4 } });
  assert.deepEqual(r, { ...precisionRecall(real, fake, { k: 2 }), ...densityCoverage(real, fake, { k: 4 }) });
  // defaults: k = 3 and k = 5
  assert.deepEqual(computeMetrics(['pr', 'dc'], { realFeatures: real, fakeFeatures: fake }), { ...precisionRecall(real, fake, { k: 3 }), ...densityCoverage(real, fake, { k: 5 }) });
  assertUserError(() => computeMetrics(['pr'], { fakeFeatures: fake }), /metric pr needs real features \(statistics are not enough\)/);
  assertUserError(() => computeMetrics(['dc'], { realFeatures: real }), /metric dc needs fake features/);
  assertUserError(() => precisionRecall(real, gaussian(5, 3, 8)), /different dimensions \(4 vs 3\)/);
  assertUserError(() => densityCoverage(matrix(2, 1, Float64Array.of(0, NaN)), line(1)), /NaN/);
  assertUserError(() => precisionRecall(real, gaussian(3, 4, 9)), /\(k=3\) needs at least 4 samples, got 3/);
  assertUserError(() => densityCoverage(gaussian(5, 4, 10), fake), /\(k=5\) needs at least 6 samples, got 5/);
});
