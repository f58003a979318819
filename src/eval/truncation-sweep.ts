/**
 * The truncation sweep (the paper's variety–fidelity trade-off, Figure 17's
 * view): the same seeded latents and classes scored at each threshold, as a
 * table and a PNG of the IS–FID curve (each point labelled with its threshold).
 *
 * Thresholds: "start:stop:step" (inclusive, e.g. 0.1:2.0:0.1) or a list
 * "0.25,0.5,1". BigGAN-deep's truncation also selects its BN statistics and is
 * only defined on (0, 1], so for it values above 1 are dropped (with a note).
 */
import { UserError } from '../errors.js';
import { writeLinePlot, type PlotSeries } from '../image/line-plot.js';
import { type MetricResult, listMetrics } from '../metrics/registry.js';
import type { GeneratorModel } from '../models/interfaces.js';
import { Sampler } from '../sample/sampler.js';
import { type EvalContext, evaluateGenerator } from './evaluate.js';
import type { GenerationPlan } from './generated-images.js';

const MAX_POINTS = 1000;

/** Parses a sweep spec into ascending distinct positive thresholds. */
export function parseSweepSpec(spec: string): number[] {
  const bad = (why: string): UserError => new UserError(`--truncation-sweep ${JSON.stringify(spec)}: ${why} (expected start:stop:step such as 0.1:2.0:0.1, or a list such as 0.25,0.5,1)`);
  const num = (s: string): number => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(v)) throw bad(`'${s}' is not a number`);
    return v;
  };
  let values: number[];
  if (spec.includes(':')) {
    const parts = spec.split(':');
    if (parts.length !== 3) throw bad('a range needs exactly three parts');
    const [start, stop, step] = parts.map(num) as [number, number, number];
    if (!(step > 0)) throw bad('the step must be positive');
    if (stop < start) throw bad('stop is below start');
    const count = Math.floor((stop - start) / step + 1e-9) + 1;
    if (count > MAX_POINTS) throw bad(`that is ${count} thresholds (at most ${MAX_POINTS})`);
    // k * step from start, rounded to 12 significant digits so 0.1 + 0.2 prints as 0.3
    values = Array.from({ length: count }, (_, k) => Number((start + k * step).toPrecision(12)));
  } else {
    values = spec.split(',').filter((s) => s.trim() !== '').map(num);
    if (values.length === 0) throw bad('no values');
  }
  for (const v of values) if (!(v > 0)) throw bad(`thresholds must be positive, got ${v}`);
  return [...new Set(values)].sort((a, b) => a - b);
}

/** The thresholds a model accepts: for BigGAN-deep those in (0, 1], with a note on what was dropped. */
export function thresholdsForModel(values: number[], model: GeneratorModel): { values: number[]; note?: string } {
  if (!model.usesTruncation) return { values };
  const kept = values.filter((v) => v <= 1);
  if (kept.length === 0) {
    throw new UserError(`--truncation-sweep: BigGAN-deep's truncation must be in (0, 1] (it selects BN statistics), but every threshold is above 1`);
  }
  if (kept.length === values.length) return { values };
  return {
    values: kept,
    note: `BigGAN-deep's truncation must be in (0, 1] (it selects BN statistics): sweeping ${kept[0]}..${kept[kept.length - 1]}, ${values.length - kept.length} value(s) above 1 dropped`,
  };
}

export interface SweepRow {
  truncation: number;
  metrics: MetricResult;
  /** See ScoreResult.constantFeatures. */
  constantFeatures: boolean;
}

/** Scores the generator at each threshold with the same seed (same base latents and classes). */
export async function runTruncationSweep(
  model: GeneratorModel,
  ctx: EvalContext,
  base: Omit<GenerationPlan, 'truncation'>,
  thresholds: readonly number[],
  opts: { threads?: number; onProgress?: (done: number) => void; onRow?: (row: SweepRow) => void } = {},
): Promise<SweepRow[]> {
  const sampler = Sampler.of(model, { threads: opts.threads });
  const rows: SweepRow[] = [];
  try {
    for (let k = 0; k < thresholds.length; k++) {
      const truncation = thresholds[k]!;
      const { metrics, constantFeatures } = await evaluateGenerator(model, ctx, { ...base, truncation }, {
        sampler,
        onProgress: (done) => opts.onProgress?.(k * base.n + done),
      });
      const row = { truncation, metrics, constantFeatures };
      rows.push(row);
      opts.onRow?.(row);
    }
  } finally {
    await sampler.release();
  }
  return rows;
}

/** Plain-text table: one row per threshold, a column for each result present (as its metric declares its display). */
export function sweepTable(rows: readonly SweepRow[]): string {
  const cols: [string, (m: MetricResult) => string][] = [];
  const has = (k: string): boolean => rows.some((r) => r.metrics[k] !== undefined);
  for (const item of listMetrics().flatMap((spec) => spec.display)) {
    if (!has(item.value)) continue;
    const spread = item.spread;
    cols.push([item.label, (m) => `${fmt(m[item.value], item.digits)}${spread !== undefined ? ` ± ${fmt(m[spread], item.digits)}` : ''}`]);
  }
  const header = ['truncation', ...cols.map((c) => c[0])];
  const body = rows.map((r) => [String(r.truncation), ...cols.map((c) => c[1](r.metrics))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function fmt(v: number | undefined, digits: number): string {
  return v === undefined ? '-' : v.toFixed(digits);
}

/**
 * The sweep as a PNG: the IS–FID curve when both were computed (x: IS, y: FID,
 * points labelled t=...), else FID or IS against the threshold, else the first
 * result the other metrics display (e.g. precision) against the threshold.
 */
export function plotSweep(file: string, rows: readonly SweepRow[], title: string): void {
  const t = rows.map((r) => r.truncation);
  const is = rows.map((r) => r.metrics.is_mean ?? NaN);
  const fid = rows.map((r) => r.metrics.fid ?? NaN);
  const haveIs = is.some(Number.isFinite), haveFid = fid.some(Number.isFinite);
  const labels = t.map((v) => `t=${v}`);
  let series: PlotSeries[];
  let x: { label: string }, y: { label: string };
  if (haveIs && haveFid) {
    series = [{ name: 'truncation sweep', x: is, y: fid, marker: 'circle', pointLabels: labels }];
    x = { label: 'Inception Score' };
    y = { label: 'FID' };
  } else if (haveFid || haveIs) {
    const metric = haveFid ? fid : is;
    series = [{ name: haveFid ? 'FID' : 'Inception Score', x: t, y: metric, marker: 'circle' }];
    x = { label: 'truncation threshold' };
    y = { label: haveFid ? 'FID' : 'Inception Score' };
  } else {
    const item = listMetrics().flatMap((spec) => spec.display).find((d) => rows.some((r) => r.metrics[d.value] !== undefined));
    if (!item) throw new Error('plotSweep: the rows hold no metric');
    series = [{ name: item.label, x: t, y: rows.map((r) => r.metrics[item.value] ?? NaN), marker: 'circle' }];
    x = { label: 'truncation threshold' };
    y = { label: item.label };
  }
  writeLinePlot(file, series, { width: 720, height: 540, title, x, y, legend: 'none' });
}
