/**
 * `biggan plot DIR`: the paper's Figure 3 view of a run, from DIR/log.jsonl, as one
 * PNG of three stacked panels: the losses (D on real, D on fake, G) against the
 * iteration, then σ0 of every weight matrix of G, then of D (log scale), one curve
 * per layer; when the run was evaluated (`eval` records), FID and the Inception Score
 * of G_ema against the iteration follow. A detected collapse is marked by a vertical
 * line in the loss and σ0 panels.
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import { renderLinePlot, type PlotSeries } from '../../image/line-plot.js';
import { writePng, type RgbaImage } from '../../image/image-grid.js';
import { readRunLog, type LogRecord } from './run-log.js';
import { layerLabel } from './layer-label.js';

/** Most layers named in a σ0 legend (the ones with the largest last σ0); the rest are drawn unnamed. */
const LEGEND_LAYERS = 8;
const GREY: [number, number, number] = [120, 120, 120];

export interface PlotRunOptions {
  width?: number;
  /** Height of each panel. */
  panelHeight?: number;
}

function column(records: LogRecord[], key: string): number[] {
  return records.map((r) => (typeof r[key] === 'number' ? (r[key] as number) : NaN));
}

function sigmaSeries(sv: LogRecord[], net: 'G' | 'D'): PlotSeries[] {
  const layers = new Map<string, { x: number[]; y: number[] }>();
  for (const r of sv) {
    const table = r[net] as Record<string, number[]> | undefined;
    if (!table) continue;
    for (const [layer, values] of Object.entries(table)) {
      const s = layers.get(layer) ?? layers.set(layer, { x: [], y: [] }).get(layer)!;
      s.x.push(r.step);
      s.y.push(values[0]);
    }
  }
  const last = (s: { y: number[] }): number => s.y[s.y.length - 1] ?? 0;
  const named = new Set([...layers.entries()].sort((a, b) => last(b[1]) - last(a[1])).slice(0, LEGEND_LAYERS).map(([k]) => k));
  return [...layers.entries()].map(([layer, s]) => ({ ...(named.has(layer) ? { name: layerLabel(layer) } : { color: GREY, lineWidth: 1 }), x: s.x, y: s.y }));
}

/** A vertical line at the collapse step spanning the data (positive data only, for log axes). */
function collapseMarker(records: LogRecord[], ys: number[][], positiveOnly: boolean): PlotSeries[] {
  const c = records.find((r) => r.type === 'collapse');
  const finite = ys.flat().filter((v) => Number.isFinite(v) && (!positiveOnly || v > 0));
  if (!c || !finite.length) return [];
  return [{ name: 'collapse', x: [c.step, c.step], y: [Math.min(...finite), Math.max(...finite)], color: [200, 0, 0], lineWidth: 1 }];
}

function stack(panels: RgbaImage[]): RgbaImage {
  const width = Math.max(...panels.map((p) => p.width));
  const height = panels.reduce((h, p) => h + p.height, 0);
  const rgba = new Uint8Array(width * height * 4).fill(255);
  let y0 = 0;
  for (const p of panels) {
    for (let y = 0; y < p.height; y++) rgba.set(p.rgba.subarray(y * p.width * 4, (y + 1) * p.width * 4), ((y0 + y) * width) * 4);
    y0 += p.height;
  }
  return { rgba, width, height };
}

/** Renders the plot of a run's log; returns the image. */
export function renderRunPlot(records: LogRecord[], opts: PlotRunOptions = {}): RgbaImage {
  const width = opts.width ?? 900;
  const height = opts.panelHeight ?? 400;
  const train = records.filter((r) => r.type === 'train');
  const sv = records.filter((r) => r.type === 'sv');
  if (!train.length && !sv.length) throw new UserError('the log has no training records yet');
  const steps = train.map((r) => r.step);
  const losses: PlotSeries[] = [
    { name: 'D loss (real)', x: steps, y: column(train, 'd_loss_real') },
    { name: 'D loss (fake)', x: steps, y: column(train, 'd_loss_fake') },
    { name: 'G loss', x: steps, y: column(train, 'g_loss') },
  ];
  const panels = [
    renderLinePlot([...losses, ...collapseMarker(records, losses.map((s) => s.y as number[]), false)], {
      width, height, title: 'losses', x: { label: 'iteration' }, y: { label: 'loss' },
    }),
  ];
  for (const net of ['G', 'D'] as const) {
    const series = sigmaSeries(sv, net);
    panels.push(
      renderLinePlot([...series, ...collapseMarker(records, series.map((s) => s.y as number[]), true)], {
        width, height, title: `${net}: top singular value sigma0 per layer`, x: { label: 'iteration' }, y: { label: 'sigma0', scale: 'log' }, legend: 'top-left',
      }),
    );
  }
  panels.push(...evalPanels(records.filter((r) => r.type === 'eval'), width, height));
  return stack(panels);
}

/** FID (when computed) and IS ± std of the periodic evaluations; none without eval records. */
function evalPanels(evals: LogRecord[], width: number, height: number): RgbaImage[] {
  if (!evals.length) return [];
  const steps = evals.map((r) => r.step);
  const marker = evals.length === 1 ? { marker: 'circle' as const } : {};
  const panels: RgbaImage[] = [];
  const fid = column(evals, 'fid');
  if (fid.some(Number.isFinite)) {
    panels.push(renderLinePlot([{ name: 'FID (G_ema)', x: steps, y: fid, ...marker }], {
      width, height, title: 'FID (lower is better)', x: { label: 'iteration' }, y: { label: 'FID' },
    }));
  }
  const mean = column(evals, 'is_mean');
  const std = column(evals, 'is_std');
  const band = (sign: number): number[] => mean.map((m, i) => m + sign * (Number.isFinite(std[i]) ? std[i] : 0));
  panels.push(renderLinePlot([
    { name: 'IS (G_ema)', x: steps, y: mean, ...marker },
    { name: '± std', x: steps, y: band(1), color: GREY, lineWidth: 1 },
    { x: steps, y: band(-1), color: GREY, lineWidth: 1 },
  ], { width, height, title: 'Inception Score (higher is better)', x: { label: 'iteration' }, y: { label: 'IS' } }));
  return panels;
}

/** Reads DIR/log.jsonl (or a log file) and writes the plot PNG. */
export function plotRun(log: string, out: string, opts: PlotRunOptions = {}): { width: number; height: number } {
  if (!fs.existsSync(log)) throw new UserError(`${log} does not exist (is this a biggan train --out directory?)`);
  const img = renderRunPlot(readRunLog(log), opts);
  writePng(out, img.rgba, img.width, img.height);
  return { width: img.width, height: img.height };
}
