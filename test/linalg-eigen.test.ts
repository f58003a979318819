import test from 'node:test';
import assert from 'node:assert/strict';
import { type Matrix, matrix, identity, maxAbs } from '../src/linalg/matrix.js';
import { multiplyABt } from '../src/linalg/gemm.js';
import { symmetricEigen, symmetricEigenvalues } from '../src/linalg/symmetric-eigen.js';
import { tridiagonalQL } from '../src/linalg/tridiagonal-ql.js';
import { Rng } from '../src/random/rng.js';

/** Reproducible uniform [0, 1) numbers for test matrices. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

function randomSymmetric(n: number, seed: number): Matrix {
  const r = rng(seed), a = matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = r() * 2 - 1;
      a.data[i * n + j] = v;
      a.data[j * n + i] = v;
    }
  }
  return a;
}

/** max |A v_k - lambda_k v_k| / max |A|, and max |V V^T - I|. */
function residuals(a: Matrix, values: Float64Array, vt: Matrix): { eig: number; orth: number } {
  const n = a.rows;
  const av = multiplyABt(a, vt); // column k = A v_k
  let eig = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) eig = Math.max(eig, Math.abs(av.data[i * n + k] - values[k] * vt.data[k * n + i]));
  }
  const g = multiplyABt(vt, vt);
  let orth = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) orth = Math.max(orth, Math.abs(g.data[i * n + j] - (i === j ? 1 : 0)));
  return { eig: eig / Math.max(maxAbs(a.data), Number.MIN_VALUE), orth };
}

test('random symmetric matrices: A V = V Lambda to 1e-10 relative, V orthonormal', () => {
  for (const [n, seed] of [[1, 1], [2, 2], [3, 3], [5, 4], [17, 5], [64, 6], [200, 7]] as const) {
    const a = randomSymmetric(n, seed);
    const e = symmetricEigen(a);
    const r = residuals(a, e.values, e.vectors);
    assert.ok(r.eig < 1e-10, `n=${n}: eigen residual ${r.eig}`);
    assert.ok(r.orth < 1e-10, `n=${n}: orthogonality ${r.orth}`);
    for (let k = 1; k < n; k++) assert.ok(e.values[k - 1]! <= e.values[k]!, 'ascending');
    const only = symmetricEigenvalues(a);
    for (let k = 0; k < n; k++) assert.ok(Math.abs(only[k]! - e.values[k]!) <= 1e-12 * Math.max(1, maxAbs(e.values)));
    // Sum of eigenvalues = trace.
    let tr = 0, sum = 0;
    for (let i = 0; i < n; i++) { tr += a.data[i * n + i]!; sum += e.values[i]!; }
    assert.ok(Math.abs(tr - sum) < 1e-10 * n);
  }
});

test('only the lower triangle is read', () => {
  const a = randomSymmetric(30, 11);
  const b = matrix(30, 30, a.data.slice());
  for (let i = 0; i < 30; i++) for (let j = i + 1; j < 30; j++) b.data[i * 30 + j] = 1e6; // garbage above
  assert.deepEqual(symmetricEigenvalues(b), symmetricEigenvalues(a));
});

test('known spectrum: H diag(d) H with a Householder H', () => {
  const n = 40, r = rng(21);
  const u = new Float64Array(n);
  let nu = 0;
  for (let i = 0; i < n; i++) { u[i] = r() - 0.5; nu += u[i]! * u[i]!; }
  const h = identity(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h.data[i * n + j]! -= (2 * u[i]! * u[j]!) / nu;
  // Spectrum with repeated, zero and negative values.
  const d = Array.from({ length: n }, (_, i) => (i < 5 ? 0 : i < 10 ? 3 : i - 20));
  const hd = matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) hd.data[i * n + j] = h.data[i * n + j]! * d[j]!;
  const a = multiplyABt(hd, h); // H D H^T
  const e = symmetricEigen(a);
  const sorted = [...d].sort((x, y) => x - y);
  for (let k = 0; k < n; k++) assert.ok(Math.abs(e.values[k]! - sorted[k]!) < 1e-12 * 20, `value ${k}`);
  const res = residuals(a, e.values, e.vectors);
  assert.ok(res.eig < 1e-12 && res.orth < 1e-12);
});

test('diagonal, zero and identity matrices', () => {
  const z = symmetricEigen(matrix(4, 4));
  assert.deepEqual([...z.values], [0, 0, 0, 0]);
  assert.ok(residuals(matrix(4, 4), z.values, z.vectors).orth < 1e-15);
  const id = symmetricEigen(identity(6));
  assert.deepEqual([...id.values], [1, 1, 1, 1, 1, 1]);
  const dg = matrix(3, 3, Float64Array.of(3, 0, 0, 0, -1, 0, 0, 0, 2));
  assert.deepEqual([...symmetricEigenvalues(dg)], [-1, 2, 3]);
  assert.equal(symmetricEigenvalues(matrix(0, 0)).length, 0);
});

test('2x2 closed form and tridiagonal QL directly', () => {
  // [[2, 1], [1, 2]] -> 1, 3 with vectors (1, -1)/sqrt2 and (1, 1)/sqrt2.
  const e = symmetricEigen(matrix(2, 2, Float64Array.of(2, 1, 1, 2)));
  assert.ok(Math.abs(e.values[0]! - 1) < 1e-15 && Math.abs(e.values[1]! - 3) < 1e-15);
  assert.ok(Math.abs(Math.abs(e.vectors.data[2]!) - Math.SQRT1_2) < 1e-15);
  // Tridiagonal with 2 on the diagonal and -1 off it: 2 - 2 cos(k pi / (n + 1)).
  const n = 50;
  const diag = new Float64Array(n).fill(2), off = new Float64Array(n).fill(-1);
  tridiagonalQL(diag, off);
  diag.sort();
  for (let k = 1; k <= n; k++) assert.ok(Math.abs(diag[k - 1]! - (2 - 2 * Math.cos((k * Math.PI) / (n + 1)))) < 1e-13);
});

test('rejects non-square and non-finite input', () => {
  assert.throws(() => symmetricEigen(matrix(2, 3)), /not square/);
  assert.throws(() => symmetricEigenvalues(matrix(2, 2, Float64Array.of(1, NaN, NaN, 1))), /non-finite/);
});
