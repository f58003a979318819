/**
 * The two input pipelines that turn uint8 RGB images (any size) into the
 * network's [3, 299, 299] float32 input. They differ, and so do their features
 * (by up to ~0.02 on pool3), so results must say which one produced them:
 *
 * 'pytorch-fid'    x/255, torch bilinear resize (align_corners=False, half-pixel
 *                  centres, no antialias; at 299 it is the
 *                  identity), then 2x - 1.
 * 'torch-fidelity' x as 0..255 floats, TF1 bilinear resize (no half-pixel offset,
 *                  coordinates in float32), then (x - 128) / 128.
 *
 * Done in JS rather than as graph ops: each step is emulated with float32
 * rounding in the order the reference code rounds, which reproduces the
 * references' resized tensors bit for bit. At 299 input both resizes are the
 * identity and preprocessing is one table lookup per value.
 */
import { UserError } from '../../errors.js';
import { INCEPTION_INPUT_SIZE } from './inception-v3.js';

export type InceptionPipeline = 'pytorch-fid' | 'torch-fidelity';
export const INCEPTION_PIPELINES: readonly InceptionPipeline[] = ['pytorch-fid', 'torch-fidelity'];
/**
 * pytorch-fid's: FID numbers and precomputed statistics are most often compared
 * against pytorch-fid's. torch-fidelity's pipeline is the one its IS (whose
 * published values use its logits) and its FID/KID use.
 */
export const DEFAULT_INCEPTION_PIPELINE: InceptionPipeline = 'pytorch-fid';

export function parseInceptionPipeline(name: string): InceptionPipeline {
  if ((INCEPTION_PIPELINES as readonly string[]).includes(name)) return name as InceptionPipeline;
  throw new UserError(`unknown Inception pipeline '${name}' (expected ${INCEPTION_PIPELINES.map((p) => `'${p}'`).join(' or ')})`);
}

const f32 = Math.fround;

/** Per output coordinate along one axis: the two source indices and their weights. */
interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
  /** The source indices any output reads, ascending. */
  usedRows: Int32Array;
}

/**
 * torch's upsample_bilinear2d source coordinates: a float32 scale in/out, then
 * src = scale * (dst + 0.5) - 0.5 evaluated in double and clamped at 0,
 * lambda = float32(src - floor(src)). (Rounding src itself to float32 instead
 * moves resized values by up to ~7e-6; this form reproduces PyTorch 1.13 bit for bit.)
 */
function torchAxis(inSize: number, outSize: number): AxisTable {
  const t = newAxisTable(outSize);
  const scale = f32(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(scale * (d + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = f32(Math.min(Math.max(src - i0, 0), 1));
    t.i0[d] = i0;
    t.i1[d] = i0 < inSize - 1 ? i0 + 1 : i0;
    t.w1[d] = l1;
    t.w0[d] = f32(1 - l1);
  }
  return t;
}

/** TF1 resize_bilinear(align_corners=False) coordinates: src = dst * scale, all float32. */
function tf1Axis(inSize: number, outSize: number): AxisTable {
  const t = newAxisTable(outSize);
  const scale = f32(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    const src = f32(d * scale);
    const i0 = Math.trunc(src);
    t.i0[d] = i0;
    t.i1[d] = Math.min(i0 + 1, inSize - 1);
    t.w1[d] = f32(src - i0);
    t.w0[d] = 0; // unused: TF1 interpolates as a + (b - a) * d
  }
  return t;
}

function newAxisTable(n: number): AxisTable {
  return { i0: new Int32Array(n), i1: new Int32Array(n), w0: new Float32Array(n), w1: new Float32Array(n), usedRows: new Int32Array(0) };
}

function withUsedRows(t: AxisTable): AxisTable {
  t.usedRows = Int32Array.from(new Set([...t.i0, ...t.i1])).sort();
  return t;
}

const axisCache = new Map<string, AxisTable>();
function axis(pipeline: InceptionPipeline, inSize: number): AxisTable {
  const key = `${pipeline}:${inSize}`;
  let t = axisCache.get(key);
  if (!t) {
    t = withUsedRows(pipeline === 'pytorch-fid' ? torchAxis(inSize, INCEPTION_INPUT_SIZE) : tf1Axis(inSize, INCEPTION_INPUT_SIZE));
    axisCache.set(key, t);
  }
  return t;
}

/** float32(u / 255) for every byte: torchvision ToTensor's values. */
const UNIT_LUT = Float32Array.from({ length: 256 }, (_, u) => u / 255);
/** torch-fidelity feeds the bytes themselves as floats. */
const BYTE_LUT = Float32Array.from({ length: 256 }, (_, u) => u);

/** The pipeline's pre-resize values of one image's bytes (pytorch-fid: 0..1, torch-fidelity: 0..255). */
export function preResizeValues(pipeline: InceptionPipeline, bytes: Uint8Array): Float32Array {
  const lut = pipeline === 'pytorch-fid' ? UNIT_LUT : BYTE_LUT;
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = lut[bytes[i]];
  return out;
}

/** Scratch for the x-interpolated source rows of one channel (grown as needed). */
let rowScratch = new Float32Array(0);

/**
 * Resizes one image ([C, H, W] uint8) to [C, 299, 299] in the pipeline's value scale,
 * before normalisation (the fixtures' "post-resize" tensors), writing at out[offset..].
 *
 * Separable: each source row is interpolated along x once, then output rows mix two
 * of those. Both references round the x-interpolated values of a row to float32
 * before the y step, so this gives the same bits as interpolating per output pixel.
 */
export function resizeForInception(
  pipeline: InceptionPipeline,
  image: Uint8Array,
  channels: number,
  h: number,
  w: number,
  out: Float32Array = new Float32Array(channels * INCEPTION_INPUT_SIZE * INCEPTION_INPUT_SIZE),
  offset = 0,
): Float32Array {
  const S = INCEPTION_INPUT_SIZE;
  const lut = pipeline === 'pytorch-fid' ? UNIT_LUT : BYTE_LUT;
  const ay = axis(pipeline, h);
  const ax = axis(pipeline, w);
  const tf1 = pipeline === 'torch-fidelity';
  if (rowScratch.length < h * S) rowScratch = new Float32Array(h * S);
  const rows = rowScratch;
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    for (const r of ay.usedRows) {
      const src = plane + r * w;
      const dst = r * S;
      for (let x = 0; x < S; x++) {
        const a = lut[image[src + ax.i0[x]]];
        const b = lut[image[src + ax.i1[x]]];
        // TF1: a + (b - a) * dx; ATen: fma(a, w0, b * w1) in float32 (a * w0 is exact
        // in a double, so the sum rounds like the fused operation; no double rounding on the fixtures)
        rows[dst + x] = tf1 ? f32(a + f32(f32(b - a) * ax.w1[x])) : a * ax.w0[x] + f32(b * ax.w1[x]);
      }
    }
    const o = offset + c * S * S;
    for (let y = 0; y < S; y++) {
      const r0 = ay.i0[y] * S;
      const r1 = ay.i1[y] * S;
      const wy0 = ay.w0[y];
      const wy1 = ay.w1[y];
      const d = o + y * S;
      if (tf1) {
        for (let x = 0; x < S; x++) {
          const top = rows[r0 + x];
          out[d + x] = top + f32(f32(rows[r1 + x] - top) * wy1);
        }
      } else {
        for (let x = 0; x < S; x++) out[d + x] = rows[r0 + x] * wy0 + f32(rows[r1 + x] * wy1);
      }
    }
  }
  return out;
}

/** The pipeline's normalisation of resized values to the network's input range, in place. */
export function normalizeForInception(pipeline: InceptionPipeline, x: Float32Array, from = 0, to = x.length): void {
  if (pipeline === 'pytorch-fid') {
    for (let i = from; i < to; i++) x[i] = 2 * x[i] - 1;
  } else {
    for (let i = from; i < to; i++) x[i] = f32(x[i] - 128) / 128;
  }
}

/** Bytes straight to network input: the identity resize and the normalisation in one table. */
const NET_INPUT_LUT: Record<InceptionPipeline, Float32Array> = {
  'pytorch-fid': UNIT_LUT.map((v) => 2 * v - 1),
  'torch-fidelity': BYTE_LUT.map((v) => f32(v - 128) / 128),
};

/** out[i] = table[bytes[i]], four per iteration (measured 5.6 -> 3.5 ms for 16 images). */
function lookUp(table: Float32Array, bytes: Uint8Array, out: Float32Array): void {
  const n = bytes.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = bytes[i]!, b = bytes[i + 1]!, c = bytes[i + 2]!, d = bytes[i + 3]!;
    out[i] = table[a]!;
    out[i + 1] = table[b]!;
    out[i + 2] = table[c]!;
    out[i + 3] = table[d]!;
  }
  for (; i < n; i++) out[i] = table[bytes[i]!]!;
}

/**
 * Network input for images [n, 3, h, w] uint8 (NCHW, C order): [n, 3, 299, 299] float32,
 * written to `out` at image offset `outStart` when given.
 */
export function preprocessForInception(
  pipeline: InceptionPipeline,
  images: Uint8Array,
  shape: readonly [number, number, number, number],
  out?: Float32Array,
  outStart = 0,
): Float32Array {
  const [n, c, h, w] = shape;
  if (c !== 3) throw new UserError(`Inception needs RGB images [N, 3, H, W], got ${c} channels`);
  if (images.length !== n * c * h * w) throw new Error(`preprocess: ${images.length} bytes for shape [${shape.join(', ')}]`);
  const per = 3 * INCEPTION_INPUT_SIZE * INCEPTION_INPUT_SIZE;
  const dst = out ?? new Float32Array((outStart + n) * per);
  if (h === INCEPTION_INPUT_SIZE && w === INCEPTION_INPUT_SIZE) {
    // both resizes are exactly the identity at 299 (source coordinate = destination, weight 0 on the neighbour)
    lookUp(NET_INPUT_LUT[pipeline], images, dst.subarray(outStart * per, (outStart + n) * per));
    return dst;
  }
  for (let i = 0; i < n; i++) {
    const image = images.subarray(i * c * h * w, (i + 1) * c * h * w);
    const o = (outStart + i) * per;
    resizeForInception(pipeline, image, c, h, w, dst, o);
    normalizeForInception(pipeline, dst, o, o + per);
  }
  return dst;
}
