import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { readNpy } from '../src/io/npy.js';
import { type Matrix, matrix } from '../src/linalg/matrix.js';
import { matrixFromNdArray, indicesFromNdArray } from '../src/metrics/feature-matrix.js';
import { inceptionScore } from '../src/metrics/inception-score.js';
import { NumpyRandomState } from '../src/metrics/numpy-random.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { METRICS_REF } from './fixture-paths.js';

const results = JSON.parse(fs.readFileSync(path.join(METRICS_REF, 'results.json'), 'utf8'));
const logits = matrixFromNdArray(readNpy(path.join(METRICS_REF, 'is_logits.npy')), 'is_logits');
const RTOL = 1e-9; // README section 4 for IS

function closeRel(got: number, want: number, what: string, rtol = RTOL): void {
  assert.ok(Math.abs(got - want) <= rtol * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

function checkCase(r: { mean: number; std: number; perSplit: Float64Array }, ref: any): void {
  closeRel(r.mean, ref.inception_score_mean, 'mean');
  closeRel(r.std, ref.inception_score_std, 'std');
  assert.equal(r.perSplit.length, ref.per_split.length);
  ref.per_split.forEach((v: number, i: number) => closeRel(r.perSplit[i]!, v, `split ${i}`));
}

function firstRows(m: Matrix, n: number): Matrix {
  return matrix(n, m.cols, m.data.subarray(0, n * m.cols));
}

test('NumPy RandomState: MT19937 reference output and the fixture permutation', () => {
  // First output of MT19937 seeded with init_genrand(5489), the reference value of the generator.
  assert.equal(new NumpyRandomState(5489).nextUint32(), 3499211612);
  const fixture = indicesFromNdArray(readNpy(path.join(METRICS_REF, 'is_shuffle_perm_seed2020.npy')), 'perm');
  assert.deepEqual(new NumpyRandomState(2020).permutation(1000), fixture);
  assert.deepEqual([...new NumpyRandomState(1).permutation(1)], [0]);
  assert.equal(new NumpyRandomState(7).permutation(0).length, 0);
});

test('IS default (own seeded shuffle, N=1000) reproduces torch-fidelity', () => {
  checkCase(inceptionScore(logits), results.is.default_shuffle);
});

test('IS with the fixture permutation given explicitly', () => {
  const perm = indicesFromNdArray(readNpy(path.join(METRICS_REF, 'is_shuffle_perm_seed2020.npy')), 'perm');
  checkCase(inceptionScore(logits, { permutation: perm }), results.is.default_shuffle);
});

test('IS without shuffling, and with N=997 (uneven splits)', () => {
  checkCase(inceptionScore(logits, { shuffle: false }), results.is.no_shuffle);
  checkCase(inceptionScore(firstRows(logits, 997)), results.is.n997_shuffle);
});

test('IS of one-hot logits spread evenly over K classes is K', () => {
  for (const k of [1, 4, 10]) {
    const n = 20 * k;
    const m = matrix(n, k);
    for (let i = 0; i < n; i++) m.data[i * k + (i % k)] = 100; // exp(-100) is tiny but not 0
    const r = inceptionScore(m, { shuffle: false, splits: 2 });
    closeRel(r.mean, k, `K=${k}`, 1e-12);
    assert.ok(r.std < 1e-12);
  }
  // Exactly-zero probabilities for unused classes (q = 0) count as 0, not NaN.
  const z = matrix(10, 3);
  for (let i = 0; i < 10; i++) z.data[i * 3 + (i % 2)] = 1000;
  closeRel(inceptionScore(z, { shuffle: false, splits: 1 }).mean, 2, 'unused class', 1e-12);
});

test('IS through the registry and input errors', () => {
  const r = computeMetrics(['is'], { fakeLogits: logits });
  closeRel(r.is_mean!, results.is.default_shuffle.inception_score_mean, 'registry mean');
  closeRel(r.is_std!, results.is.default_shuffle.inception_score_std, 'registry std');
  const isUserError = (re: RegExp) => (err: unknown) => err instanceof UserError && re.test(err.message);
  assert.throws(() => inceptionScore(firstRows(logits, 9)), isUserError(/10 splits needs at least 10 samples, got 9/));
  assert.throws(() => inceptionScore(firstRows(logits, 3), { permutation: [0, 0, 1], splits: 1 }), isUserError(/not a permutation/));
  assert.throws(() => inceptionScore(firstRows(logits, 3), { permutation: [0, 1], splits: 1 }), isUserError(/2 entries for 3 samples/));
  assert.throws(() => inceptionScore(matrix(2, 2, Float64Array.of(0, NaN, 1, 1)), { splits: 1 }), isUserError(/NaN/));
});
