/**
 * A synthetic class-conditional dataset, for the embedded default training run
 * and for learning tests, with a matching classifier that judges generated
 * images.
 *
 * Class k of K differs from the others in shape and in colour: it has the shape
 * SYNTHETIC_SHAPES[k mod 8] (disc, square, triangle, ring, cross, stripes, diamond,
 * checker) and the hue k/K of the colour circle. Every image of it is a darker
 * background of that hue (random saturation and brightness), the class's shape in
 * a brighter, paler colour of the same hue (random position and size; stripes and
 * checker fill the image with a random phase), and Gaussian pixel noise, so a sample
 * sheet shows each class at a glance. The image's own hue is jittered by at most
 * ±0.2 of the spacing between class hues. Because background and shape share the
 * hue, the image's mean colour has that hue too (mixing colours of one hue only adds
 * grey), so classifySynthetic — the hue of the mean colour, matched to the nearest
 * class hue — recognises real samples essentially always.
 *
 * Sample i depends only on (seed, i, numClasses, resolution): its shape
 * parameters are drawn from an Rng keyed by (seed, i) in resolution-independent
 * units, so any resolution (default 32) renders the same scenes. Labels are
 * balanced: sample i has class i mod K.
 */
import { Rng } from '../random/rng.js';
import { PreparedDataset } from './prepared/prepared-set.js';

export const SYNTHETIC_DEFAULT_CLASSES = 8;
export const SYNTHETIC_DEFAULT_RESOLUTION = 32;

export interface SyntheticOptions {
  /** Number of classes K (2..36, default 8). */
  numClasses?: number;
  /** Number of images (default 100 per class). */
  count?: number;
  /** Square image side (default 32). */
  resolution?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Per-pixel noise standard deviation in 0..255 units (default 6). */
  noise?: number;
}

export interface SyntheticData {
  /** [count, R, R, 3] uint8 RGB. */
  images: Uint8Array;
  labels: Int32Array;
  classNames: string[];
  resolution: number;
  numClasses: number;
}

function checkClasses(k: number): void {
  if (!Number.isInteger(k) || k < 2 || k > 36) throw new RangeError(`synthetic numClasses must be an integer in [2, 36], got ${k}`);
}

/** Class k's hue as a fraction of the colour circle. */
export function syntheticClassHue(k: number, numClasses: number): number {
  return k / numClasses;
}

export const SYNTHETIC_SHAPES = ['disc', 'square', 'triangle', 'ring', 'cross', 'stripes', 'diamond', 'checker'] as const;
export type SyntheticShape = (typeof SYNTHETIC_SHAPES)[number];

/** Class k's shape. */
export function syntheticClassShape(k: number): SyntheticShape {
  return SYNTHETIC_SHAPES[k % SYNTHETIC_SHAPES.length]!;
}

/** Class names: the shape ("disc", "square", ...); with more classes than shapes, "<shape>-<hue degrees>". */
export function syntheticClassNames(numClasses: number): string[] {
  checkClasses(numClasses);
  return Array.from({ length: numClasses }, (_, k) =>
    numClasses <= SYNTHETIC_SHAPES.length ? syntheticClassShape(k) : `${syntheticClassShape(k)}-${String(Math.round((360 * k) / numClasses)).padStart(3, '0')}`);
}

/**
 * Whether the point (px, py), relative to the shape's centre in image units (the image is
 * [0, 1]²; y grows downwards), lies in `shape` of size `rad`. Stripes and checker fill
 * the whole image: for them (px, py) are absolute image coordinates plus a phase.
 */
export function insideSyntheticShape(shape: SyntheticShape, px: number, py: number, rad: number): boolean {
  const ax = Math.abs(px);
  const ay = Math.abs(py);
  switch (shape) {
    case 'disc': return px * px + py * py <= rad * rad;
    case 'square': return ax <= rad * 0.85 && ay <= rad * 0.85;
    case 'triangle': return py <= rad * 0.8 && py >= -rad && ax <= ((py + rad) / (1.8 * rad)) * rad; // apex up
    case 'ring': {
      const d2 = px * px + py * py;
      return d2 <= rad * rad && d2 >= 0.3 * rad * rad;
    }
    case 'cross': return (ax <= rad * 0.3 && ay <= rad) || (ay <= rad * 0.3 && ax <= rad);
    case 'stripes': return Math.floor(py * 6) % 2 === 0; // horizontal bands, each 1/6 of the image high
    case 'diamond': return ax + ay <= rad * 1.1;
    case 'checker': return (Math.floor(px * 4) + Math.floor(py * 4)) % 2 === 0; // 4x4 board
  }
}

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An Rng keyed by (seed, index), independent for every sample. */
function sampleRng(seed: number, index: number): Rng {
  const s = Uint32Array.of(
    fmix32((seed >>> 0) ^ 0x243f6a88),
    fmix32((index >>> 0) + 0x632be5ab),
    fmix32(((seed >>> 0) + Math.imul(index, 0x9e3779b9)) >>> 0),
    fmix32(Math.floor(index / 4294967296) ^ 0x3c6ef372) | 1,
  );
  const rng = new Rng(s);
  for (let i = 0; i < 4; i++) rng.nextUint32();
  return rng;
}

/** HSV (all in [0, 1]) to RGB in [0, 1]. */
function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f6 = (((h % 1) + 1) % 1) * 6;
  const sector = Math.floor(f6) % 6;
  const f = f6 - Math.floor(f6);
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

/** Hue in [0, 1) of an RGB colour; null for a grey (no hue). */
function rgbHue(r: number, g: number, b: number): number | null {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  if (!(d > 1e-9)) return null;
  let h: number;
  if (max === r) h = (g - b) / d;
  else if (max === g) h = 2 + (b - r) / d;
  else h = 4 + (r - g) / d;
  h /= 6;
  return h < 0 ? h + 1 : h;
}

/** Renders sample `index` as [R, R, 3] uint8 into `out` (offset in bytes); returns its label. */
export function renderSyntheticImage(
  seed: number, index: number, numClasses: number, resolution: number, out: Uint8Array, offset = 0, noise = 6,
): number {
  checkClasses(numClasses);
  const label = index % numClasses;
  const rng = sampleRng(seed, index);
  const hue = syntheticClassHue(label, numClasses) + (rng.uniform() - 0.5) * (0.4 / numClasses);
  const bg = hsvToRgb(hue, 0.55 + 0.35 * rng.uniform(), 0.3 + 0.25 * rng.uniform());
  const fg = hsvToRgb(hue, 0.2 + 0.25 * rng.uniform(), 0.85 + 0.12 * rng.uniform());
  const shape = syntheticClassShape(label);
  const fill = shape === 'stripes' || shape === 'checker';
  // centre (or, for the filling patterns, phase) and size
  const cx = fill ? -0.25 * rng.uniform() : 0.44 + 0.12 * rng.uniform();
  const cy = fill ? -0.25 * rng.uniform() : 0.44 + 0.12 * rng.uniform();
  const rad = 0.26 + 0.08 * rng.uniform();
  const R = resolution;
  for (let y = 0; y < R; y++) {
    const py = (y + 0.5) / R - cy;
    for (let x = 0; x < R; x++) {
      const px = (x + 0.5) / R - cx;
      const c = insideSyntheticShape(shape, px, py, rad) ? fg : bg;
      const o = offset + (y * R + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v = Math.round(c[ch]! * 255 + noise * rng.normal());
        out[o + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return label;
}

/** Generates the synthetic dataset as arrays. */
export function generateSynthetic(opts: SyntheticOptions = {}): SyntheticData {
  const K = opts.numClasses ?? SYNTHETIC_DEFAULT_CLASSES;
  checkClasses(K);
  const R = opts.resolution ?? SYNTHETIC_DEFAULT_RESOLUTION;
  if (!Number.isInteger(R) || R < 1) throw new RangeError(`synthetic resolution must be a positive integer, got ${R}`);
  const n = opts.count ?? 100 * K;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`synthetic count must be a positive integer, got ${n}`);
  const seed = opts.seed ?? 0;
  const per = R * R * 3;
  const images = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = renderSyntheticImage(seed, i, K, R, images, i * per, opts.noise ?? 6);
  return { images, labels, classNames: syntheticClassNames(K), resolution: R, numClasses: K };
}

/** The synthetic dataset as an in-memory PreparedDataset (ready for BatchLoader). */
export function syntheticDataset(opts: SyntheticOptions = {}): PreparedDataset {
  const d = generateSynthetic(opts);
  return PreparedDataset.fromArrays({
    images: d.images, labels: d.labels, resolution: d.resolution, classNames: d.classNames,
    sourceKind: 'synthetic', sourcePath: `synthetic:K=${d.numClasses},seed=${opts.seed ?? 0}`,
  });
}

/**
 * The class of one image given as CHW float32 in [-1, 1] (a generator's output,
 * or a BatchLoader image): the class hue nearest to the hue of the mean colour.
 * Grey images (no hue) are class 0. Works at any resolution.
 */
export function classifySynthetic(imageNCHW: Float32Array, numClasses: number): number {
  checkClasses(numClasses);
  if (imageNCHW.length === 0 || imageNCHW.length % 3 !== 0) throw new RangeError(`expected a 3-channel CHW image, got ${imageNCHW.length} values`);
  const plane = imageNCHW.length / 3;
  const mean = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let p = c * plane; p < (c + 1) * plane; p++) {
      const v = imageNCHW[p]!;
      s += v < -1 ? -1 : v > 1 ? 1 : v;
    }
    mean[c] = (s / plane + 1) / 2;
  }
  const h = rgbHue(mean[0]!, mean[1]!, mean[2]!);
  if (h === null) return 0;
  return Math.round(h * numClasses) % numClasses;
}

/** classifySynthetic over a batch [n, 3, R, R]. */
export function classifySyntheticBatch(images: Float32Array, n: number, numClasses: number): Int32Array {
  if (!Number.isInteger(n) || n < 1 || images.length % n !== 0) throw new RangeError(`cannot split ${images.length} values into ${n} images`);
  const per = images.length / n;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = classifySynthetic(images.subarray(i * per, (i + 1) * per), numClasses);
  return out;
}
