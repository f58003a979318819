/**
 * Orthogonal initialisation (Saxe et al.; the paper's choice for G and D): every
 * weight with two or more dimensions, viewed as [out, rest], gets orthonormal rows
 * (or columns, when out > rest), like torch.nn.init.orthogonal_. Biases start at 0,
 * BN gains at 1 and attention gammas at 0, as constructed.
 */
import { Param } from '../engine/graph.js';
import { Rng } from '../random/rng.js';
import { Module } from './module.js';
import { SpectralWeight } from './spectral-norm.js';

/** Fills data ([rows, cols] row-major) with a random matrix having orthonormal rows or columns. */
export function orthogonalFill(data: Float32Array, rows: number, cols: number, rng: Rng, gain = 1): void {
  // Orthonormalise the short side: k vectors of length m (k <= m), modified Gram-Schmidt in float64.
  const tall = rows >= cols;
  const k = tall ? cols : rows;
  const m = tall ? rows : cols;
  const q = new Float64Array(k * m);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let a = 0; a < k; a++) {
    const va = q.subarray(a * m, (a + 1) * m);
    for (let pass = 0; pass < 2; pass++) {
      // a second pass ("twice is enough") keeps orthogonality at float64 precision
      for (let b = 0; b < a; b++) {
        const vb = q.subarray(b * m, (b + 1) * m);
        let dot = 0;
        for (let i = 0; i < m; i++) dot += va[i] * vb[i];
        for (let i = 0; i < m; i++) va[i] -= dot * vb[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += va[i] * va[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) va[i] /= norm;
  }
  for (let a = 0; a < k; a++) {
    for (let i = 0; i < m; i++) {
      const v = q[a * m + i] * gain;
      if (tall) data[i * cols + a] = v;
      else data[a * cols + i] = v;
    }
  }
}

/** Orthogonal init for every trainable parameter of rank >= 2 (convs, linears, embeddings). */
export function initOrthogonal(model: Module, rng: Rng): void {
  for (const [, p] of model.namedParams()) {
    if (!p.trainable || p.shape.length < 2) continue;
    const rows = p.shape[0];
    orthogonalFill(p.data, rows, p.data.length / rows, rng);
  }
}

/** N(0, std^2) init (BigGAN-PyTorch's 'N02' option). */
export function initNormal(model: Module, rng: Rng, std = 0.02): void {
  for (const [, p] of model.namedParams()) {
    if (p.trainable && p.shape.length >= 2) rng.fillNormal(p.data, std);
  }
}

export function isWeightMatrix(p: Param): boolean {
  return p.trainable && p.shape.length >= 2;
}

/**
 * Sets every spectral-norm u (and v) to the result of `iters` power iterations on the
 * current weight, so sigma is close to the top singular value from the first forward
 * pass (fresh models, random-weight benchmarks).
 */
export function initSpectralVectors(model: Module, iters = 5): void {
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof SpectralWeight)) continue;
    const W = m.weight.data;
    const rows = m.weight.shape[0];
    const cols = W.length / rows;
    let v = new Float64Array(cols).fill(1 / Math.sqrt(cols));
    let u = new Float64Array(rows);
    for (let it = 0; it < iters; it++) {
      u = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += W[r * cols + c] * v[c];
        u[r] = s;
      }
      normalizeInPlace(u);
      v = new Float64Array(cols);
      for (let r = 0; r < rows; r++) {
        const ur = u[r];
        for (let c = 0; c < cols; c++) v[c] += W[r * cols + c] * ur;
      }
      normalizeInPlace(v);
    }
    m.sn_u.data.set(u);
    m.sn_v?.data.set(v);
  }
}

function normalizeInPlace(x: Float64Array): void {
  let n = 0;
  for (let i = 0; i < x.length; i++) n += x[i] * x[i];
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < x.length; i++) x[i] /= n;
}
