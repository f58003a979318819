/**
 * Top singular values of weight matrices, as the paper monitors them (its Figure 3:
 * σ0 of every layer of G and D over training), by power iteration with deflation in
 * float64 JavaScript.
 *
 * A weight of any rank is viewed as W [out, rest]. The iteration runs on the Gram
 * matrix of the shorter side (M = W Wᵀ or Wᵀ W, applied as two products with W, never
 * formed) with a few more vectors than values wanted, all iterated together: each
 * step multiplies them by M and deflates every vector of the directions before it
 * (Gram–Schmidt), and a Rayleigh–Ritz step on the small projected matrix turns them
 * into ordered estimates σ0 >= σ1 >= σ2. Iterating the vectors together converges
 * even when singular values are close (they all start at 1 after orthogonal init),
 * where one-vector-at-a-time deflation would crawl. Vectors from the previous
 * measurement start the next one (SpectralMonitor), so a few steps suffice.
 */
import type { Param } from '../../engine/graph.js';
import type { Module } from '../../nn/module.js';
import type { NdArray } from '../../io/ndarray.js';
import { matrix } from '../../linalg/matrix.js';
import { symmetricEigen } from '../../linalg/symmetric-eigen.js';

export interface SvdOptions {
  /** Singular values wanted (default 3). */
  k?: number;
  /** Extra vectors iterated along (default 3). */
  extra?: number;
  maxIters?: number;
  /** Stop when every wanted σ² estimate changes by less than tol relative (default 1e-7). */
  tol?: number;
  /** Start vectors on the short side (from an earlier call). */
  start?: Float64Array[];
}

export interface TopSingular {
  /** σ0 >= σ1 >= ... */
  values: number[];
  /** Unit singular-vector estimates on the short side (left if rows <= cols, else right), best first. */
  vectors: Float64Array[];
  /** True when the short side is the left one (vectors are u's). */
  left: boolean;
  iterations: number;
}

/** y = W x (W [rows, cols] row-major). */
function mulW(W: Float32Array, rows: number, cols: number, x: Float64Array, y: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += W[o + c] * x[c];
    y[r] = s;
  }
}

/** y = Wᵀ x. */
function mulWt(W: Float32Array, rows: number, cols: number, x: Float64Array, y: Float64Array): void {
  y.fill(0);
  for (let r = 0; r < rows; r++) {
    const xr = x[r];
    if (xr === 0) continue;
    const o = r * cols;
    for (let c = 0; c < cols; c++) y[c] += W[o + c] * xr;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A fixed, non-degenerate start vector (deterministic). */
function defaultStart(n: number, j: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(1 + i * 0.7071 + j * 1.618) + 0.1;
  return x;
}

/**
 * Orthonormalises the vectors in place, in order (each deflated of those before it;
 * twice, for float64 accuracy). A vector that vanishes is replaced by a fresh one.
 */
function orthonormalize(xs: Float64Array[]): void {
  const n = xs[0].length;
  xs.forEach((x, j) => {
    for (let attempt = 0; ; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < j; i++) {
          const d = dot(x, xs[i]);
          for (let t = 0; t < n; t++) x[t] -= d * xs[i][t];
        }
      }
      const norm = Math.sqrt(dot(x, x));
      if (norm > 1e-150 || attempt > 3) {
        if (norm > 0) for (let t = 0; t < n; t++) x[t] /= norm;
        return;
      }
      x.set(defaultStart(n, j + 11 * (attempt + 1)));
    }
  });
}

/** The top-k singular values (and short-side vectors) of W [rows, cols]. */
export function topSingularValues(W: Float32Array, rows: number, cols: number, opts: SvdOptions = {}): TopSingular {
  if (W.length !== rows * cols) throw new Error(`topSingularValues: ${W.length} values for a ${rows}x${cols} matrix`);
  const left = rows <= cols;
  const n = left ? rows : cols;
  const m = left ? cols : rows;
  const k = Math.min(opts.k ?? 3, n);
  const p = Math.min(n, k + (opts.extra ?? 3));
  const maxIters = opts.maxIters ?? 100;
  const tol = opts.tol ?? 1e-7;
  const tmp = new Float64Array(m);
  // M x = W (Wᵀ x) on the left side, Wᵀ (W x) on the right
  const applyGram = (x: Float64Array, out: Float64Array): void => {
    if (left) {
      mulWt(W, rows, cols, x, tmp);
      mulW(W, rows, cols, tmp, out);
    } else {
      mulW(W, rows, cols, x, tmp);
      mulWt(W, rows, cols, tmp, out);
    }
  };
  let X = Array.from({ length: p }, (_, j) => (opts.start?.[j]?.length === n ? Float64Array.from(opts.start[j]) : defaultStart(n, j)));
  orthonormalize(X);
  const Y = Array.from({ length: p }, () => new Float64Array(n));
  let theta: number[] = [];
  let it = 0;
  for (; it < maxIters; it++) {
    X.forEach((x, j) => applyGram(x, Y[j]));
    // Rayleigh–Ritz: H = Xᵀ M X, eigenpairs in descending order
    const H = matrix(p, p);
    for (let a = 0; a < p; a++) for (let b = 0; b <= a; b++) H.data[a * p + b] = H.data[b * p + a] = dot(X[a], Y[b]);
    const eig = symmetricEigen(H);
    const next = Array.from({ length: p }, (_, j) => eig.values[p - 1 - j]);
    // next X = orthonormalised (M X) S: the power step, rotated so the best direction comes first
    X = Array.from({ length: p }, (_, j) => {
      const srow = eig.vectors.data.subarray((p - 1 - j) * p, (p - j) * p);
      const v = new Float64Array(n);
      for (let b = 0; b < p; b++) {
        const c = srow[b];
        const y = Y[b];
        for (let t = 0; t < n; t++) v[t] += c * y[t];
      }
      return v;
    });
    orthonormalize(X);
    const done = theta.length > 0 && next.slice(0, k).every((v, j) => Math.abs(v - theta[j]) <= tol * Math.max(Math.abs(next[0]), 1e-300));
    theta = next;
    if (done) break;
  }
  return { values: theta.slice(0, k).map((v) => Math.sqrt(Math.max(v, 0))), vectors: X, left, iterations: it + 1 };
}

/** The weight matrices monitored in a network: trainable parameters of rank >= 2, as [out, rest]. */
export function weightMatrices(model: Module): [string, Param][] {
  return model.namedParams().filter(([, p]) => p.trainable && p.shape.length >= 2);
}

export type SingularValueTable = Record<string, number[]>;

/**
 * σ0..σ2 of every weight matrix of the networks it watches, warm-started from its
 * last measurement. The warm-start vectors are saved in checkpoints (state/restore),
 * so a resumed run logs exactly the values an uninterrupted one would.
 */
export class SpectralMonitor {
  private readonly warm = new Map<string, Float64Array[]>();

  constructor(private readonly opts: { k?: number; maxIters?: number; tol?: number } = {}) {}

  /** Warm-start vectors as float64 tensors `<key>.<path>.<j>`. */
  state(): [string, NdArray][] {
    const out: [string, NdArray][] = [];
    for (const [id, vs] of this.warm) vs.forEach((v, j) => out.push([`${id}.${j}`, { dtype: 'float64', shape: [v.length], data: Float64Array.from(v) }]));
    return out;
  }

  restore(tensors: Map<string, NdArray>): void {
    this.warm.clear();
    for (const [name, t] of tensors) {
      const m = /^(.*)\.(\d+)$/.exec(name);
      if (!m || !(t.data instanceof Float64Array)) continue;
      const vs = this.warm.get(m[1]) ?? this.warm.set(m[1], []).get(m[1])!;
      vs[Number(m[2])] = Float64Array.from(t.data);
    }
    for (const [id, vs] of this.warm) if (vs.some((v) => !v)) this.warm.delete(id);
  }

  /** name (model path) → [σ0, σ1, σ2]. */
  measure(key: string, model: Module): SingularValueTable {
    const out: SingularValueTable = {};
    for (const [path, p] of weightMatrices(model)) {
      const rows = p.shape[0];
      const id = `${key}.${path}`;
      const r = topSingularValues(p.data, rows, p.data.length / rows, { k: this.opts.k ?? 3, maxIters: this.opts.maxIters, tol: this.opts.tol, start: this.warm.get(id) });
      this.warm.set(id, r.vectors);
      out[path] = r.values;
    }
    return out;
  }
}
