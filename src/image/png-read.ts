/**
 * Reading PNGs (reference images, earlier sample sheets) into 8-bit pixels.
 * pngjs normalises every PNG flavour (palette, grey, 16-bit, tRNS) to RGBA8;
 * we then drop the alpha channel when the file had none, so callers get RGB
 * for ordinary photos and RGBA only when transparency is real.
 */
import { PNG } from 'pngjs';
import { UserError } from '../errors.js';
import { readFileForUser } from '../io/read-file.js';
import { pixelLimitProblem } from './pixel-limit.js';

export interface DecodedPng {
  /** Row-major pixels, `channels` bytes each. */
  data: Uint8Array;
  width: number;
  height: number;
  /** 3 (RGB; grey files are expanded) or 4 (RGBA, when the file has alpha or a transparent colour). */
  channels: 3 | 4;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decodes PNG bytes; `name` (usually the path) is used in error messages. */
export function decodePng(buf: Uint8Array, name: string): DecodedPng {
  // Check the magic ourselves: a clearer message than pngjs gives for e.g. a JPEG.
  if (buf.length < SIGNATURE.length || SIGNATURE.some((b, i) => buf[i] !== b)) {
    throw new UserError(`${name} is not a PNG file (missing PNG signature)`);
  }
  // IHDR (always the first chunk) gives the size: refuse over-limit images before pngjs allocates them.
  if (buf.length >= 24) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const problem = pixelLimitProblem(dv.getUint32(16), dv.getUint32(20));
    if (problem) throw new UserError(`${name}: ${problem}`);
  }
  let png;
  try {
    png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (err) {
    // pngjs throws plain Errors (bad CRC, truncated zlib, unknown chunk...): all mean a damaged file.
    let why = (err instanceof Error ? err.message : String(err)).split('\n')[0] as string;
    // pngjs reports running out of bytes as pending stream reads; say what it means.
    if (/read requests/i.test(why)) why = 'file is truncated';
    throw new UserError(`${name} is not a valid PNG file (${why})`);
  }
  const { width, height, data } = png;
  if (data.length !== width * height * 4) {
    throw new UserError(`${name} is not a valid PNG file (decoded ${data.length} bytes for ${width}x${height})`);
  }
  if (png.alpha) return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 4 };
  const rgb = new Uint8Array(width * height * 3);
  for (let s = 0, d = 0; s < data.length; s += 4, d += 3) {
    rgb[d] = data[s] as number;
    rgb[d + 1] = data[s + 1] as number;
    rgb[d + 2] = data[s + 2] as number;
  }
  return { data: rgb, width, height, channels: 3 };
}

/** Reads and decodes a PNG file; a missing, unreadable or corrupt file is a one-line UserError naming it. */
export function readPng(file: string): DecodedPng {
  return decodePng(readFileForUser(file), file);
}
