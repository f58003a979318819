/**
 * Kernel Inception Distance as torch-fidelity computes it
 * (kid_features_to_metric, defaults): polynomial kernel
 * k(a, b) = (gamma a.b + coef0)^degree with gamma = 1/d, coef0 = 1, degree 3;
 * per subset of size m the unbiased MMD^2
 *   (sum Kxx - tr Kxx + sum Kyy - tr Kyy) / (m (m - 1)) - 2 sum Kxy / m^2;
 * result = mean and population (ddof 0) std over subsets. Subsets come from
 * one np.random.RandomState(seed): for each subset choice(Nx, m) then
 * choice(Ny, m), without replacement (reproduced in numpy-random.ts), or are
 * given explicitly.
 *
 * When the full Gram matrices of both sets are small enough they are computed
 * once and each subset just sums entries; otherwise each subset's kernel
 * blocks are computed with the blocked A*B^T kernel. Arithmetic is float64
 * (torch-fidelity runs it in float32 on real features: ~1e-6 abs apart).
 */
import { UserError } from '../errors.js';
import { type Matrix, allFinite } from '../linalg/matrix.js';
import { gemmABt } from '../linalg/gemm.js';
import { defineMetric, requireInput } from './metric-spec.js';
import { NumpyRandomState } from './numpy-random.js';

export interface KidOptions {
  /** Number of subsets; default 100. */
  subsets?: number;
  /** Samples per subset; default 1000 (each set needs at least this many). */
  subsetSize?: number;
  degree?: number;
  /** Default 1 / feature dimension. */
  gamma?: number;
  coef0?: number;
  /** Seed of the NumPy-compatible subset draws; default 2020. */
  seed?: number;
  /** Explicit subsets: x[s] and y[s] are the row indices of subset s (override subsets/subsetSize/seed). */
  subsetIndices?: { x: readonly ArrayLike<number>[]; y: readonly ArrayLike<number>[] };
  /**
   * 'gram': whole kernel matrices once, subsets sum entries; 'subsets': kernel
   * blocks per subset; 'auto' (default) picks by size and cost. Same numbers.
   */
  strategy?: 'auto' | 'gram' | 'subsets';
}

export interface KidResult {
  readonly mean: number;
  readonly std: number;
  /** Unbiased MMD^2 per subset. */
  readonly perSubset: Float64Array;
}

export const KID_DEFAULTS = { subsets: 100, subsetSize: 1000, degree: 3, coef0: 1, seed: 2020 } as const;

/** Above this many Gram entries (nx^2 + ny^2 + nx ny) subsets are computed one by one. */
const MAX_CACHED_GRAM_ENTRIES = 24_000_000;

/** The subsets torch-fidelity draws: per subset, X indices then Y indices from one RandomState. */
export function kidSubsetIndices(
  nx: number, ny: number, subsets: number, subsetSize: number, seed: number = KID_DEFAULTS.seed,
): { x: Int32Array[]; y: Int32Array[] } {
  const rng = new NumpyRandomState(seed);
  const x: Int32Array[] = [], y: Int32Array[] = [];
  for (let s = 0; s < subsets; s++) {
    x.push(rng.choiceWithoutReplacement(nx, subsetSize));
    y.push(rng.choiceWithoutReplacement(ny, subsetSize));
  }
  return { x, y };
}

/** KID between feature sets x [Nx, d] and y [Ny, d]. */
export function kernelInceptionDistance(x: Matrix, y: Matrix, options: KidOptions = {}): KidResult {
  const d = x.cols;
  if (y.cols !== d) throw new UserError(`KID: feature sets have different dimensions (${d} vs ${y.cols})`);
  if (d < 1) throw new UserError('KID: features have no columns');
  if (!allFinite(x.data) || !allFinite(y.data)) throw new UserError('KID: features contain NaN or infinite values');
  const degree = options.degree ?? KID_DEFAULTS.degree;
  const gamma = options.gamma ?? 1 / d;
  const coef0 = options.coef0 ?? KID_DEFAULTS.coef0;
  const kernel = polynomialKernel(gamma, coef0, degree);

  let idx: { x: readonly ArrayLike<number>[]; y: readonly ArrayLike<number>[] };
  if (options.subsetIndices) {
    idx = options.subsetIndices;
    if (idx.x.length !== idx.y.length || idx.x.length === 0) {
      throw new UserError(`KID: need the same positive number of X and Y subsets, got ${idx.x.length} and ${idx.y.length}`);
    }
    idx.x.forEach((s, i) => checkSubset(s, x.rows, `X subset ${i}`, idx.x[0]!.length));
    idx.y.forEach((s, i) => checkSubset(s, y.rows, `Y subset ${i}`, idx.x[0]!.length));
  } else {
    const subsets = options.subsets ?? KID_DEFAULTS.subsets;
    const m = options.subsetSize ?? KID_DEFAULTS.subsetSize;
    if (!Number.isSafeInteger(subsets) || subsets < 1) throw new UserError(`KID: subsets must be a positive integer, got ${subsets}`);
    if (!Number.isSafeInteger(m) || m < 2) throw new UserError(`KID: subset size must be an integer >= 2, got ${m}`);
    if (x.rows < m || y.rows < m) {
      throw new UserError(`KID: subset size ${m} is larger than the number of samples (${x.rows} and ${y.rows}); use a smaller subset size or more samples`);
    }
    idx = kidSubsetIndices(x.rows, y.rows, subsets, m, options.seed ?? KID_DEFAULTS.seed);
  }

  // Whole Gram matrices pay off when they fit and cost less than the per-subset blocks (2 m^2 dots each).
  const gramEntries = x.rows * x.rows + y.rows * y.rows + x.rows * y.rows;
  const perSubsetDots = idx.x.reduce((acc, s) => acc + 2 * s.length * s.length, 0);
  const strategy = options.strategy ?? 'auto';
  const cached = strategy === 'gram' ||
    (strategy === 'auto' && gramEntries <= MAX_CACHED_GRAM_ENTRIES && gramEntries <= perSubsetDots);
  const sums = cached ? new CachedKernelSums(x, y, kernel) : null;
  const perSubset = new Float64Array(idx.x.length);
  for (let s = 0; s < idx.x.length; s++) {
    const ix = idx.x[s]!, iy = idx.y[s]!;
    const m = ix.length;
    const k = sums ? sums.subset(ix, iy) : subsetKernelSums(x, y, ix, iy, kernel);
    perSubset[s] = (k.xx - k.trXX + k.yy - k.trYY) / (m * (m - 1)) - (2 * k.xy) / (m * m);
  }
  let mean = 0;
  for (const v of perSubset) mean += v;
  mean /= perSubset.length;
  let varSum = 0;
  for (const v of perSubset) varSum += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(varSum / perSubset.length), perSubset };
}

function checkSubset(s: ArrayLike<number>, n: number, what: string, m: number): void {
  if (s.length !== m) throw new UserError(`KID: ${what} has ${s.length} indices, expected ${m} like the first X subset`);
  if (m < 2) throw new UserError(`KID: ${what} needs at least 2 indices`);
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new UserError(`KID: ${what} has index ${v} outside 0..${n - 1}`);
  }
}

interface KernelSums {
  xx: number; trXX: number; yy: number; trYY: number; xy: number;
}

/** Full kernel matrices K(X,X), K(Y,Y), K(X,Y), computed once; subsets sum gathered entries. */
class CachedKernelSums {
  private readonly kxx: Float64Array;
  private readonly kyy: Float64Array;
  private readonly kxy: Float64Array;
  private readonly nx: number;
  private readonly ny: number;

  constructor(x: Matrix, y: Matrix, kernel: (dot: number) => number) {
    this.nx = x.rows;
    this.ny = y.rows;
    this.kxx = kernelMatrix(x, x, kernel);
    this.kyy = kernelMatrix(y, y, kernel);
    this.kxy = kernelMatrix(x, y, kernel);
  }

  subset(ix: ArrayLike<number>, iy: ArrayLike<number>): KernelSums {
    // Sorted copies: the sums do not depend on order, and sorted gathers stay in cache.
    const sx = Int32Array.from(ix).sort(), sy = Int32Array.from(iy).sort();
    const xx = gatherSum(this.kxx, this.nx, sx, sx);
    const yy = gatherSum(this.kyy, this.ny, sy, sy);
    const xy = gatherSum(this.kxy, this.ny, sx, sy);
    let trXX = 0, trYY = 0;
    for (const i of sx) trXX += this.kxx[i * this.nx + i];
    for (const i of sy) trYY += this.kyy[i * this.ny + i];
    return { xx, trXX, yy, trYY, xy };
  }
}

/** kernel(A B^T) as a dense a.rows x b.rows array. */
function kernelMatrix(a: Matrix, b: Matrix, kernel: (dot: number) => number): Float64Array {
  const out = new Float64Array(a.rows * b.rows);
  gemmABt(a.rows, b.rows, a.cols, 1, { data: a.data, offset: 0, ld: a.cols }, { data: b.data, offset: 0, ld: b.cols },
    { data: out, offset: 0, ld: b.rows });
  for (let i = 0; i < out.length; i++) out[i] = kernel(out[i]);
  return out;
}

/** sum_{a in rows, b in cols} K[a, b], row sums first (Neumaier-compensated total). */
function gatherSum(k: Float64Array, ld: number, rows: Int32Array, cols: Int32Array): number {
  let total = 0, comp = 0;
  for (let a = 0; a < rows.length; a++) {
    const r = rows[a] * ld;
    let s = 0;
    for (let b = 0; b < cols.length; b++) s += k[r + cols[b]];
    const t = total + s;
    comp += Math.abs(total) >= Math.abs(s) ? (total - t) + s : (s - t) + total;
    total = t;
  }
  return total + comp;
}

/** Kernel sums for one subset, computed from the gathered feature rows. */
function subsetKernelSums(
  x: Matrix, y: Matrix, ix: ArrayLike<number>, iy: ArrayLike<number>, kernel: (dot: number) => number,
): KernelSums {
  const d = x.cols, m = ix.length;
  const gx = gatherRows(x, ix), gy = gatherRows(y, iy);
  const xx = symmetricKernelSum(gx, m, d, kernel);
  const yy = symmetricKernelSum(gy, m, d, kernel);
  const kxy = new Float64Array(m * m);
  gemmABt(m, m, d, 1, { data: gx, offset: 0, ld: d }, { data: gy, offset: 0, ld: d }, { data: kxy, offset: 0, ld: m });
  let total = 0, comp = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    for (let b = 0; b < m; b++) s += kernel(kxy[a * m + b]);
    const t = total + s;
    comp += Math.abs(total) >= Math.abs(s) ? (total - t) + s : (s - t) + total;
    total = t;
  }
  return { xx: xx.sum, trXX: xx.trace, yy: yy.sum, trYY: yy.trace, xy: total + comp };
}

function gatherRows(a: Matrix, idx: ArrayLike<number>): Float64Array {
  const d = a.cols, out = new Float64Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) out.set(a.data.subarray(idx[i]! * d, idx[i]! * d + d), i * d);
  return out;
}

/** Sum and trace of kernel(G G^T) from its lower triangle (off-diagonal counted twice). */
function symmetricKernelSum(g: Float64Array, m: number, d: number, kernel: (dot: number) => number): { sum: number; trace: number } {
  const dots = new Float64Array(m * m);
  const op = { data: g, offset: 0, ld: d };
  gemmABt(m, m, d, 1, op, op, { data: dots, offset: 0, ld: m }, true);
  let off = 0, comp = 0, tr = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    for (let b = 0; b < a; b++) s += kernel(dots[a * m + b]);
    const t = off + s;
    comp += Math.abs(off) >= Math.abs(s) ? (off - t) + s : (s - t) + off;
    off = t;
    tr += kernel(dots[a * m + a]);
  }
  return { sum: 2 * (off + comp) + tr, trace: tr };
}

/** t -> (gamma t + coef0)^degree; small integer degrees by multiplication (Math.pow is slow). */
function polynomialKernel(gamma: number, coef0: number, degree: number): (dot: number) => number {
  if (degree === 3) return (dot) => { const t = dot * gamma + coef0; return t * t * t; };
  if (degree === 2) return (dot) => { const t = dot * gamma + coef0; return t * t; };
  if (degree === 1) return (dot) => dot * gamma + coef0;
  return (dot) => Math.pow(dot * gamma + coef0, degree);
}

export const kidMetric = defineMetric({
  name: 'kid',
  label: 'KID',
  description: 'Kernel Inception Distance, cubic polynomial kernel, 100 subsets of 1000 (torch-fidelity)',
  needs: { fake: { features: true }, reference: 'features' },
  options: [
    { key: 'subsets', flag: '--kid-subsets', arg: 'k', description: 'KID subsets (default 100)', type: { kind: 'int', min: 1 }, default: KID_DEFAULTS.subsets, reportAs: 'kid_subsets' },
    { key: 'subsetSize', flag: '--kid-subset-size', arg: 'm', description: 'KID samples per subset (default 1000)', type: { kind: 'int', min: 1 }, default: KID_DEFAULTS.subsetSize, reportAs: 'kid_subset_size' },
  ],
  fixedSettings: { kid_seed: KID_DEFAULTS.seed },
  display: [{ label: 'KID', value: 'kid_mean', spread: 'kid_std', digits: 5 }],
  minSamples: (o: { subsetSize: number }) => ({
    n: o.subsetSize,
    why: `KID with subsets of ${o.subsetSize} needs at least ${o.subsetSize} samples per set (lower --kid-subset-size)`,
  }),
  compute: (inputs, options: KidOptions) => {
    const r = kernelInceptionDistance(
      requireInput(inputs.fakeFeatures, 'kid', 'fake features (statistics are not enough)'),
      requireInput(inputs.realFeatures, 'kid', 'real features (statistics are not enough)'),
      options,
    );
    return { kid_mean: r.mean, kid_std: r.std };
  },
});
