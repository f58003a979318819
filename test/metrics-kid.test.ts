import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { readNpy } from '../src/io/npy.js';
import { matrix } from '../src/linalg/matrix.js';
import { matrixFromNdArray, indexRowsFromNdArray, float64Data } from '../src/metrics/feature-matrix.js';
import { kernelInceptionDistance, kidSubsetIndices } from '../src/metrics/kid.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { METRICS_REF } from './fixture-paths.js';

const results = JSON.parse(fs.readFileSync(path.join(METRICS_REF, 'results.json'), 'utf8'));
const load = (name: string) => readNpy(path.join(METRICS_REF, `${name}.npy`));
const x = matrixFromNdArray(load('kid_x'), 'kid_x');
const y = matrixFromNdArray(load('kid_y'), 'kid_y');
const RTOL = 1e-9;

function closeRel(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= RTOL * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

const CASES = [
  { key: 'default', prefix: 'kid_default', subsets: 100, size: 1000 },
  { key: 'small', prefix: 'kid_small', subsets: 5, size: 50 },
] as const;

for (const c of CASES) {
  test(`KID ${c.key}: subset draws, per-subset MMD, mean and std match torch-fidelity`, () => {
    const ref = results.kid[c.key];
    const ix = indexRowsFromNdArray(load(`${c.prefix}_idx_x`), 'idx_x');
    const iy = indexRowsFromNdArray(load(`${c.prefix}_idx_y`), 'idx_y');
    const drawn = kidSubsetIndices(x.rows, y.rows, c.subsets, c.size, 2020);
    assert.deepEqual(drawn.x, ix);
    assert.deepEqual(drawn.y, iy);

    const mmd = float64Data(load(`${c.prefix}_mmd_per_subset`), 'mmd');
    const r = c.key === 'default' ? kernelInceptionDistance(x, y) : kernelInceptionDistance(x, y, { subsets: 5, subsetSize: 50 });
    assert.equal(r.perSubset.length, c.subsets);
    for (let s = 0; s < c.subsets; s++) assert.ok(Math.abs(r.perSubset[s]! - mmd[s]!) < 1e-12, `subset ${s}`);
    closeRel(r.mean, ref.kernel_inception_distance_mean, 'mean');
    closeRel(r.std, ref.kernel_inception_distance_std, 'std');
    // The float32 pipeline of torch-fidelity lands within ~1e-6 of the float64 value.
    assert.ok(Math.abs(r.mean - ref.float32_features_mean) < 2e-6);

    // Fixture indices given explicitly, both evaluation strategies (first 5 subsets: per-subset
    // kernel blocks of 1000 x 1000 are the slow path).
    const k = Math.min(5, c.subsets);
    for (const strategy of ['gram', 'subsets'] as const) {
      const e = kernelInceptionDistance(x, y, { subsetIndices: { x: ix.slice(0, k), y: iy.slice(0, k) }, strategy });
      for (let s = 0; s < k; s++) assert.ok(Math.abs(e.perSubset[s]! - mmd[s]!) < 1e-12, `${strategy} subset ${s}`);
    }
  });
}

test('KID: kernel options, registry, errors', () => {
  // A set against itself: the unbiased estimate scatters around 0.
  const self = kernelInceptionDistance(x, x, { subsets: 10, subsetSize: 100 });
  assert.ok(Math.abs(self.mean) < 3 * self.std + 1e-12);
  // gamma/coef0/degree reach the kernel: degree 1, coef0 0 is the squared mean difference of the subsets.
  const a = matrix(3, 1, Float64Array.of(0, 1, 2)), b = matrix(3, 1, Float64Array.of(1, 2, 3));
  const lin = kernelInceptionDistance(a, b, { subsetIndices: { x: [[0, 1, 2]], y: [[0, 1, 2]] }, degree: 1, coef0: 0, gamma: 1 });
  // Unbiased linear-kernel MMD^2 = |mean a - mean b|^2 - (var terms); check against direct formula.
  const sumOff = (v: number[]) => { let s = 0; for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) s += v[i]! * v[j]!; return s; };
  const want = (sumOff([0, 1, 2]) + sumOff([1, 2, 3])) / 6 - (2 * (0 + 1 + 2) * (1 + 2 + 3)) / 9;
  assert.ok(Math.abs(lin.mean - want) < 1e-12);

  const r = computeMetrics(['kid'], { fakeFeatures: x, realFeatures: y }, { kid: { subsets: 5, subsetSize: 50 } });
  closeRel(r.kid_mean!, results.kid.small.kernel_inception_distance_mean, 'registry');
  const isUserError = (re: RegExp) => (err: unknown) => err instanceof UserError && re.test(err.message);
  assert.throws(() => kernelInceptionDistance(matrix(999, 64), y), isUserError(/subset size 1000 is larger than the number of samples \(999 and 1100\)/));
  assert.throws(() => kernelInceptionDistance(x, matrix(10, 3)), isUserError(/different dimensions \(64 vs 3\)/));
  assert.throws(() => kernelInceptionDistance(x, y, { subsetIndices: { x: [[0, 5000]], y: [[0, 1]] } }), isUserError(/index 5000/));
});
