/**
 * Binning for the report's heat maps of FID against a hyper-parameter: a few distinct
 * values (a grid) keep one column each; continuous ones (random search) fall into equal
 * bins, in log space when they span a decade or more (learning rates, penalty weights).
 */
export interface Bins {
  labels: string[];
  /** The bin of a value, or -1 outside every bin. */
  of(v: number): number;
}

const short = (v: number): string => {
  if (Number.isInteger(v) && Math.abs(v) < 1e5) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-2 || Math.abs(v) >= 1e5)) return v.toExponential(1).replace(/\.0e/, 'e').replace('e+', 'e');
  return Number(v.toPrecision(2)).toString();
};

export function binsFor(values: readonly number[], maxDistinct = 8, count = 6): Bins {
  const finite = values.filter(Number.isFinite);
  const distinct = [...new Set(finite)].sort((a, b) => a - b);
  if (distinct.length <= Math.max(1, maxDistinct)) return { labels: distinct.map(short), of: (v) => distinct.indexOf(v) };
  const lo = distinct[0], hi = distinct[distinct.length - 1];
  const log = lo > 0 && hi / lo >= 10;
  const f = log ? Math.log10 : (x: number): number => x;
  const a = f(lo), b = f(hi);
  const edge = (i: number): number => (log ? 10 ** (a + ((b - a) * i) / count) : a + ((b - a) * i) / count);
  return {
    labels: Array.from({ length: count }, (_, i) => `${short(edge(i))}-${short(edge(i + 1))}`),
    of: (v) => (Number.isFinite(v) && v >= lo && v <= hi ? Math.min(count - 1, Math.floor(((f(v) - a) / (b - a)) * count)) : -1),
  };
}

/** counts[r][c]: models whose FID falls in row bin r and hyper-parameter in column bin c; failed models (FID +Infinity) in a last 'failed' row. */
export function fidHeatCounts(fid: readonly number[], param: readonly number[]): { counts: number[][]; rows: string[]; cols: string[] } {
  const cb = binsFor(param);
  const rb = binsFor(fid, 0);
  const failed = fid.some((v) => v === Infinity);
  const rows = [...rb.labels, ...(failed ? ['failed'] : [])];
  const counts = rows.map(() => cb.labels.map(() => 0));
  fid.forEach((v, i) => {
    const c = cb.of(param[i]);
    const r = v === Infinity ? rows.length - 1 : rb.of(v);
    if (c >= 0 && r >= 0) counts[r][c]++;
  });
  return { counts, rows, cols: cb.labels };
}
