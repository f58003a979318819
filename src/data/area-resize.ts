/**
 * The paper's preprocessing: crop the image along its long edge to a centred
 * square, then rescale the square to the training resolution with AREA
 * resampling.
 *
 * AREA here is the exact box filter: every destination pixel is the mean of the
 * source pixels it covers, each weighted by the fraction of it that lies inside
 * the destination pixel's footprint (as PIL's Image.BOX and OpenCV's INTER_AREA
 * do when shrinking). For an integer factor that is the plain block mean.
 *
 * The arithmetic is exact: along an axis of `src` source and `dst` destination
 * pixels we scale coordinates by `dst * src`, so source pixel j spans
 * [j*dst, (j+1)*dst) and destination pixel i spans [i*src, (i+1)*src); every
 * overlap is then an integer, sums of uint8 values times integer weights are
 * exact in float64 (they stay far below 2^53), and the final rounding is an
 * integer division rounded half up.
 *
 * Upsampling (dst > src) uses the same footprint rule: a destination pixel is
 * smaller than a source pixel and takes the coverage-weighted mean of the one or
 * two source pixels under it. An integer upscale is therefore pixel replication;
 * constant images stay constant and the image mean is preserved in every case.
 * (OpenCV switches to bilinear there; we keep one definition for both ways.)
 */

/** The centred square crop of a width x height image: top-left corner and side. */
export interface CropBox {
  x: number;
  y: number;
  size: number;
}

/** Centred square along the long edge; an odd excess puts the extra pixel at the end (left/top offset floors). */
export function centerCropBox(width: number, height: number): CropBox {
  checkDims(width, height);
  const size = Math.min(width, height);
  return { x: Math.floor((width - size) / 2), y: Math.floor((height - size) / 2), size };
}

/** Copies the centred square crop out of HWC pixels (`channels` bytes per pixel). Returns the input when already square. */
export function centerCrop(pixels: Uint8Array, width: number, height: number, channels: number): { data: Uint8Array; size: number } {
  checkBuffer(pixels, width, height, channels);
  const { x, y, size } = centerCropBox(width, height);
  if (size === width && size === height) return { data: pixels, size };
  const out = new Uint8Array(size * size * channels);
  const rowBytes = size * channels;
  for (let r = 0; r < size; r++) {
    const from = ((y + r) * width + x) * channels;
    out.set(pixels.subarray(from, from + rowBytes), r * rowBytes);
  }
  return { data: out, size };
}

/** One destination pixel's taps along an axis: source indices and their integer weights (sum = src). */
interface AxisTaps {
  start: Int32Array; // first tap index into idx/wt for destination i
  idx: Int32Array;
  wt: Float64Array;
}

function axisTaps(src: number, dst: number): AxisTaps {
  const start = new Int32Array(dst + 1);
  const idx: number[] = [];
  const wt: number[] = [];
  for (let i = 0; i < dst; i++) {
    start[i] = idx.length;
    const lo = i * src; // destination footprint [lo, hi) in units where a source pixel is `dst` wide
    const hi = lo + src;
    for (let j = Math.floor(lo / dst); j * dst < hi; j++) {
      const overlap = Math.min(hi, (j + 1) * dst) - Math.max(lo, j * dst);
      if (overlap > 0) {
        idx.push(j);
        wt.push(overlap);
      }
    }
  }
  start[dst] = idx.length;
  return { start, idx: Int32Array.from(idx), wt: Float64Array.from(wt) };
}

/**
 * The exact box-filter sums: out[(y*dstW + x)*C + c] = sum of weighted source values,
 * with every output's weights summing to srcW*srcH. Divide by that for the mean.
 */
function areaSums(
  pixels: Uint8Array, srcW: number, srcH: number, channels: number, dstW: number, dstH: number,
): Float64Array {
  checkBuffer(pixels, srcW, srcH, channels);
  checkDims(dstW, dstH);
  const tx = axisTaps(srcW, dstW);
  const ty = axisTaps(srcH, dstH);
  const C = channels;
  // Horizontal pass: srcH rows of dstW pixels.
  const tmp = new Float64Array(srcH * dstW * C);
  for (let y = 0; y < srcH; y++) {
    const rowIn = y * srcW * C;
    const rowOut = y * dstW * C;
    for (let x = 0; x < dstW; x++) {
      const o = rowOut + x * C;
      for (let t = tx.start[x]!; t < tx.start[x + 1]!; t++) {
        const s = rowIn + tx.idx[t]! * C;
        const w = tx.wt[t]!;
        for (let c = 0; c < C; c++) tmp[o + c]! += w * pixels[s + c]!;
      }
    }
  }
  // Vertical pass.
  const out = new Float64Array(dstH * dstW * C);
  const rowLen = dstW * C;
  for (let y = 0; y < dstH; y++) {
    const o = y * rowLen;
    for (let t = ty.start[y]!; t < ty.start[y + 1]!; t++) {
      const s = ty.idx[t]! * rowLen;
      const w = ty.wt[t]!;
      for (let k = 0; k < rowLen; k++) out[o + k]! += w * tmp[s + k]!;
    }
  }
  return out;
}

/** AREA resample of HWC uint8 pixels, returning the exact (unrounded) means as float64. */
export function areaResizeExact(
  pixels: Uint8Array, srcW: number, srcH: number, channels: number, dstW: number, dstH: number,
): Float64Array {
  const sums = areaSums(pixels, srcW, srcH, channels, dstW, dstH);
  const denom = srcW * srcH;
  for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! / denom;
  return sums;
}

/** AREA resample of HWC uint8 pixels to uint8, means rounded half up. Same size returns a copy. */
export function areaResize(
  pixels: Uint8Array, srcW: number, srcH: number, channels: number, dstW: number, dstH: number,
): Uint8Array {
  if (srcW === dstW && srcH === dstH) {
    checkBuffer(pixels, srcW, srcH, channels);
    return pixels.slice();
  }
  const sums = areaSums(pixels, srcW, srcH, channels, dstW, dstH);
  const denom = srcW * srcH;
  const out = new Uint8Array(sums.length);
  // round(S / D) half up == floor((2S + D) / (2D)); S and D are exact integers.
  for (let i = 0; i < sums.length; i++) out[i] = Math.floor((2 * sums[i]! + denom) / (2 * denom));
  return out;
}

/**
 * The whole preprocessing step: centred square crop, then AREA resample to
 * resolution x resolution. Input and output are HWC uint8 with `channels` per pixel.
 */
export function cropAndResize(
  pixels: Uint8Array, width: number, height: number, channels: number, resolution: number,
): Uint8Array {
  const { data, size } = centerCrop(pixels, width, height, channels);
  if (size === resolution) return data === pixels ? pixels.slice() : data;
  return areaResize(data, size, size, channels, resolution, resolution);
}

function checkDims(w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new RangeError(`image size must be positive integers, got ${w}x${h}`);
  }
}

function checkBuffer(pixels: Uint8Array, w: number, h: number, channels: number): void {
  checkDims(w, h);
  if (!Number.isInteger(channels) || channels <= 0) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  if (pixels.length !== w * h * channels) {
    throw new RangeError(`pixel buffer has ${pixels.length} bytes, expected ${w}x${h}x${channels} = ${w * h * channels}`);
  }
}
