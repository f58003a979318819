/**
 * Clamping the top singular value of G's weights (paper §4.1: "we employ partial
 * SVD to ... clamp σ0"), applied after every G step: for each weight W [out, rest]
 * with top singular triplet (σ0, u0, v0), if σ0 exceeds the target,
 *
 *   W ← W − (σ0 − target) u0 v0ᵀ
 *
 * leaving every other singular direction unchanged. The target is a fixed value
 * σ_clamp or r · σ1 (the paper's r·sg(σ1)). The triplets come from warm-started power
 * iteration (singular-values.ts), so a few products per weight and step suffice;
 * the warm-start vectors are saved in checkpoints so a resumed run clamps exactly
 * as an uninterrupted one.
 */
import type { Param } from '../../engine/graph.js';
import type { NdArray } from '../../io/ndarray.js';
import type { SigmaClamp } from './config.js';
import { topSingularValues } from './singular-values.js';

export interface ClampReport {
  /** Weights changed in this call. */
  clamped: number;
  /** The largest σ0 / target seen (> 1 where clamped). */
  maxRatio: number;
}

export class SigmaClamper {
  private readonly warm = new Map<Param, Float64Array[]>();

  constructor(
    private readonly clamp: Exclude<SigmaClamp, null>,
    private readonly targets: Param[],
  ) {}

  /** Warm-start vectors as tensors `<name>.<j>` (float64), name = the parameter's path given by `nameOf`. */
  state(nameOf: (p: Param) => string): [string, NdArray][] {
    const out: [string, NdArray][] = [];
    for (const [p, vs] of this.warm) vs.forEach((v, j) => out.push([`${nameOf(p)}.${j}`, { dtype: 'float64', shape: [v.length], data: Float64Array.from(v) }]));
    return out;
  }

  restore(tensors: Map<string, NdArray>, nameOf: (p: Param) => string): void {
    this.warm.clear();
    for (const p of this.targets) {
      const vs: Float64Array[] = [];
      for (let j = 0; ; j++) {
        const t = tensors.get(`${nameOf(p)}.${j}`);
        if (!t || !(t.data instanceof Float64Array)) break;
        vs.push(Float64Array.from(t.data));
      }
      if (vs.length) this.warm.set(p, vs);
    }
  }

  apply(): ClampReport {
    let clamped = 0;
    let maxRatio = 0;
    for (const p of this.targets) {
      const rows = p.shape[0];
      const cols = p.data.length / rows;
      const k = this.clamp.kind === 'ratio' ? 2 : 1;
      const r = topSingularValues(p.data, rows, cols, { k, maxIters: 50, tol: 1e-7, start: this.warm.get(p) });
      this.warm.set(p, r.vectors);
      const sigma0 = r.values[0];
      const target = this.clamp.kind === 'value' ? this.clamp.value : this.clamp.ratio * (r.values[1] ?? 0);
      if (!(target > 0)) continue;
      maxRatio = Math.max(maxRatio, sigma0 / target);
      if (!(sigma0 > target)) continue;
      // the other side's unit vector: W x / σ0 (left side: x = u0 gives v0 = Wᵀ u0 / σ0)
      const x = r.vectors[0];
      const u = new Float64Array(rows);
      const v = new Float64Array(cols);
      if (r.left) {
        u.set(x);
        for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) v[c] += p.data[i * cols + c] * x[i];
        for (let c = 0; c < cols; c++) v[c] /= sigma0;
      } else {
        v.set(x);
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let c = 0; c < cols; c++) s += p.data[i * cols + c] * x[c];
          u[i] = s / sigma0;
        }
      }
      const d = sigma0 - target;
      const next = Float32Array.from(p.data);
      for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) next[i * cols + c] -= d * u[i] * v[c];
      p.data = next;
      clamped++;
    }
    return { clamped, maxRatio };
  }
}

/** Tensor-name stem of a G parameter in the clamp's saved state (its path under G). */
export function clampName(p: Param): string {
  return p.name.replace(/^G\./, '');
}
