/**
 * Box plots as PNG (the sweep report's top-5 % FID distributions, the study's Figures 1-4):
 * one box per group from its five-number summary (whiskers at min and max: the pools are
 * small, so every point is shown by the whiskers rather than called an outlier), the
 * group's name under it, a linear value axis with the line plot's ticks.
 */
import { GLYPH_HEIGHT, drawText, measureText, truncateToWidth, type Color } from './bitmap-font.js';
import { type RgbaImage, writePng } from './image-grid.js';
import { PLOT_PALETTE, axisRange, drawLine, fillRect, strokeRect, ticksFor } from './line-plot.js';

export interface BoxGroup {
  name: string;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}

export interface BoxPlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

const INK: Color = [0, 0, 0];
const GRID: Color = [225, 225, 225];
const PAD = 10;

export function renderBoxPlot(groups: readonly BoxGroup[], opts: BoxPlotOptions = {}): RgbaImage {
  const width = opts.width ?? Math.max(320, 80 + groups.length * 90, 2 * PAD + measureText(opts.title ?? '', 2).width);
  const height = opts.height ?? 400;
  const finite = groups.flatMap((g) => [g.min, g.max]).filter(Number.isFinite);
  const r = axisRange([finite], 'linear');
  const ticks = ticksFor(r, 'linear', Math.max(2, Math.floor(height / 60)));
  const tickW = Math.max(0, ...ticks.map((t) => measureText(t.label).width));
  const plot = { x0: PAD + tickW + 8, y0: PAD + (opts.title ? 2 * GLYPH_HEIGHT + PAD : 0), x1: width - PAD, y1: height - PAD - GLYPH_HEIGHT - 8 };
  const img: RgbaImage = { rgba: new Uint8Array(width * height * 4), width, height };
  fillRect(img, 0, 0, width, height, [255, 255, 255]);
  const py = (v: number): number => plot.y1 - ((Math.min(Math.max(v, r.min), r.max) - r.min) / (r.max - r.min)) * (plot.y1 - plot.y0);
  for (const t of ticks) {
    const y = Math.round(py(t.value));
    drawLine(img, plot.x0, y, plot.x1, y, GRID, 1);
    drawText(img.rgba, width, height, plot.x0 - 6 - measureText(t.label).width, y - GLYPH_HEIGHT / 2, t.label, INK);
  }
  strokeRect(img, plot.x0, plot.y0, plot.x1, plot.y1, INK);
  if (opts.title) drawText(img.rgba, width, height, PAD, PAD, opts.title, INK, 2);
  const slot = (plot.x1 - plot.x0) / Math.max(1, groups.length);
  groups.forEach((g, i) => {
    const cx = plot.x0 + slot * (i + 0.5);
    const half = Math.min(30, slot * 0.3);
    const color = PLOT_PALETTE[i % PLOT_PALETTE.length];
    if (Number.isFinite(g.q1) && Number.isFinite(g.q3)) {
      fillRect(img, cx - half, py(g.q3), cx + half, py(g.q1) + 1, color);
      strokeRect(img, Math.round(cx - half), Math.round(py(g.q3)), Math.round(cx + half), Math.round(py(g.q1)), INK);
    }
    drawLine(img, cx, py(g.min), cx, py(g.q1), INK, 1);
    drawLine(img, cx, py(g.q3), cx, py(g.max), INK, 1);
    drawLine(img, cx - half / 2, py(g.min), cx + half / 2, py(g.min), INK, 1);
    drawLine(img, cx - half / 2, py(g.max), cx + half / 2, py(g.max), INK, 1);
    drawLine(img, cx - half, py(g.median), cx + half, py(g.median), INK, 2);
    const label = truncateToWidth(g.name, slot - 4);
    drawText(img.rgba, width, height, cx - measureText(label).width / 2, plot.y1 + 6, label, INK);
  });
  return img;
}

export function writeBoxPlot(file: string, groups: readonly BoxGroup[], opts: BoxPlotOptions = {}): void {
  const img = renderBoxPlot(groups, opts);
  writePng(file, img.rgba, img.width, img.height);
}
