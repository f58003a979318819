/**
 * The statistics of the study's views (Kurach et al. 2019, ../shared/paper/LANDSCAPE.md §6),
 * each a pure function of numbers so the tests check them against known answers.
 * A failed (diverged / collapsed) model scores +Infinity: it is the worst of any set.
 */
import { Rng } from '../../random/rng.js';

/** Quantile q in [0, 1] with linear interpolation between order statistics (NumPy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  if (lo === hi || s[lo] === s[hi]) return s[lo];
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export interface BoxStats {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  n: number;
}

export function boxStats(values: readonly number[]): BoxStats {
  return { min: Math.min(...values), q1: quantile(values, 0.25), median: quantile(values, 0.5), q3: quantile(values, 0.75), max: Math.max(...values), n: values.length };
}

/** The best `fraction` of the values (lowest FID first), at least one: the study's "top 5 %" pool. */
export function topFraction(values: readonly number[], fraction: number): number[] {
  const s = [...values].sort((a, b) => a - b);
  return s.slice(0, Math.max(1, Math.ceil(s.length * fraction - 1e-9)));
}

/** Ranks 1..n with ties given their average rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k][1]] = r;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks; NaN when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`spearman: ${a.length} vs ${b.length} values`);
  const ra = ranks(a), rb = ranks(b);
  const n = ra.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n, mb = rb.reduce((s, x) => s + x, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Indices of the k smallest values (ties by index, so the answer is deterministic). */
function topK(values: readonly number[], k: number): Set<number> {
  return new Set(values.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]).slice(0, k).map(([, i]) => i));
}

/** |top-K by a ∩ top-K by b| (lower is better on both: the study's Table 3 for FID and KID). */
export function topKIntersection(a: readonly number[], b: readonly number[], k: number): number {
  if (a.length !== b.length) throw new RangeError(`topKIntersection: ${a.length} vs ${b.length} values`);
  const ta = topK(a, k), tb = topK(b, k);
  let n = 0;
  for (const i of ta) if (tb.has(i)) n++;
  return n;
}

/**
 * The expected minimum of k values drawn without replacement from `values`, exactly.
 * Sorted ascending (s_0 <= s_1 <= ...), E[min] = s_0 + sum_i P(min >= s_i) (s_i - s_{i-1}),
 * with P(min >= s_i) = C(n-i, k) / C(n, k): a sum of gaps, so equal values give that
 * value exactly (no rounding of probabilities that sum to one).
 */
export function expectedMinimum(values: readonly number[], k: number): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new RangeError(`expectedMinimum: k must be in 1..${n}, got ${k}`);
  let e = s[0];
  let q = 1; // P(min >= s_i), by the ratio C(n-i-1, k) / C(n-i, k) = (n-i-k) / (n-i)
  for (let i = 1; i <= n - k; i++) {
    q *= (n - (i - 1) - k) / (n - (i - 1));
    const gap = s[i] - s[i - 1];
    if (gap > 0 && q > 0) e += q * gap; // (equal neighbours or +Infinity twice: no gap; q = 0: never reached)
  }
  return e;
}

export interface BudgetPoint {
  k: number;
  /** Expected minimum FID over k settings picked at random (exact). */
  mean: number;
  /** Bootstrap interval of that expectation (settings resampled with replacement). */
  lo: number;
  hi: number;
}

/**
 * The study's "minimum FID attainable for a budget of k settings" (Figure 1, second row):
 * for each k the expected best of k random settings, with a `level` bootstrap interval
 * from `resamples` resamples of the settings (seeded: the same report every time).
 */
export function budgetCurve(values: readonly number[], opts: { resamples?: number; level?: number; seed?: number } = {}): BudgetPoint[] {
  const n = values.length;
  const B = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const rng = new Rng(opts.seed ?? 0);
  const boots: number[][] = Array.from({ length: n }, () => []);
  for (let b = 0; b < B; b++) {
    const sample = Array.from({ length: n }, () => values[rng.int(n)]);
    for (let k = 1; k <= n; k++) boots[k - 1].push(expectedMinimum(sample, k));
  }
  const a = (1 - level) / 2;
  return Array.from({ length: n }, (_, i) => ({ k: i + 1, mean: expectedMinimum(values, i + 1), lo: quantile(boots[i], a), hi: quantile(boots[i], 1 - a) }));
}
