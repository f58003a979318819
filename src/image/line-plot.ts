/**
 * A small PNG line / scatter plot renderer: several series (lines, markers or
 * both, optional per-point labels), axes with "nice" ticks and grid lines,
 * optional log scale per axis, title, axis labels (the y label drawn rotated)
 * and a legend. Text is the built-in bitmap font (bitmap-font.ts), so plots
 * need no fonts or native libraries. Used for the truncation sweep's IS–FID
 * curve, and general enough for training curves (loss vs step, singular values
 * on a log axis).
 *
 *   writeLinePlot('curve.png', [{ name: 'FID', x: steps, y: fid }], { x: { label: 'step' }, y: { label: 'FID', scale: 'log' } });
 *
 * Points that are not finite (or not positive on a log axis) are skipped and
 * break the line there.
 */
import { GLYPH_HEIGHT, drawText, measureText, type Color } from './bitmap-font.js';
import { type RgbaImage, writePng } from './image-grid.js';

export type AxisScale = 'linear' | 'log';
export type MarkerShape = 'circle' | 'square' | 'cross' | 'none';
export type LegendPosition = 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'none';

export interface PlotSeries {
  /** Legend entry; series without a name are left out of the legend. */
  name?: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Default: the next palette colour. */
  color?: Color;
  /** Connect consecutive points (default true). */
  line?: boolean;
  /** Line thickness in pixels (default 2). */
  lineWidth?: number;
  /** Default 'none' for lines, 'circle' for scatter series (line: false). */
  marker?: MarkerShape;
  /** Marker size in pixels (default 5). */
  markerSize?: number;
  /** Text drawn beside each point (e.g. the truncation value); '' for none. */
  pointLabels?: readonly string[];
}

export interface AxisOptions {
  label?: string;
  scale?: AxisScale;
  /** Fixed range ends; by default the data range plus a small margin. */
  min?: number;
  max?: number;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
  x?: AxisOptions;
  y?: AxisOptions;
  /** Default 'top-right' when any series has a name, else 'none'. */
  legend?: LegendPosition;
  /** Grid lines at the major ticks (default true). */
  grid?: boolean;
  background?: Color;
  /** Integer magnification of tick / label / legend text (default 1; the title is one step larger). */
  fontScale?: number;
}

/** Distinct colours on white (a common ten-colour qualitative palette). */
export const PLOT_PALETTE: readonly Color[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

const INK: Color = [0, 0, 0];
const GRID: Color = [225, 225, 225];
const TICK_LEN = 5;
const PAD = 10;

/** Renders the plot into an RGBA raster. */
export function renderLinePlot(series: readonly PlotSeries[], opts: PlotOptions = {}): RgbaImage {
  const width = opts.width ?? 640;
  const height = opts.height ?? 480;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 120 || height < 100) {
    throw new RangeError(`plot size must be integers of at least 120x100, got ${width}x${height}`);
  }
  const fs = opts.fontScale ?? 1;
  if (!Number.isInteger(fs) || fs < 1) throw new RangeError(`fontScale must be a positive integer, got ${fs}`);
  series.forEach((s, i) => {
    if (s.x.length !== s.y.length) throw new RangeError(`series ${s.name ?? i}: ${s.x.length} x values but ${s.y.length} y values`);
    if (s.pointLabels && s.pointLabels.length !== s.x.length) throw new RangeError(`series ${s.name ?? i}: ${s.pointLabels.length} point labels for ${s.x.length} points`);
  });
  const xScale = opts.x?.scale ?? 'linear';
  const yScale = opts.y?.scale ?? 'linear';
  const xr = axisRange(series.map((s) => s.x), xScale, opts.x);
  const yr = axisRange(series.map((s) => s.y), yScale, opts.y);
  const xTicks = ticksFor(xr, xScale, Math.max(2, Math.floor(width / 90)));
  const yTicks = ticksFor(yr, yScale, Math.max(2, Math.floor(height / 60)));

  const textH = GLYPH_HEIGHT * fs;
  const titleScale = fs + 1;
  const yTickW = Math.max(0, ...yTicks.map((t) => measureText(t.label, fs).width));
  const left = PAD + (opts.y?.label ? textH + PAD : 0) + yTickW + TICK_LEN + 4;
  const right = PAD + Math.ceil(measureText(xTicks[xTicks.length - 1]?.label ?? '', fs).width / 2);
  const top = PAD + (opts.title ? GLYPH_HEIGHT * titleScale + PAD : Math.ceil(textH / 2));
  const bottom = PAD + TICK_LEN + 4 + textH + (opts.x?.label ? PAD + textH : 0);
  const plot = { x0: left, y0: top, x1: width - right, y1: height - bottom };
  if (plot.x1 - plot.x0 < 20 || plot.y1 - plot.y0 < 20) throw new RangeError(`plot ${width}x${height} is too small for its labels`);

  const img: RgbaImage = { rgba: new Uint8Array(width * height * 4), width, height };
  fillRect(img, 0, 0, width, height, opts.background ?? [255, 255, 255]);

  const toPx = (v: number, r: Range, scale: AxisScale, a: number, b: number): number => {
    const t = scale === 'log' ? (Math.log10(v) - Math.log10(r.min)) / (Math.log10(r.max) - Math.log10(r.min)) : (v - r.min) / (r.max - r.min);
    return a + t * (b - a);
  };
  const px = (v: number): number => toPx(v, xr, xScale, plot.x0, plot.x1);
  const py = (v: number): number => toPx(v, yr, yScale, plot.y1, plot.y0);

  // grid and ticks
  for (const t of xTicks) {
    const x = Math.round(px(t.value));
    if (opts.grid !== false) drawLine(img, x, plot.y0, x, plot.y1, GRID, 1, plot);
    drawLine(img, x, plot.y1, x, plot.y1 + TICK_LEN, INK, 1);
    const w = measureText(t.label, fs).width;
    drawText(img.rgba, width, height, Math.min(Math.max(x - w / 2, 0), width - w), plot.y1 + TICK_LEN + 4, t.label, INK, fs);
  }
  for (const t of yTicks) {
    const y = Math.round(py(t.value));
    if (opts.grid !== false) drawLine(img, plot.x0, y, plot.x1, y, GRID, 1, plot);
    drawLine(img, plot.x0 - TICK_LEN, y, plot.x0, y, INK, 1);
    const w = measureText(t.label, fs).width;
    drawText(img.rgba, width, height, plot.x0 - TICK_LEN - 4 - w, Math.min(Math.max(y - textH / 2, 0), height - textH), t.label, INK, fs);
  }

  // series, clipped to the plot area
  const clip = { x0: plot.x0 + 1, y0: plot.y0 + 1, x1: plot.x1 - 1, y1: plot.y1 - 1 };
  const styled = series.map((s, i) => ({
    ...s,
    color: s.color ?? PLOT_PALETTE[i % PLOT_PALETTE.length]!,
    line: s.line ?? true,
    marker: s.marker ?? (s.line === false ? 'circle' : 'none'),
  }));
  const placed: Rect[] = [];
  for (const s of styled) {
    const valid = (i: number): boolean => {
      const x = s.x[i]!, y = s.y[i]!;
      return Number.isFinite(x) && Number.isFinite(y) && (xScale !== 'log' || x > 0) && (yScale !== 'log' || y > 0);
    };
    if (s.line) {
      for (let i = 1; i < s.x.length; i++) {
        if (valid(i - 1) && valid(i)) drawLine(img, px(s.x[i - 1]!), py(s.y[i - 1]!), px(s.x[i]!), py(s.y[i]!), s.color, s.lineWidth ?? 2, clip);
      }
    }
    for (let i = 0; i < s.x.length; i++) {
      if (!valid(i)) continue;
      const x = px(s.x[i]!), y = py(s.y[i]!);
      if (s.marker !== 'none') drawMarker(img, x, y, s.marker, s.markerSize ?? 5, s.color, clip);
      const label = s.pointLabels?.[i];
      if (label && x >= clip.x0 && x <= clip.x1 && y >= clip.y0 && y <= clip.y1) {
        const spot = labelSpot(Math.round(x), Math.round(y), measureText(label, fs).width, textH, clip, placed);
        if (spot) drawTextWithHalo(img, spot.x0, spot.y0, label, s.color, opts.background ?? [255, 255, 255], fs);
      }
    }
  }

  // frame on top of everything that may touch the edges
  strokeRect(img, plot.x0, plot.y0, plot.x1, plot.y1, INK);

  if (opts.title) {
    const w = measureText(opts.title, titleScale).width;
    drawText(img.rgba, width, height, Math.max(0, (plot.x0 + plot.x1 - w) / 2), PAD, opts.title, INK, titleScale);
  }
  if (opts.x?.label) {
    const w = measureText(opts.x.label, fs).width;
    drawText(img.rgba, width, height, Math.max(0, (plot.x0 + plot.x1 - w) / 2), height - PAD - textH, opts.x.label, INK, fs);
  }
  if (opts.y?.label) {
    const w = measureText(opts.y.label, fs).width;
    drawTextUp(img, PAD, Math.max(0, Math.round((plot.y0 + plot.y1 + w) / 2)), opts.y.label, INK, fs);
  }

  const named = styled.filter((s) => s.name);
  const legend = opts.legend ?? (named.length > 0 ? 'top-right' : 'none');
  if (legend !== 'none' && named.length > 0) drawLegend(img, named, legend, plot, fs);
  return img;
}

/** Renders and writes the plot as PNG (atomically). */
export function writeLinePlot(file: string, series: readonly PlotSeries[], opts: PlotOptions = {}): void {
  const img = renderLinePlot(series, opts);
  writePng(file, img.rgba, img.width, img.height);
}

export interface Range {
  min: number;
  max: number;
}

/** The axis range: fixed ends where given, else the data range widened by 4% (log: in log space). */
export function axisRange(values: ArrayLike<number>[], scale: AxisScale, opts: AxisOptions = {}): Range {
  let lo = Infinity, hi = -Infinity;
  for (const vs of values) {
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i]!;
      if (!Number.isFinite(v) || (scale === 'log' && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (opts.min !== undefined && scale === 'log' && !(opts.min > 0)) throw new RangeError(`a log axis needs a positive minimum, got ${opts.min}`);
  if (lo > hi) {
    // no data: a unit range
    lo = scale === 'log' ? 1 : 0;
    hi = scale === 'log' ? 10 : 1;
  }
  const f = scale === 'log' ? Math.log10 : (v: number) => v;
  const inv = scale === 'log' ? (v: number) => 10 ** v : (v: number) => v;
  let a = f(lo), b = f(hi);
  if (a === b) {
    const d = scale === 'log' ? 0.5 : Math.abs(a) > 0 ? Math.abs(a) * 0.1 : 1;
    a -= d;
    b += d;
  } else {
    const m = (b - a) * 0.04;
    a -= m;
    b += m;
  }
  const min = opts.min ?? inv(a);
  const max = opts.max ?? inv(b);
  if (!(max > min)) throw new RangeError(`axis range is empty: min ${min} >= max ${max}`);
  return { min, max };
}

export interface Tick {
  value: number;
  label: string;
}

/** Linear ticks at 1/2/5 x 10^k steps; log ticks at decades (plus 2 and 5 when few decades show). */
export function ticksFor(r: Range, scale: AxisScale, target: number): Tick[] {
  if (scale === 'log') {
    const a = Math.log10(r.min), b = Math.log10(r.max);
    if (b - a >= 1) {
      const stride = Math.max(1, Math.ceil((b - a) / target));
      const out: Tick[] = [];
      for (let e = Math.ceil(a - 1e-9); e <= b + 1e-9; e += stride) out.push({ value: 10 ** e, label: formatPow10(e) });
      if (out.length >= 3 || stride > 1) return out;
      const more: Tick[] = [];
      for (let e = Math.floor(a); e <= Math.ceil(b); e++) {
        for (const m of [1, 2, 5]) {
          const v = m * 10 ** e;
          if (v >= r.min * (1 - 1e-9) && v <= r.max * (1 + 1e-9)) more.push({ value: v, label: formatNumber(v, v) });
        }
      }
      return more;
    }
    // less than a decade: ordinary ticks, placed on the log scale
  }
  const raw = (r.max - r.min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: Tick[] = [];
  for (let k = Math.ceil(r.min / step - 1e-9); k * step <= r.max + step * 1e-9; k++) {
    const v = k * step;
    if (scale === 'log' && v <= 0) continue;
    out.push({ value: v, label: formatNumber(v, step) });
  }
  return out;
}

function formatPow10(e: number): string {
  if (e >= 0 && e <= 4) return String(10 ** e);
  if (e < 0 && e >= -3) return (10 ** e).toFixed(-e);
  return `1e${e}`;
}

/** A tick value with as many decimals as its step needs; exponent form for very large / small magnitudes. */
export function formatNumber(v: number, step: number): string {
  if (Math.abs(v) < Math.abs(step) * 1e-9) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const [m, e] = v.toExponential(Math.max(0, Math.min(6, Math.ceil(-Math.log10(Math.abs(step) / 10 ** Math.floor(Math.log10(a))) - 1e-9)))).split('e');
    return `${m}e${Number(e)}`;
  }
  const decimals = Math.max(0, Math.min(10, Math.ceil(-Math.log10(Math.abs(step)) - 1e-9)));
  return v.toFixed(decimals);
}

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function setPixel(img: RgbaImage, x: number, y: number, c: Color): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 4;
  img.rgba[o] = c[0];
  img.rgba[o + 1] = c[1];
  img.rgba[o + 2] = c[2];
  img.rgba[o + 3] = c[3] ?? 255;
}

export function fillRect(img: RgbaImage, x0: number, y0: number, x1: number, y1: number, c: Color, clip?: Rect): void {
  const ax = Math.max(Math.round(x0), clip ? clip.x0 : 0), bx = Math.min(Math.round(x1), clip ? clip.x1 + 1 : img.width);
  const ay = Math.max(Math.round(y0), clip ? clip.y0 : 0), by = Math.min(Math.round(y1), clip ? clip.y1 + 1 : img.height);
  for (let y = ay; y < by; y++) for (let x = ax; x < bx; x++) setPixel(img, x, y, c);
}

export function strokeRect(img: RgbaImage, x0: number, y0: number, x1: number, y1: number, c: Color): void {
  drawLine(img, x0, y0, x1, y0, c, 1);
  drawLine(img, x0, y1, x1, y1, c, 1);
  drawLine(img, x0, y0, x0, y1, c, 1);
  drawLine(img, x1, y0, x1, y1, c, 1);
}

/** A line of `thickness` pixels (square pen), clipped to `clip` (Liang-Barsky) when given. */
export function drawLine(img: RgbaImage, xa: number, ya: number, xb: number, yb: number, c: Color, thickness: number, clip?: Rect): void {
  if (clip) {
    const seg = clipSegment(xa, ya, xb, yb, clip);
    if (!seg) return;
    [xa, ya, xb, yb] = seg;
  }
  let x0 = Math.round(xa), y0 = Math.round(ya);
  const x1 = Math.round(xb), y1 = Math.round(yb);
  const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  const lo = -Math.floor((thickness - 1) / 2), hi = lo + thickness;
  let err = dx + dy;
  for (;;) {
    if (thickness === 1) setPixel(img, x0, y0, c);
    else fillRect(img, x0 + lo, y0 + lo, x0 + hi, y0 + hi, c, clip);
    if (x0 === x1 && y0 === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

function clipSegment(x0: number, y0: number, x1: number, y1: number, r: Rect): [number, number, number, number] | null {
  let t0 = 0, t1 = 1;
  const dx = x1 - x0, dy = y1 - y0;
  const edges: [number, number][] = [[-dx, x0 - r.x0], [dx, r.x1 - x0], [-dy, y0 - r.y0], [dy, r.y1 - y0]];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return null;
  }
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}

/** Text with a 1-pixel outline in the background colour, so it stays legible where it crosses a line. */
function drawTextWithHalo(img: RgbaImage, x: number, y: number, text: string, c: Color, halo: Color, scale: number): void {
  for (const [dx, dy] of [[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]] as const) {
    drawText(img.rgba, img.width, img.height, x + dx, y + dy, text, halo, scale);
  }
  drawText(img.rgba, img.width, img.height, x, y, text, c, scale);
}

/**
 * Where a point's label goes: above-right, below-right, above-left or below-left
 * of it, the first inside `area` that overlaps no label placed before (which is
 * then recorded); null when none fits, so crowded labels are dropped, not stacked.
 */
function labelSpot(x: number, y: number, w: number, h: number, area: Rect, placed: Rect[]): Rect | null {
  const gap = 4;
  const candidates: Rect[] = [
    { x0: x + gap, y0: y - h - 2, x1: x + gap + w, y1: y - 2 },
    { x0: x + gap, y0: y + 3, x1: x + gap + w, y1: y + 3 + h },
    { x0: x - gap - w, y0: y - h - 2, x1: x - gap, y1: y - 2 },
    { x0: x - gap - w, y0: y + 3, x1: x - gap, y1: y + 3 + h },
  ];
  for (const r of candidates) {
    if (r.x0 < area.x0 || r.y0 < area.y0 || r.x1 > area.x1 || r.y1 > area.y1) continue;
    if (placed.some((p) => r.x0 < p.x1 + 2 && p.x0 < r.x1 + 2 && r.y0 < p.y1 + 1 && p.y0 < r.y1 + 1)) continue;
    placed.push(r);
    return r;
  }
  return null;
}

function drawMarker(img: RgbaImage, x: number, y: number, shape: MarkerShape, size: number, c: Color, clip: Rect): void {
  if (x < clip.x0 || x > clip.x1 || y < clip.y0 || y > clip.y1) return;
  const cx = Math.round(x), cy = Math.round(y), r = Math.max(1, size / 2);
  if (shape === 'square') {
    fillRect(img, cx - Math.floor(r), cy - Math.floor(r), cx + Math.ceil(r), cy + Math.ceil(r), c, clip);
  } else if (shape === 'cross') {
    drawLine(img, cx - r, cy - r, cx + r, cy + r, c, 2, clip);
    drawLine(img, cx - r, cy + r, cx + r, cy - r, c, 2, clip);
  } else if (shape === 'circle') {
    const ri = Math.ceil(r);
    for (let j = -ri; j <= ri; j++) {
      for (let i = -ri; i <= ri; i++) {
        if (i * i + j * j <= r * r + r * 0.5 && cx + i >= clip.x0 && cx + i <= clip.x1 && cy + j >= clip.y0 && cy + j <= clip.y1) setPixel(img, cx + i, cy + j, c);
      }
    }
  }
}

/** Text rotated 90° counter-clockwise (reading bottom to top), its baseline side facing right; (x, y) is the bottom-left corner. */
function drawTextUp(img: RgbaImage, x: number, y: number, text: string, c: Color, scale: number): void {
  const { width: w, height: h } = measureText(text, scale);
  if (w === 0) return;
  const tmp = new Uint8Array(w * h * 4);
  drawText(tmp, w, h, 0, 0, text, [255, 255, 255, 255], scale);
  for (let ty = 0; ty < h; ty++) {
    for (let tx = 0; tx < w; tx++) {
      if (tmp[(ty * w + tx) * 4 + 3] !== 0) setPixel(img, x + ty, y - tx, c);
    }
  }
}

function drawLegend(img: RgbaImage, entries: readonly (PlotSeries & { color: Color; line: boolean; marker: MarkerShape })[], pos: LegendPosition, plot: Rect, fs: number): void {
  const textH = GLYPH_HEIGHT * fs;
  const swatch = 22;
  const rowH = textH + 6;
  const innerW = swatch + 6 + Math.max(...entries.map((e) => measureText(e.name!, fs).width));
  const boxW = innerW + 12, boxH = entries.length * rowH + 8;
  const x0 = pos.endsWith('left') ? plot.x0 + 8 : plot.x1 - 8 - boxW;
  const y0 = pos.startsWith('top') ? plot.y0 + 8 : plot.y1 - 8 - boxH;
  fillRect(img, x0, y0, x0 + boxW, y0 + boxH, [255, 255, 255]);
  strokeRect(img, x0, y0, x0 + boxW, y0 + boxH, [160, 160, 160]);
  const all: Rect = { x0: 0, y0: 0, x1: img.width - 1, y1: img.height - 1 };
  entries.forEach((e, i) => {
    const cy = y0 + 4 + i * rowH + Math.floor(rowH / 2);
    const sx = x0 + 6;
    if (e.line) drawLine(img, sx, cy, sx + swatch, cy, e.color, e.lineWidth ?? 2, all);
    if (e.marker !== 'none') drawMarker(img, sx + swatch / 2, cy, e.marker, e.markerSize ?? 5, e.color, all);
    drawText(img.rgba, img.width, img.height, sx + swatch + 6, cy - Math.floor(textH / 2), e.name!, INK, fs);
  });
}
