import test from 'node:test';
import assert from 'node:assert/strict';
import { type Matrix, matrix, maxAbs } from '../src/linalg/matrix.js';
import { multiply, multiplyABt, gemmABt } from '../src/linalg/gemm.js';
import { pivotedCholesky } from '../src/linalg/pivoted-cholesky.js';
import { traceSqrtProduct, traceSqrtProductDetails } from '../src/linalg/trace-sqrt-product.js';
import { Rng } from '../src/random/rng.js';

/** Reproducible uniform [0, 1) numbers for test matrices. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed), m = matrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = r() * 2 - 1;
  return m;
}

function naive(a: Matrix, b: Matrix): Matrix {
  const c = matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! * b.data[k * b.cols + j]!;
      c.data[i * b.cols + j] = s;
    }
  }
  return c;
}

/** Random PSD covariance of `samples` points in `dim` dimensions (rank min(samples, dim)). */
function randomCov(dim: number, samples: number, seed: number): Matrix {
  const x = randomMatrix(dim, samples, seed);
  const c = multiplyABt(x, x);
  for (let i = 0; i < c.data.length; i++) c.data[i] /= samples;
  return c;
}

test('gemm kernel matches the naive product for awkward sizes', () => {
  for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [4, 4, 4], [70, 300, 67], [5, 600, 9]] as const) {
    const a = randomMatrix(m, k, m * 31 + k), b = randomMatrix(k, n, n * 17 + 3);
    const want = naive(a, b), got = multiply(a, b);
    for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(want.data[i]! - got.data[i]!) < 1e-12 * k);
  }
});

test('gemm lowerOnly touches only j <= i, with strides and offsets', () => {
  const a = randomMatrix(37, 21, 9);
  const c = matrix(37, 37);
  c.data.fill(-7);
  gemmABt(37, 37, 21, 1, { data: a.data, offset: 0, ld: 21 }, { data: a.data, offset: 0, ld: 21 }, { data: c.data, offset: 0, ld: 37 }, true);
  const full = multiplyABt(a, a);
  for (let i = 0; i < 37; i++) {
    for (let j = 0; j < 37; j++) {
      if (j > i) assert.equal(c.data[i * 37 + j], -7);
      else assert.ok(Math.abs(c.data[i * 37 + j]! + 7 - full.data[i * 37 + j]!) < 1e-12);
    }
  }
});

test('pivoted Cholesky reconstructs PD matrices and reveals the rank of PSD ones', () => {
  for (const [dim, samples, rank] of [[30, 100, 30], [40, 12, 12], [65, 200, 65], [70, 33, 33], [150, 400, 150], [150, 100, 100]] as const) {
    const a = randomCov(dim, samples, dim + samples);
    const f = pivotedCholesky(a);
    assert.equal(f.rank, rank, `dim ${dim} samples ${samples}`);
    let err = 0;
    for (let i = 0; i < dim; i++) {
      for (let k = 0; k < dim; k++) {
        let s = 0;
        for (let j = 0; j < f.rank; j++) s += f.lt[j * dim + i]! * f.lt[j * dim + k]!;
        err = Math.max(err, Math.abs(s - a.data[f.perm[i]! * dim + f.perm[k]!]!));
      }
    }
    assert.ok(err < 1e-13 * maxAbs(a.data), `reconstruction error ${err}`);
    for (let j = 0; j < f.rank; j++) for (let i = 0; i < j; i++) assert.equal(f.lt[j * dim + i], 0);
  }
  // Exactly zero rows/columns are never pivots.
  const z = randomCov(10, 50, 5);
  for (let i = 0; i < 10; i++) { z.data[3 * 10 + i] = 0; z.data[i * 10 + 3] = 0; }
  assert.equal(pivotedCholesky(z).rank, 9);
});

test('tr sqrtm(A B): closed forms and both factorisations agree', () => {
  // Commuting diagonal matrices: sum sqrt(a_i b_i).
  const a = matrix(5, 5), b = matrix(5, 5);
  const av = [4, 1, 0, 9, 2], bv = [1, 16, 3, 4, 8];
  av.forEach((v, i) => { a.data[i * 5 + i] = v; b.data[i * 5 + i] = bv[i]!; });
  assert.ok(Math.abs(traceSqrtProduct(a, b) - (2 + 4 + 0 + 6 + 4)) < 1e-14);
  assert.ok(Math.abs(traceSqrtProduct(a, b, { method: 'eigh' }) - 16) < 1e-14);
  // tr sqrtm(A A) = tr A for PSD A, full rank and rank-deficient.
  for (const [dim, samples] of [[50, 200], [50, 20]] as const) {
    const c = randomCov(dim, samples, 77 + samples);
    let tr = 0;
    for (let i = 0; i < dim; i++) tr += c.data[i * dim + i]!;
    assert.ok(Math.abs(traceSqrtProduct(c, c) - tr) < 1e-10 * tr);
    assert.ok(Math.abs(traceSqrtProduct(c, c, { method: 'eigh' }) - tr) < 1e-10 * tr);
  }
  // Against the eigenvalues of the non-symmetric product computed another way:
  // tr sqrtm(AB) = sum sqrt(eig(B^1/2 A B^1/2)) = same with the roles swapped.
  const p = randomCov(60, 90, 1), q = randomCov(60, 70, 2);
  const x = traceSqrtProductDetails(p, q), y = traceSqrtProductDetails(q, p), z = traceSqrtProductDetails(p, q, { method: 'eigh' });
  assert.ok(Math.abs(x.value - y.value) < 1e-11 * x.value);
  assert.ok(Math.abs(x.value - z.value) < 1e-11 * x.value);
  // The congruent matrix really has the spectrum of A B: compare traces of A B.
  const ab = multiply(p, q);
  let trAB = 0;
  for (let i = 0; i < 60; i++) trAB += ab.data[i * 60 + i]!;
  let sumEv = 0;
  for (const v of x.eigenvalues) sumEv += v;
  assert.ok(Math.abs(trAB - sumEv) < 1e-11 * Math.abs(trAB));
});
