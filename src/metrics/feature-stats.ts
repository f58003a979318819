/**
 * Streaming mean/covariance of feature vectors: add batches as they come out
 * of the network, merge partial results from independent jobs, serialise
 * shards. State is (count, shift c, S1 = sum(x - c), S2 = sum((x - c)(x - c)^T)):
 * - the shift (by default the first vector seen) removes the cancellation
 *   that raw sums of x x^T suffer when |mean| >> std;
 * - S1 and S2 are kept as double-double (hi + lo) sums, so accumulation is
 *   practically exact and independent of order: shards that share a shift
 *   merge to the same doubles as one job over the same batches;
 * - merging shards with different shifts re-centres exactly in arithmetic
 *   (rounding at the 1e-16 level).
 * Each batch's outer-product sum goes through the blocked A*B^T kernel.
 */
import { UserError } from '../errors.js';
import type { NdArray } from '../io/ndarray.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { matrix } from '../linalg/matrix.js';
import { gemmABt } from '../linalg/gemm.js';
import type { GaussianStats } from './gaussian-stats.js';

/** Rows of features: a Matrix, or float32 network output of the same shape. */
export interface FeatureBatch {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array | Float64Array;
}

export interface FeatureStatsOptions {
  /**
   * Centre of the accumulated sums. Give every shard of one computation the
   * same shift (e.g. the first feature row of the dataset) for bit-identical
   * merges; by default each accumulator takes its first row.
   */
  shift?: Float64Array;
}

const FORMAT_VERSION = 1;

export class FeatureStats {
  readonly dim: number;
  private n = 0;
  private shift: Float64Array | null;
  private readonly s1hi: Float64Array;
  private readonly s1lo: Float64Array;
  /** Lower triangle used; the upper is kept zero. */
  private readonly s2hi: Float64Array;
  private readonly s2lo: Float64Array;
  private scratch: Float64Array | null = null;

  constructor(dim: number, options: FeatureStatsOptions = {}) {
    if (!Number.isSafeInteger(dim) || dim <= 0) throw new RangeError(`feature dimension must be a positive integer, got ${dim}`);
    this.dim = dim;
    if (options.shift !== undefined && options.shift.length !== dim) {
      throw new RangeError(`shift has ${options.shift.length} entries, expected ${dim}`);
    }
    this.shift = options.shift ? Float64Array.from(options.shift) : null;
    this.s1hi = new Float64Array(dim);
    this.s1lo = new Float64Array(dim);
    this.s2hi = new Float64Array(dim * dim);
    this.s2lo = new Float64Array(dim * dim);
  }

  get count(): number {
    return this.n;
  }

  /** Adds the rows of `batch` ([rows, dim]). */
  add(batch: FeatureBatch): this {
    const d = this.dim, b = batch.rows, x = batch.data;
    if (batch.cols !== d) throw new UserError(`feature batch has ${batch.cols} features per row, expected ${d}`);
    if (x.length !== b * d) throw new RangeError(`feature batch data has ${x.length} values, expected ${b}x${d}`);
    if (b === 0) return this;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) throw new UserError(`feature batch contains NaN or infinite values (row ${Math.floor(i / d)})`);
    }
    if (this.shift === null) this.shift = Float64Array.from(x.subarray(0, d));
    const c = this.shift;
    // Centred and transposed (one feature per row) for the A*B^T kernel.
    const yt = new Float64Array(d * b);
    for (let i = 0; i < b; i++) {
      const r = i * d;
      for (let j = 0; j < d; j++) yt[j * b + i] = x[r + j] - c[j];
    }
    for (let j = 0; j < d; j++) {
      let s = 0;
      const r = j * b;
      for (let i = 0; i < b; i++) s += yt[r + i];
      ddAdd(this.s1hi, this.s1lo, j, s);
    }
    const scratch = this.scratch ?? (this.scratch = new Float64Array(d * d));
    scratch.fill(0);
    const op = { data: yt, offset: 0, ld: b };
    gemmABt(d, d, b, 1, op, op, { data: scratch, offset: 0, ld: d }, true);
    for (let i = 0; i < d; i++) {
      const r = i * d;
      for (let j = 0; j <= i; j++) ddAdd(this.s2hi, this.s2lo, r + j, scratch[r + j]);
    }
    this.n += b;
    return this;
  }

  /** Adds another accumulator's samples into this one (the other is unchanged). */
  merge(other: FeatureStats): this {
    if (other.dim !== this.dim) throw new UserError(`cannot merge feature statistics of dimension ${other.dim} into ${this.dim}`);
    if (other.n === 0) return this;
    const d = this.dim;
    if (this.shift === null) this.shift = Float64Array.from(other.shift!);
    const c = this.shift, oc = other.shift!;
    const delta = new Float64Array(d);
    let same = true;
    for (let j = 0; j < d; j++) {
      delta[j] = oc[j] - c[j];
      if (delta[j] !== 0) same = false;
    }
    const no = other.n;
    // Other's sums about our shift: S1 + n delta, S2 + S1 delta^T + delta S1^T + n delta delta^T.
    const os1 = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      os1[j] = other.s1hi[j] + other.s1lo[j];
      ddAdd(this.s1hi, this.s1lo, j, other.s1hi[j]);
      ddAdd(this.s1hi, this.s1lo, j, other.s1lo[j]);
      if (!same) ddAdd(this.s1hi, this.s1lo, j, no * delta[j]);
    }
    for (let i = 0; i < d; i++) {
      const r = i * d;
      for (let j = 0; j <= i; j++) {
        ddAdd(this.s2hi, this.s2lo, r + j, other.s2hi[r + j]);
        ddAdd(this.s2hi, this.s2lo, r + j, other.s2lo[r + j]);
        if (!same) {
          ddAdd(this.s2hi, this.s2lo, r + j, os1[i] * delta[j] + delta[i] * os1[j] + no * delta[i] * delta[j]);
        }
      }
    }
    this.n += no;
    return this;
  }

  /** Mean and ddof-1 covariance of everything added so far. */
  toMeanCov(what = 'feature statistics'): GaussianStats {
    const n = this.n, d = this.dim;
    if (n < 2) throw new UserError(`${what}: too few samples for the covariance: got ${n}, need at least 2`);
    const c = this.shift!;
    const mu = new Float64Array(d);
    const m1 = new Float64Array(d); // mean of (x - c)
    for (let j = 0; j < d; j++) {
      m1[j] = (this.s1hi[j] + this.s1lo[j]) / n;
      mu[j] = c[j] + m1[j];
    }
    const sigma = matrix(d, d);
    const s = sigma.data;
    for (let i = 0; i < d; i++) {
      const r = i * d;
      for (let j = 0; j <= i; j++) {
        // sum (y - m1)(y - m1)^T = S2 - n m1 m1^T
        const v = (this.s2hi[r + j] + this.s2lo[r + j] - n * m1[i] * m1[j]) / (n - 1);
        s[r + j] = v;
        s[j * d + i] = v;
      }
    }
    return { mu, sigma };
  }

  /** The full state as named arrays (lossless), for .npz shards. */
  toArrays(): Record<string, NdArray> {
    const d = this.dim;
    const full = (lower: Float64Array): Float64Array => {
      const out = new Float64Array(d * d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j <= i; j++) {
          out[i * d + j] = lower[i * d + j];
          out[j * d + i] = lower[i * d + j];
        }
      }
      return out;
    };
    return {
      feature_stats_version: { dtype: 'int32', shape: [1], data: Int32Array.of(FORMAT_VERSION) },
      count: { dtype: 'int64', shape: [1], data: BigInt64Array.of(BigInt(this.n)) },
      shift: { dtype: 'float64', shape: [d], data: this.shift ? this.shift.slice() : new Float64Array(d) },
      sum_hi: { dtype: 'float64', shape: [d], data: this.s1hi.slice() },
      sum_lo: { dtype: 'float64', shape: [d], data: this.s1lo.slice() },
      outer_hi: { dtype: 'float64', shape: [d, d], data: full(this.s2hi) },
      outer_lo: { dtype: 'float64', shape: [d, d], data: full(this.s2lo) },
    };
  }

  /** Rebuilds an accumulator from `toArrays()` output (e.g. read from a shard file). */
  static fromArrays(arrays: Map<string, NdArray> | Record<string, NdArray>, what = 'feature statistics shard'): FeatureStats {
    const get = (key: string): NdArray => {
      const a = arrays instanceof Map ? arrays.get(key) : arrays[key];
      if (!a) {
        const keys = arrays instanceof Map ? [...arrays.keys()] : Object.keys(arrays);
        throw new UserError(`${what} is not a feature-statistics shard: missing '${key}' (has ${keys.join(', ') || 'nothing'})`);
      }
      return a;
    };
    const version = get('feature_stats_version');
    if (!(version.data instanceof Int32Array) || version.data[0] !== FORMAT_VERSION) {
      throw new UserError(`${what}: unsupported feature-statistics format version`);
    }
    const countArr = get('count');
    const count = countArr.data instanceof BigInt64Array ? Number(countArr.data[0]) : NaN;
    if (!Number.isSafeInteger(count) || count < 0) throw new UserError(`${what}: invalid sample count`);
    const shift = get('shift');
    if (shift.shape.length !== 1 || !(shift.data instanceof Float64Array)) throw new UserError(`${what}: 'shift' must be 1-D float64`);
    const d = shift.shape[0]!;
    if (d <= 0) throw new UserError(`${what}: feature dimension is 0`);
    const vec = (key: string): Float64Array => {
      const a = get(key);
      if (!(a.data instanceof Float64Array) || a.shape.length !== 1 || a.shape[0] !== d) {
        throw new UserError(`${what}: '${key}' must be float64 of shape [${d}]`);
      }
      return a.data;
    };
    const mat = (key: string): Float64Array => {
      const a = get(key);
      if (!(a.data instanceof Float64Array) || a.shape.length !== 2 || a.shape[0] !== d || a.shape[1] !== d) {
        throw new UserError(`${what}: '${key}' must be float64 of shape [${d}, ${d}]`);
      }
      return a.data;
    };
    const fs = new FeatureStats(d, count > 0 ? { shift: shift.data as Float64Array } : {});
    fs.n = count;
    fs.s1hi.set(vec('sum_hi'));
    fs.s1lo.set(vec('sum_lo'));
    const hi = mat('outer_hi'), lo = mat('outer_lo');
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        fs.s2hi[i * d + j] = hi[i * d + j];
        fs.s2lo[i * d + j] = lo[i * d + j];
      }
    }
    return fs;
  }

  save(file: string): void {
    writeNpz(file, this.toArrays());
  }

  static load(file: string): FeatureStats {
    return FeatureStats.fromArrays(readNpz(file), file);
  }
}

/** (hi[i], lo[i]) += x, error-free (TwoSum), renormalised so hi = fl(hi + lo). */
function ddAdd(hi: Float64Array, lo: Float64Array, i: number, x: number): void {
  const a = hi[i];
  const s = a + x;
  const bv = s - a;
  const err = (a - (s - bv)) + (x - bv);
  const t = lo[i] + err;
  const h = s + t;
  lo[i] = t - (h - s);
  hi[i] = h;
}
