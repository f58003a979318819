/**
 * The dashboard's curves from the log's records, as uPlot's aligned columns: one x column
 * (iterations) and one y column per series, null where a series has no value.
 */
import type { DashboardRecord } from '../../src/web/dashboard-protocol.js';
import { layerLabel } from '../../src/train/run/layer-label.js';

export interface SeriesSpec {
  label: string;
  color: string;
  width?: number;
  dash?: number[];
}

export interface ChartData {
  series: SeriesSpec[];
  /** [x, ...one column per series]. */
  columns: (number | null)[][];
}

function value(r: DashboardRecord, key: string): number | null {
  const v = r[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function columnsOf(records: DashboardRecord[], keys: string[]): (number | null)[][] {
  return [records.map((r) => r.step), ...keys.map((k) => records.map((r) => value(r, k)))];
}

export const COLORS = {
  dReal: '#4cc9f0',
  dFake: '#f472b6',
  g: '#fbbf24',
  imgPerS: '#34d399',
  is: '#fbbf24',
  band: '#64748b',
  fid: '#f87171',
};

/** G's loss first, so D's two (mostly below it, near zero) are drawn over it. */
export function lossData(train: DashboardRecord[]): ChartData {
  return {
    series: [
      { label: 'G loss', color: COLORS.g },
      { label: 'D loss (real)', color: COLORS.dReal },
      { label: 'D loss (fake)', color: COLORS.dFake },
    ],
    columns: columnsOf(train, ['g_loss', 'd_loss_real', 'd_loss_fake']),
  };
}

/** Real images D consumes per second (iterations/s times batch, D steps and accumulations: one curve says both). */
export function throughputData(train: DashboardRecord[]): ChartData {
  return { series: [{ label: 'images/s', color: COLORS.imgPerS }], columns: columnsOf(train, ['img_per_s']) };
}

/**
 * A colour along the network's depth (t = 0 first layer, 1 last): blue through violet and
 * red to amber, bright enough on the dark background and ordered, as in a colour map.
 */
export function depthColor(t: number): string {
  const hue = (210 + 200 * t) % 360;
  return `hsl(${hue.toFixed(0)} 80% 62%)`;
}

/**
 * σ0 of every weight matrix of one network over the iterations (the paper's Figure 3): the
 * layers in the order the log lists them (the model's parameter order, input to output).
 */
export function sigmaData(sv: DashboardRecord[], net: 'G' | 'D'): ChartData & { paths: string[] } {
  const paths: string[] = [];
  const seen = new Set<string>();
  const tables = sv.map((r) => (typeof r[net] === 'object' && r[net] !== null ? (r[net] as Record<string, unknown>) : {}));
  for (const t of tables) {
    for (const p of Object.keys(t)) {
      if (seen.has(p)) continue;
      seen.add(p);
      paths.push(p);
    }
  }
  const n = Math.max(paths.length - 1, 1);
  return {
    paths,
    series: paths.map((p, i) => ({ label: layerLabel(p), color: depthColor(i / n), width: 1.25 })),
    columns: [
      sv.map((r) => r.step),
      ...paths.map((p) => tables.map((t) => {
        const v = t[p];
        return Array.isArray(v) && typeof v[0] === 'number' && Number.isFinite(v[0]) ? v[0] : null;
      })),
    ],
  };
}

/** Inception Score of G_ema, with mean ± std as thin dashed lines. */
export function isData(evals: DashboardRecord[]): ChartData {
  const mean = evals.map((r) => value(r, 'is_mean'));
  const std = evals.map((r) => value(r, 'is_std') ?? 0);
  return {
    series: [
      { label: 'IS (G_ema)', color: COLORS.is, width: 2 },
      { label: '+ std', color: COLORS.band, width: 1, dash: [4, 4] },
      { label: '− std', color: COLORS.band, width: 1, dash: [4, 4] },
    ],
    columns: [evals.map((r) => r.step), mean, mean.map((m, i) => (m === null ? null : m + std[i])), mean.map((m, i) => (m === null ? null : m - std[i]))],
  };
}

export function fidData(evals: DashboardRecord[]): ChartData {
  return { series: [{ label: 'FID (G_ema)', color: COLORS.fid, width: 2 }], columns: columnsOf(evals, ['fid']) };
}

/** Vertical lines at notable iterations: a resume, a detected collapse. */
export interface Marker {
  step: number;
  label: string;
  color: string;
}

export function markers(records: DashboardRecord[]): Marker[] {
  const out: Marker[] = [];
  for (const r of records) {
    if (r.type === 'resume') out.push({ step: r.step, label: 'resumed', color: '#94a3b8' });
    else if (r.type === 'collapse') out.push({ step: r.step, label: 'collapse', color: '#ef4444' });
  }
  return out;
}
