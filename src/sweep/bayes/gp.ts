/**
 * A Gaussian process on the unit cube for GP-UCB (Srinivas et al. 2010): squared-exponential
 * kernel with fixed length scale (inputs are scaled to [0, 1] per dimension, learning rates
 * in log space, so one scale fits all), zero prior mean on standardised targets, small
 * observation noise. Fixed hyper-parameters keep proposals deterministic and cheap; the
 * study's exact GP settings are not public (LANDSCAPE.md §5).
 */
export interface GpOptions {
  lengthScale?: number;
  /** Noise variance relative to the (unit) signal variance. */
  noise?: number;
}

export class GaussianProcess {
  private readonly l: Float64Array[]; // lower Cholesky factor of K + noise I
  private readonly alpha: Float64Array;
  private readonly ls2: number;

  constructor(readonly x: readonly Float64Array[], y: readonly number[], opts: GpOptions = {}) {
    const n = x.length;
    const ls = opts.lengthScale ?? 0.25;
    this.ls2 = ls * ls;
    const noise = opts.noise ?? 1e-2;
    this.l = Array.from({ length: n }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = this.k(x[i], x[j]) + (i === j ? noise : 0);
        for (let p = 0; p < j; p++) s -= this.l[i][p] * this.l[j][p];
        this.l[i][j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / this.l[j][j];
      }
    }
    // alpha = K^-1 y by two triangular solves
    const z = this.solveLower(Float64Array.from(y));
    this.alpha = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = z[i];
      for (let p = i + 1; p < n; p++) s -= this.l[p][i] * this.alpha[p];
      this.alpha[i] = s / this.l[i][i];
    }
  }

  k(a: Float64Array, b: Float64Array): number {
    let d = 0;
    for (let i = 0; i < a.length; i++) d += (a[i] - b[i]) ** 2;
    return Math.exp(-d / (2 * this.ls2));
  }

  private solveLower(b: Float64Array): Float64Array {
    const n = b.length;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let p = 0; p < i; p++) s -= this.l[i][p] * z[p];
      z[i] = s / this.l[i][i];
    }
    return z;
  }

  /** Posterior mean and variance of f at `at`. */
  predict(at: Float64Array): { mean: number; variance: number } {
    const kx = Float64Array.from(this.x, (xi) => this.k(xi, at));
    let mean = 0;
    for (let i = 0; i < kx.length; i++) mean += kx[i] * this.alpha[i];
    const v = this.solveLower(kx);
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    return { mean, variance: Math.max(0, 1 - vv) };
  }
}
