/**
 * Heat maps as PNG (the sweep report's FID against a hyper-parameter, the study's Figure 11):
 * a matrix of non-negative cell values drawn white (0) to dark blue (the largest), with
 * row and column labels; the value of each non-zero cell is printed in it.
 */
import { GLYPH_HEIGHT, drawText, measureText, truncateToWidth, type Color } from './bitmap-font.js';
import { type RgbaImage, writePng } from './image-grid.js';
import { fillRect, strokeRect } from './line-plot.js';

export interface HeatMapOptions {
  title?: string;
  /** Label of the rows (left, above the row labels) and of the columns (below them). */
  rowTitle?: string;
  colTitle?: string;
  /** Cell height, and least width (columns widen to their labels). */
  cell?: number;
}

const INK: Color = [0, 0, 0];
const PAD = 10;

/** cells[r][c]; rowLabels[r] and colLabels[c]. */
export function renderHeatMap(cells: readonly (readonly number[])[], rowLabels: readonly string[], colLabels: readonly string[], opts: HeatMapOptions = {}): RgbaImage {
  if (cells.length !== rowLabels.length || cells.some((row) => row.length !== colLabels.length)) throw new RangeError(`heat map: ${cells.length} rows for ${rowLabels.length} labels, or a row not ${colLabels.length} long`);
  const cell = opts.cell ?? 44;
  // columns wide enough for the longest column label
  const cw = Math.max(cell, ...colLabels.map((l) => measureText(l).width + 8));
  const rowW = Math.max(measureText(opts.rowTitle ?? '').width, ...rowLabels.map((l) => measureText(l).width));
  const x0 = PAD + rowW + 8;
  const y0 = PAD + (opts.title ? 2 * GLYPH_HEIGHT + PAD : 0) + GLYPH_HEIGHT + 4;
  const width = Math.max(x0 + cw * colLabels.length + PAD, PAD * 2 + measureText(opts.title ?? '', 2).width, x0 + measureText(opts.colTitle ?? '').width + PAD);
  const height = y0 + cell * rowLabels.length + 2 * GLYPH_HEIGHT + 16 + PAD;
  const img: RgbaImage = { rgba: new Uint8Array(width * height * 4), width, height };
  fillRect(img, 0, 0, width, height, [255, 255, 255]);
  if (opts.title) drawText(img.rgba, width, height, PAD, PAD, opts.title, INK, 2);
  if (opts.rowTitle) drawText(img.rgba, width, height, PAD, y0 - GLYPH_HEIGHT - 4, opts.rowTitle, INK);
  const top = Math.max(0, ...cells.flat().filter(Number.isFinite));
  cells.forEach((row, r) => {
    drawText(img.rgba, width, height, x0 - 6 - measureText(rowLabels[r]).width, y0 + r * cell + (cell - GLYPH_HEIGHT) / 2, rowLabels[r], INK);
    row.forEach((v, c) => {
      const t = top > 0 && Number.isFinite(v) ? v / top : 0;
      const color: Color = [Math.round(255 - t * 222), Math.round(255 - t * 184), Math.round(255 - t * 105)];
      const cx = x0 + c * cw, cy = y0 + r * cell;
      fillRect(img, cx, cy, cx + cw, cy + cell, color);
      if (v !== 0) {
        const s = Number.isInteger(v) ? String(v) : v.toPrecision(3);
        drawText(img.rgba, width, height, cx + (cw - measureText(s).width) / 2, cy + (cell - GLYPH_HEIGHT) / 2, s, t > 0.55 ? [255, 255, 255] : INK);
      }
    });
  });
  strokeRect(img, x0, y0, x0 + cw * colLabels.length, y0 + cell * rowLabels.length, INK);
  colLabels.forEach((l, c) => {
    const s = truncateToWidth(l, cw - 2);
    drawText(img.rgba, width, height, x0 + c * cw + (cw - measureText(s).width) / 2, y0 + rowLabels.length * cell + 4, s, INK);
  });
  if (opts.colTitle) drawText(img.rgba, width, height, x0, y0 + rowLabels.length * cell + GLYPH_HEIGHT + 10, opts.colTitle, INK);
  return img;
}

export function writeHeatMap(file: string, cells: readonly (readonly number[])[], rowLabels: readonly string[], colLabels: readonly string[], opts: HeatMapOptions = {}): void {
  const img = renderHeatMap(cells, rowLabels, colLabels, opts);
  writePng(file, img.rgba, img.width, img.height);
}
