/**
 * Training images stored as NumPy arrays.
 *
 * CLI syntax (`--data`):
 *   - `images.npy:labels.npy` names both files explicitly (the split is at the
 *     last ':' followed by a path ending in .npy, so Windows drive letters work);
 *   - `images.npy` alone looks for the labels beside it, first match wins:
 *     the stem with "images" replaced by "labels" (train_images.npy ->
 *     train_labels.npy), then <stem>_labels.npy, <stem>.labels.npy, labels.npy.
 *
 * Images: uint8 [N, H, W, 3] (NHWC, 0..255), or float32/float64 [N, 3, H, W]
 * (NCHW, in [-1, 1], as a model's input/output); the other channel order of each
 * is recognised when the shape is unambiguous, and 1-channel (or [N, H, W])
 * arrays are expanded to grey RGB. Floats map to bytes with round((x+1)*127.5);
 * values outside [-1, 1] (beyond rounding slack) are refused, since they usually
 * mean [0, 1] or [0, 255] data.
 * Labels: integer (int64/int32/uint8) [N] or [N, 1], values >= 0; there are
 * max(label)+1 classes, named "0", "1", ...
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import type { NdArray } from '../../io/ndarray.js';
import { readNpy } from '../../io/npy.js';
import type { RgbImage } from '../decode.js';
import { fingerprintOf, statForFingerprint } from './fingerprint.js';
import { limitCount, type ImageSource, type SourceOptions } from './types.js';

/**
 * A data spec with its paths resolved against `base` (both files of `images.npy:labels.npy`,
 * else the one path), so it names the same data from any working directory.
 */
export function resolveDataSpec(spec: string, base: string): string {
  const m = /^(.+\.npy):(.+\.npy)$/i.exec(spec);
  if (m && !/^[A-Za-z]$/.test(m[1]!)) return `${path.resolve(base, m[1]!)}:${path.resolve(base, m[2]!)}`;
  return path.resolve(base, spec);
}

/** Splits an npy data spec into the images file and the labels file (resolved, labels found beside when omitted). */
export function parseNpySpec(spec: string): { images: string; labels: string } {
  const m = /^(.+\.npy):(.+\.npy)$/i.exec(spec);
  if (m && !/^[A-Za-z]$/.test(m[1]!)) return { images: path.resolve(m[1]!), labels: path.resolve(m[2]!) };
  const images = path.resolve(spec);
  const dir = path.dirname(images);
  const stem = path.basename(images).replace(/\.npy$/i, '');
  const names: string[] = [];
  if (/images/i.test(stem)) names.push(stem.replace(/images/i, (s) => (s === 'IMAGES' ? 'LABELS' : s[0] === 'I' ? 'Labels' : 'labels')));
  names.push(`${stem}_labels`, `${stem}.labels`, 'labels');
  const tried = [...new Set(names)].map((n) => path.join(dir, `${n}.npy`)).filter((f) => f !== images);
  const found = tried.find((f) => fs.existsSync(f));
  if (!found) {
    throw new UserError(
      `no labels found for ${spec}: looked for ${tried.map((f) => path.basename(f)).join(', ')} beside it; name them explicitly as images.npy:labels.npy`,
    );
  }
  return { images, labels: found };
}

/** True when a data spec names .npy arrays. */
export function isNpySpec(spec: string): boolean {
  return /\.npy$/i.test(spec);
}

type Layout = 'NHWC' | 'NCHW';

export class NpySource implements ImageSource {
  readonly kind = 'npy' as const;
  readonly location: string;
  readonly labelsFile: string;
  readonly classNames: string[];
  readonly count: number;
  readonly fileCount = 2;
  private readonly limit: number | undefined;
  private labels: Int32Array;
  private images: NdArray | null = null;
  private layout: Layout = 'NHWC';
  private h = 0;
  private w = 0;
  private c = 0;

  constructor(spec: string, opts: SourceOptions = {}) {
    const { images, labels } = parseNpySpec(spec);
    this.location = images;
    this.labelsFile = labels;
    if (!fs.existsSync(images)) throw new UserError(`${images} does not exist`);
    this.labels = readLabels(labels);
    let max = -1;
    for (const l of this.labels) max = Math.max(max, l);
    this.classNames = Array.from({ length: max + 1 }, (_, k) => String(k));
    this.limit = opts.limit;
    this.count = limitCount(this.labels.length, opts.limit);
  }

  label(i: number): number {
    return this.labels[i]!;
  }

  itemName(i: number): string {
    return `${this.location}[${i}]`;
  }

  fingerprint(): string {
    const files = [statForFingerprint(this.location, 'images'), statForFingerprint(this.labelsFile, 'labels')];
    return fingerprintOf(files, { kind: this.kind, labels: this.labelsFile, limit: this.limit ?? 'all' });
  }

  /** Reads and checks the images array (once, on first load). */
  private array(): NdArray {
    if (this.images) return this.images;
    const a = readNpy(this.location);
    const name = this.location;
    let s = a.shape;
    if (s.length === 3) s = [...s, 1];
    if (s.length !== 4) throw new UserError(`${name}: expected images of shape [N, H, W, 3] (uint8) or [N, 3, H, W] (float), got [${a.shape.join(', ')}]`);
    const isFloat = a.dtype === 'float32' || a.dtype === 'float64';
    if (a.dtype !== 'uint8' && !isFloat) throw new UserError(`${name}: images must be uint8 (0..255) or float32/float64 (in [-1, 1]), got ${a.dtype}`);
    const chLast = s[3] === 3 || s[3] === 1;
    const chFirst = s[1] === 3 || s[1] === 1;
    // Documented defaults: uint8 is NHWC, float is NCHW; switch only when the default cannot be right.
    const layout: Layout = isFloat ? (chFirst ? 'NCHW' : chLast ? 'NHWC' : 'NCHW') : (chLast ? 'NHWC' : chFirst ? 'NCHW' : 'NHWC');
    const [n, h, w, c] = layout === 'NHWC' ? [s[0]!, s[1]!, s[2]!, s[3]!] : [s[0]!, s[2]!, s[3]!, s[1]!];
    if (c !== 3 && c !== 1) throw new UserError(`${name}: images need 3 (or 1) channels, got shape [${a.shape.join(', ')}]`);
    if (n !== this.labels.length) {
      throw new UserError(`${name} has ${n} images but ${this.labelsFile} has ${this.labels.length} labels`);
    }
    if (h === 0 || w === 0) throw new UserError(`${name}: images are empty (shape [${a.shape.join(', ')}])`);
    if (isFloat) {
      let lo = Infinity;
      let hi = -Infinity;
      const d = a.data as Float32Array | Float64Array;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (Number.isNaN(v)) throw new UserError(`${name} contains NaN values`);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (lo < -1.002 || hi > 1.002) {
        throw new UserError(`${name}: float images must lie in [-1, 1], found values in [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]`);
      }
    }
    this.layout = layout;
    this.h = h;
    this.w = w;
    this.c = c;
    this.images = a;
    return a;
  }

  async load(i: number): Promise<RgbImage> {
    const a = this.array();
    if (!(i >= 0 && i < this.count)) throw new RangeError(`item ${i} out of range [0, ${this.count})`);
    const { h, w, c } = this;
    const hw = h * w;
    const base = i * hw * c;
    const out = new Uint8Array(hw * 3);
    const d = a.data as Uint8Array | Float32Array | Float64Array;
    const toByte = a.dtype === 'uint8'
      ? (v: number) => v
      : (v: number) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5)));
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < 3; k++) {
        const ch = c === 1 ? 0 : k;
        const src = this.layout === 'NHWC' ? base + p * c + ch : base + ch * hw + p;
        out[3 * p + k] = toByte(d[src]!);
      }
    }
    return { data: out, width: w, height: h };
  }

  close(): void {
    this.images = null;
  }
}

/** Labels must be below this (a class-name table of that size is built from the largest). */
const MAX_LABEL_COUNT = 100_000;

/** Class labels from an .npy of integers, shape [N] or [N, 1]; one-line UserErrors naming the file. */
export function readLabels(file: string): Int32Array {
  const a = readNpy(file);
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1))) {
    throw new UserError(`${file}: labels must have shape [N] or [N, 1], got [${a.shape.join(', ')}]`);
  }
  const n = a.shape[0]!;
  const out = new Int32Array(n);
  const d = a.data;
  if (d instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) {
      const v = d[i]!;
      if (v < 0n || v >= BigInt(MAX_LABEL_COUNT)) throw new UserError(`${file}: label ${v} at index ${i} is out of range [0, ${MAX_LABEL_COUNT})`);
      out[i] = Number(v);
    }
  } else if (d instanceof Int32Array || (d instanceof Uint8Array && a.dtype === 'uint8')) {
    for (let i = 0; i < n; i++) {
      const v = d[i]!;
      if (v < 0) throw new UserError(`${file}: label ${v} at index ${i} is negative`);
      if (v >= MAX_LABEL_COUNT) throw new UserError(`${file}: label ${v} at index ${i} is out of range [0, ${MAX_LABEL_COUNT})`);
      out[i] = v;
    }
  } else {
    throw new UserError(`${file}: labels must be integers (int64, int32 or uint8), got ${a.dtype}`);
  }
  if (n === 0) throw new UserError(`${file} holds no labels`);
  return out;
}
