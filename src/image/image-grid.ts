/**
 * Sample sheets: tiles a batch of generator outputs (NCHW floats in [-1, 1])
 * into one RGBA8 image, optionally with a caption under each tile, and encodes
 * / writes it as PNG. Pure pixel work here; text comes from bitmap-font.ts.
 */
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../io/atomic-write.js';
import { GLYPH_HEIGHT, drawText, measureText, truncateToWidth, type Color } from './bitmap-font.js';

export type { Color } from './bitmap-font.js';

/** An 8-bit RGBA raster, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  rgba: Uint8Array;
  width: number;
  height: number;
}

export interface GridOptions {
  /** Tiles per row; default ceil(sqrt(n)), never more than n. */
  columns?: number;
  /** Background pixels around and between tiles; default 2. */
  padding?: number;
  /** One caption per image, drawn in a strip under its tile; too long ones are cut with '..'. */
  labels?: readonly string[];
  /** Colour of padding and caption strips; default black. Caption text picks black or white for contrast. */
  background?: Color;
  /** Integer magnification of the caption font; default 1 (a 5x9 pixel glyph cell). */
  labelScale?: number;
  /** Integer magnification of every tile (nearest neighbour); default 1. See labelledTileScale(). */
  tileScale?: number;
  /**
   * One label per row, drawn in a column left of the tiles, vertically centred on the row's
   * tiles, never truncated below ROW_LABEL_MAX_WIDTH pixels (the column is as wide as the longest).
   */
  rowLabels?: readonly string[];
}

/** Tiles narrower than this are magnified for a labelled sheet (captions get ~15 characters). */
export const MIN_LABELLED_TILE = 96;
/** Row labels longer than this many pixels are cut with '..'. */
export const ROW_LABEL_MAX_WIDTH = 180;

/** The integer tile magnification that makes a `size`-pixel tile at least MIN_LABELLED_TILE wide (32 -> 3, 64 -> 2, 128 -> 1). */
export function labelledTileScale(size: number): number {
  return Math.max(1, Math.ceil(MIN_LABELLED_TILE / size));
}

/** Blank pixels above and below the caption text inside its strip. */
const CAPTION_MARGIN = 2;
/** Minimum blank pixels left and right of the caption text. */
const CAPTION_SIDE_MARGIN = 2;

/** Maps a generator output value in [-1, 1] to a byte; out-of-range values clamp and NaN becomes 0. */
export function toByte(v: number): number {
  const t = Math.round((v + 1) * 127.5);
  // Written so NaN fails both comparisons and lands on 0.
  return t > 255 ? 255 : t >= 0 ? t : 0;
}

/** Height of the caption strip under each tile for a given font scale. */
export function captionStripHeight(labelScale = 1): number {
  return GLYPH_HEIGHT * labelScale + 2 * CAPTION_MARGIN;
}

function checkPositiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${v}`);
}

function checkColor(c: Color): void {
  const len = (c as readonly number[]).length; // JS callers may pass any array
  if (len !== 3 && len !== 4) throw new RangeError(`colour must have 3 or 4 components, got ${len}`);
  for (const v of c) {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`colour components must be integers in 0..255, got [${c.join(', ')}]`);
  }
}

/**
 * Tiles `n` images of shape [channels, height, width] (NCHW, float in [-1, 1])
 * into a grid. Layout: with rowLabels, a label column at the left; `padding` pixels
 * around every tile (magnified by tileScale); with labels, each tile is followed by a
 * caption strip of captionStripHeight() pixels. Grey
 * (1-channel) images are replicated to RGB. The result is opaque unless the
 * background colour has alpha.
 */
export function imagesToGrid(
  images: Float32Array,
  n: number,
  channels: 1 | 3,
  height: number,
  width: number,
  opts: GridOptions = {},
): RgbaImage {
  checkPositiveInt('image count', n);
  checkPositiveInt('image height', height);
  checkPositiveInt('image width', width);
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(channels)}`);
  const plane = height * width;
  if (images.length !== n * channels * plane) {
    throw new RangeError(`images hold ${images.length} values, expected ${n}x${channels}x${height}x${width} = ${n * channels * plane}`);
  }
  const columns = Math.min(opts.columns ?? Math.ceil(Math.sqrt(n)), n);
  checkPositiveInt('columns', columns);
  const padding = opts.padding ?? 2;
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`padding must be a non-negative integer, got ${padding}`);
  const labelScale = opts.labelScale ?? 1;
  checkPositiveInt('label scale', labelScale);
  const labels = opts.labels;
  if (labels && labels.length !== n) throw new RangeError(`got ${labels.length} labels for ${n} images`);
  const background: Color = opts.background ?? [0, 0, 0];
  checkColor(background);
  const tileScale = opts.tileScale ?? 1;
  checkPositiveInt('tile scale', tileScale);

  const rows = Math.ceil(n / columns);
  const rowLabels = opts.rowLabels?.map((l) => truncateToWidth(l, ROW_LABEL_MAX_WIDTH, labelScale));
  if (rowLabels && rowLabels.length !== rows) throw new RangeError(`got ${rowLabels.length} row labels for ${rows} rows`);
  const tileW = width * tileScale;
  const tileH = height * tileScale;
  const labelColumn = rowLabels ? Math.max(0, ...rowLabels.map((l) => measureText(l, labelScale).width)) + 2 * CAPTION_SIDE_MARGIN : 0;
  const captionH = labels ? captionStripHeight(labelScale) : 0;
  const cellH = tileH + captionH;
  const outW = labelColumn + columns * tileW + (columns + 1) * padding;
  const outH = rows * cellH + (rows + 1) * padding;
  const rgba = new Uint8Array(outW * outH * 4);

  const [br, bg, bb] = background;
  const ba = background[3] ?? 255;
  for (let o = 0; o < rgba.length; o += 4) {
    rgba[o] = br;
    rgba[o + 1] = bg;
    rgba[o + 2] = bb;
    rgba[o + 3] = ba;
  }

  // Rec.601 luma decides whether dark or light text reads better on the strip.
  const ink: Color = 0.299 * br + 0.587 * bg + 0.114 * bb > 127.5 ? [0, 0, 0, 255] : [255, 255, 255, 255];
  const textRoom = tileW - 2 * CAPTION_SIDE_MARGIN;

  rowLabels?.forEach((text, r) => {
    const y0 = padding + r * (cellH + padding);
    drawText(rgba, outW, outH, CAPTION_SIDE_MARGIN, y0 + Math.floor((tileH - GLYPH_HEIGHT * labelScale) / 2), text, ink, labelScale);
  });
  for (let i = 0; i < n; i++) {
    const x0 = labelColumn + padding + (i % columns) * (tileW + padding);
    const y0 = padding + Math.floor(i / columns) * (cellH + padding);
    const base = i * channels * plane;
    // For grey images all three output channels read plane 0.
    const gOff = channels === 3 ? plane : 0;
    const bOff = channels === 3 ? 2 * plane : 0;
    for (let y = 0; y < tileH; y++) {
      let o = ((y0 + y) * outW + x0) * 4;
      const row = base + Math.floor(y / tileScale) * width;
      for (let x = 0; x < tileW; x++, o += 4) {
        const s = row + Math.floor(x / tileScale);
        rgba[o] = toByte(images[s] as number);
        rgba[o + 1] = toByte(images[s + gOff] as number);
        rgba[o + 2] = toByte(images[s + bOff] as number);
        rgba[o + 3] = 255;
      }
    }
    if (labels) {
      const text = truncateToWidth(labels[i] as string, textRoom, labelScale);
      if (text.length === 0) continue;
      const tw = measureText(text, labelScale).width;
      // Centred under the tile; drawText clips, but truncation keeps it inside anyway.
      drawText(rgba, outW, outH, x0 + Math.floor((tileW - tw) / 2), y0 + tileH + CAPTION_MARGIN, text, ink, labelScale);
    }
  }
  return { rgba, width: outW, height: outH };
}

function isOpaque(rgba: Uint8Array): boolean {
  for (let o = 3; o < rgba.length; o += 4) if (rgba[o] !== 255) return false;
  return true;
}

/**
 * Encodes an RGBA8 raster as an 8-bit PNG. Fully opaque images are stored as
 * RGB (colour type 2), a quarter smaller; otherwise RGBA (colour type 6).
 */
export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  checkPositiveInt('PNG width', width);
  checkPositiveInt('PNG height', height);
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`encodePng: buffer holds ${rgba.length} bytes, expected ${width}x${height}x4 = ${width * height * 4}`);
  }
  // An empty PNG object avoids pngjs allocating a second full-size buffer.
  const png = new PNG();
  png.width = width;
  png.height = height;
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const colorType = isOpaque(rgba) ? 2 : 6;
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true, bitDepth: 8 });
}

/**
 * Writes an RGBA8 raster to `file` as PNG, atomically: temp file in the same
 * directory, fsync, rename; on failure the temp file is removed and nothing
 * appears under `file` (file-system errors become a one-line UserError).
 */
export function writePng(file: string, rgba: Uint8Array, width: number, height: number): void {
  writeFileAtomic(file, encodePng(rgba, width, height));
}
