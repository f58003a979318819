/**
 * Images that already exist, read for scoring (`eval --images`, `fid-stats --data`):
 *   - a folder of PNG / JPEG / WebP files, searched recursively (flat folders and
 *     one-folder-per-class layouts alike; hidden entries skipped; relative-path order);
 *   - a CIFAR-10 binary folder (batches.meta.txt + data_batch_*.bin: the training split), or one
 *     batch file in it (DIR/test_batch.bin: the test split);
 *   - an .npy array: uint8 [N, H, W, 3] (NHWC, 0..255) or float32/float64
 *     [N, 3, H, W] (NCHW in [-1, 1], a generator's output), the other channel order
 *     accepted when the shape is unambiguous, 1 channel expanded to grey RGB;
 *     `images.npy:labels.npy` is accepted and the labels ignored;
 *   - a prepared training set (.bgd, see data/prepared-dataset.ts).
 * Class labels, for per-class metrics: a folder's top-level sub-folders (one per class,
 * sorted by name, as a training folder's), CIFAR-10's labels, a prepared set's labels,
 * or the labels .npy named after the images .npy.
 * Float images become bytes exactly as generated images do (toByte: round((x+1)*127.5)).
 * Images stream out as uint8 NCHW batches of equal size; a size change starts a new
 * batch, so folders of mixed sizes work (each image is resized to 299 on its own).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { BadImageError, IMAGE_EXTENSIONS, decodeImage, type RgbImage } from '../data/decode.js';
import { PreparedDataset } from '../data/prepared/prepared-set.js';
import { Cifar10Source, isCifar10BatchFile, looksLikeCifar10 } from '../data/sources/cifar10.js';
import { readLabels } from '../data/sources/npy.js';
import { type NdArray, shapeToString } from '../io/ndarray.js';
import { readNpy } from '../io/npy.js';
import { toByte } from '../image/image-grid.js';
import { sha256File, sha256FileList } from './file-hash.js';

export type ImageInputKind = 'folder' | 'npy' | 'cifar10' | 'prepared';

export interface ImageInput {
  readonly kind: ImageInputKind;
  /** Absolute path of the folder or file. */
  readonly location: string;
  readonly count: number;
  /** A file path, or "file[i]" / "file#i", for messages. */
  itemName(i: number): string;
  /** Image i as HWC RGB bytes. Unreadable items reject with BadImageError. */
  load(i: number): Promise<RgbImage>;
  /** SHA-256 identifying the content (the file, or all files of a folder). */
  sha256(): string;
  /** The images' class labels, or why there are none (read on the first call). */
  labels(): InputLabels | { readonly missing: string };
  close(): void;
}

export interface InputLabels {
  /** Class k is classNames[k]. */
  readonly classNames: readonly string[];
  /** Class of image i (i < count). */
  label(i: number): number;
}

export interface ImageInputOptions {
  /** Use only the first `limit` images. */
  limit?: number;
}

/** Opens `spec` (folder, .npy, .bgd); a path that is none of these is a one-line UserError. */
export function openImageInput(spec: string, opts: ImageInputOptions = {}): ImageInput {
  const npy = /^(.+?\.npy)(:.+\.npy)?$/i.exec(spec);
  const file = npy ? npy[1]! : spec;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${file} does not exist (expected a folder of images, a CIFAR-10 folder or batch, an .npy array or a prepared .bgd file)`);
  }
  if (st.isDirectory()) {
    if (looksLikeCifar10(file)) return new CifarInput(file, opts);
    return new FolderInput(file, opts);
  }
  if (npy) return new NpyInput(file, npy[2]?.slice(1), opts);
  if (isCifar10BatchFile(file)) return new CifarInput(file, opts);
  if (/\.bgd$/i.test(file)) return new PreparedInput(PreparedDataset.open(path.resolve(file)), path.resolve(file), opts);
  throw new UserError(`${file} is not a folder, .npy or .bgd file (expected a folder of PNG/JPEG images, an .npy array or a prepared .bgd file)`);
}

function applyLimit(count: number, limit: number | undefined): number {
  return limit === undefined ? count : Math.min(count, limit);
}

class FolderInput implements ImageInput {
  readonly kind = 'folder' as const;
  readonly location: string;
  readonly count: number;
  private readonly files: { file: string; name: string }[];
  /** Sorted top-level sub-folders holding images (all of them, whatever the limit), or null when some image lies at the top. */
  private readonly classNames: string[] | null;

  constructor(dir: string, opts: ImageInputOptions) {
    this.location = path.resolve(dir);
    const all: { file: string; name: string }[] = [];
    listImages(this.location, '', all);
    if (all.length === 0) throw new UserError(`${dir} has no PNG, JPEG or WebP images`);
    this.count = applyLimit(all.length, opts.limit);
    this.files = all.slice(0, this.count);
    // listImages walks in name order, so the first components come sorted
    this.classNames = all.every((f) => f.name.includes('/')) ? [...new Set(all.map((f) => topFolder(f.name)))] : null;
  }

  labels(): InputLabels | { missing: string } {
    const names = this.classNames;
    if (!names) return { missing: `${this.location} has images outside class sub-folders (put each class in its own sub-folder: ${this.location}/<class>/<image>)` };
    const index = new Map(names.map((n, k) => [n, k]));
    return { classNames: names, label: (i) => index.get(topFolder(this.files[i]!.name))! };
  }

  itemName(i: number): string {
    return this.files[i]!.file;
  }

  async load(i: number): Promise<RgbImage> {
    const file = this.files[i]!.file;
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(file);
    } catch (err) {
      throw new BadImageError(file, `cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    return decodeImage(buf, file);
  }

  sha256(): string {
    return sha256FileList(this.files);
  }

  close(): void { /* nothing held */ }
}

function topFolder(name: string): string {
  return name.slice(0, name.indexOf('/'));
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Image files under `dir`, depth first in code-unit order of their names. */
function listImages(dir: string, rel: string, out: { file: string; name: string }[]): void {
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new UserError(`cannot list ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  ents.sort((a, b) => byCodeUnit(a.name, b.name));
  for (const ent of ents) {
    if (ent.name.startsWith('.')) continue;
    const full = path.join(dir, ent.name);
    const name = rel ? `${rel}/${ent.name}` : ent.name;
    let isDir = ent.isDirectory();
    if (ent.isSymbolicLink()) {
      try { isDir = fs.statSync(full).isDirectory(); } catch { isDir = false; }
    }
    if (isDir) listImages(full, name, out);
    else if (IMAGE_EXTENSIONS.has(path.extname(ent.name).toLowerCase())) out.push({ file: full, name });
  }
}

class CifarInput implements ImageInput {
  readonly kind = 'cifar10' as const;
  readonly location: string;
  readonly count: number;
  private readonly source: Cifar10Source;

  constructor(dir: string, opts: ImageInputOptions) {
    this.source = new Cifar10Source(dir, { limit: opts.limit });
    this.location = this.source.location;
    this.count = this.source.count;
  }

  itemName(i: number): string {
    return this.source.itemName(i);
  }

  load(i: number): Promise<RgbImage> {
    return this.source.load(i);
  }

  labels(): InputLabels {
    return { classNames: this.source.classNames, label: (i) => this.source.label(i) };
  }

  sha256(): string {
    // one batch file: it and the class names beside it; a folder: its class names and data batches
    const single = isCifar10BatchFile(this.location);
    const dir = single ? path.dirname(this.location) : this.location;
    const batch = single ? (n: string) => n === path.basename(this.location) : (n: string) => /^data_batch_\d+\.bin$/.test(n);
    const names = fs.readdirSync(dir).filter((n) => n === 'batches.meta.txt' || batch(n)).sort(byCodeUnit);
    return sha256FileList(names.map((name) => ({ file: path.join(dir, name), name })));
  }

  close(): void {
    this.source.close();
  }
}

class NpyInput implements ImageInput {
  readonly kind = 'npy' as const;
  readonly location: string;
  readonly count: number;
  private readonly array: NdArray;
  private readonly layout: 'NHWC' | 'NCHW';
  private readonly h: number;
  private readonly w: number;
  private readonly c: number;
  private readonly labelsFile: string | undefined;
  private labelCache: InputLabels | null = null;

  constructor(file: string, labelsFile: string | undefined, opts: ImageInputOptions) {
    this.location = path.resolve(file);
    this.labelsFile = labelsFile && path.resolve(labelsFile);
    const a = readNpy(file);
    const s = a.shape.length === 3 ? [...a.shape, 1] : [...a.shape];
    const expected = 'uint8 [N, H, W, 3] (0..255) or float [N, 3, H, W] (in [-1, 1])';
    if (s.length !== 4) throw new UserError(`${file}: expected images ${expected}, got shape ${shapeToString(a.shape)}`);
    const isFloat = a.dtype === 'float32' || a.dtype === 'float64';
    if (a.dtype !== 'uint8' && !isFloat) throw new UserError(`${file}: images must be ${expected}, got ${a.dtype}`);
    const chLast = s[3] === 3 || s[3] === 1;
    const chFirst = s[1] === 3 || s[1] === 1;
    // uint8 defaults to NHWC and float to NCHW; the other order only when the default cannot hold
    this.layout = isFloat ? (chFirst || !chLast ? 'NCHW' : 'NHWC') : (chLast || !chFirst ? 'NHWC' : 'NCHW');
    const [n, h, w, c] = this.layout === 'NHWC' ? s : [s[0]!, s[2]!, s[3]!, s[1]!];
    if (c !== 3 && c !== 1) throw new UserError(`${file}: images need 3 (or 1) channels, got shape ${shapeToString(a.shape)}`);
    if (n === 0 || h === 0 || w === 0) throw new UserError(`${file}: the image array is empty (shape ${shapeToString(a.shape)})`);
    if (isFloat) {
      const d = a.data as Float32Array | Float64Array;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (!Number.isFinite(v)) throw new UserError(`${file} contains NaN or infinite values (at flat index ${i})`);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      // beyond rounding slack, other ranges mean [0, 1] or [0, 255] data that would be scored wrongly
      if (lo < -1.002 || hi > 1.002) {
        throw new UserError(`${file}: float images must lie in [-1, 1], found values in [${lo.toPrecision(4)}, ${hi.toPrecision(4)}] (save uint8 NHWC for 0..255 data)`);
      }
    }
    this.array = a;
    this.h = h!;
    this.w = w!;
    this.c = c!;
    this.count = applyLimit(n!, opts.limit);
  }

  itemName(i: number): string {
    return `${this.location}[${i}]`;
  }

  labels(): InputLabels | { missing: string } {
    if (!this.labelsFile) return { missing: `${this.location} carries no labels (name them as images.npy:labels.npy)` };
    if (!this.labelCache) {
      const labels = readLabels(this.labelsFile);
      const n = this.array.shape[0]!;
      if (labels.length !== n) throw new UserError(`${this.location} has ${n} images but ${this.labelsFile} has ${labels.length} labels`);
      let max = 0;
      for (const l of labels) max = Math.max(max, l);
      // as a training .npy: classes "0" .. the largest label
      this.labelCache = { classNames: Array.from({ length: max + 1 }, (_, k) => String(k)), label: (i) => labels[i]! };
    }
    return this.labelCache;
  }

  async load(i: number): Promise<RgbImage> {
    const { h, w, c } = this;
    const hw = h * w;
    const base = i * hw * c;
    const out = new Uint8Array(hw * 3);
    const d = this.array.data as Uint8Array | Float32Array | Float64Array;
    const isByte = this.array.dtype === 'uint8';
    for (let k = 0; k < 3; k++) {
      const ch = c === 1 ? 0 : k;
      for (let p = 0; p < hw; p++) {
        const v = d[this.layout === 'NHWC' ? base + p * c + ch : base + ch * hw + p]!;
        out[3 * p + k] = isByte ? v : toByte(v);
      }
    }
    return { data: out, width: w, height: h };
  }

  sha256(): string {
    return sha256File(this.location);
  }

  close(): void { /* the array is garbage-collected */ }
}

/** A prepared training set (already cropped and resized to its resolution) as an input. */
export class PreparedInput implements ImageInput {
  readonly kind = 'prepared' as const;
  readonly location: string;
  readonly count: number;

  constructor(private readonly ds: PreparedDataset, location: string, opts: ImageInputOptions = {}) {
    this.location = location;
    this.count = applyLimit(ds.count, opts.limit);
  }

  itemName(i: number): string {
    return `${this.location}#${i}`;
  }

  labels(): InputLabels | { missing: string } {
    if (this.ds.classless) return { missing: `${this.location} was prepared from a class-less image folder` };
    return { classNames: this.ds.classNames, label: (i) => this.ds.labels[i]! };
  }

  async load(i: number): Promise<RgbImage> {
    const r = this.ds.resolution;
    return { data: this.ds.readImage(i, new Uint8Array(r * r * 3)), width: r, height: r };
  }

  sha256(): string {
    return this.ds.file ? sha256File(this.ds.file) : '';
  }

  close(): void {
    this.ds.close();
  }
}

export interface ImageBatch {
  /** uint8 [count, 3, H, W] */
  images: NdArray;
  /** Index of the first image of the batch in the input. */
  start: number;
  /** Class id of each image, when known (generated images; labelled inputs when asked). */
  classIds?: Int32Array;
}

export interface BatchOptions {
  /** Leave out unreadable images (they are counted in `skipped`) instead of stopping. */
  skipBad?: boolean;
  /** Called with the name and reason of each skipped image. */
  onSkip?: (name: string, reason: string) => void;
  /** Attach each image's class (ImageBatch.classIds). */
  labels?: InputLabels;
}

/**
 * The input's images as uint8 NCHW batches of at most `batch` images of one size,
 * in input order. Each batch's images are decoded concurrently.
 */
export async function* imageBatches(input: ImageInput, batch: number, opts: BatchOptions = {}): AsyncGenerator<ImageBatch> {
  let pending: RgbImage[] = [];
  let pendingIds: number[] = [];
  let pendingStart = 0;
  const flush = (): ImageBatch => {
    const { width: w, height: h } = pending[0]!;
    const n = pending.length;
    const data = new Uint8Array(n * 3 * h * w);
    pending.forEach((img, j) => hwcToChw(img.data, h * w, data, j * 3 * h * w));
    const out: ImageBatch = { images: { dtype: 'uint8' as const, shape: [n, 3, h, w], data }, start: pendingStart };
    if (opts.labels) out.classIds = Int32Array.from(pendingIds);
    pending = [];
    pendingIds = [];
    return out;
  };
  for (let start = 0; start < input.count; start += batch) {
    const idx = Array.from({ length: Math.min(batch, input.count - start) }, (_, j) => start + j);
    const loaded = await Promise.all(idx.map((i) => input.load(i).catch((err: unknown) => {
      if (!(err instanceof BadImageError)) throw err;
      if (!opts.skipBad) throw new UserError(`unreadable image ${err.file}: ${err.reason} (pass --skip-bad to leave such files out)`);
      opts.onSkip?.(err.file, err.reason);
      return null;
    })));
    for (let j = 0; j < loaded.length; j++) {
      const img = loaded[j];
      if (!img) continue;
      if (pending.length > 0 && (img.width !== pending[0]!.width || img.height !== pending[0]!.height || pending.length === batch)) yield flush();
      if (pending.length === 0) pendingStart = idx[j]!;
      pending.push(img);
      if (opts.labels) pendingIds.push(opts.labels.label(idx[j]!));
    }
  }
  if (pending.length > 0) yield flush();
}

function hwcToChw(src: Uint8Array, hw: number, dst: Uint8Array, offset: number): void {
  for (let p = 0; p < hw; p++) {
    dst[offset + p] = src[3 * p]!;
    dst[offset + hw + p] = src[3 * p + 1]!;
    dst[offset + 2 * hw + p] = src[3 * p + 2]!;
  }
}
