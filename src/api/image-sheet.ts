/** Images to a labelled PNG sheet (the layout `biggan sample --out x.png` writes). */
import { UserError } from '../errors.js';
import { imagesToGrid, labelledTileScale, writePng } from '../image/image-grid.js';
import type { ArrayInput } from './arrays.js';

export interface ImageSheetOptions {
  /** Images per row (default: up to 8). */
  columns?: number;
  /** One caption per image (default: the images' own labels when they have them; `false`: none). */
  labels?: readonly string[] | false;
}

/** Writes images (float NCHW in [-1, 1], 1 or 3 channels) as one PNG sheet, atomically. */
export async function writeImageSheet(images: ArrayInput & { labels?: readonly string[] }, file: string, opts: ImageSheetOptions = {}): Promise<void> {
  if (!images || !(images.data instanceof Float32Array)) throw new UserError('writeImageSheet: images must have float32 data (NCHW in [-1, 1])');
  const shape = images.shape;
  if (shape.length !== 4 || (shape[1] !== 1 && shape[1] !== 3)) throw new UserError(`writeImageSheet: images must be [N, 3, H, W] (or [N, 1, H, W]), got [${shape}]`);
  const [n, c, h, w] = shape;
  if (n === 0) throw new UserError('writeImageSheet: no images');
  if (images.data.length !== n * c * h * w) throw new UserError(`writeImageSheet: shape [${shape}] needs ${n * c * h * w} values, data has ${images.data.length}`);
  if (!file.toLowerCase().endsWith('.png')) throw new UserError(`writeImageSheet: ${file} must end in .png`);
  const labels = opts.labels === false ? undefined : (opts.labels ?? images.labels);
  if (labels && labels.length !== n) throw new UserError(`writeImageSheet: ${labels.length} labels for ${n} images`);
  const columns = opts.columns ?? Math.min(n, 8);
  if (!(Number.isInteger(columns) && columns > 0)) throw new UserError(`writeImageSheet: columns must be a positive integer, got ${columns}`);
  // small tiles are magnified so their captions are readable (32 px: 3x)
  const tileScale = labels && h === w ? labelledTileScale(h) : 1;
  const grid = imagesToGrid(images.data, n, c as 1 | 3, h, w, { columns, labels: labels ? [...labels] : undefined, tileScale });
  writePng(file, grid.rgba, grid.width, grid.height);
}
