/**
 * Decoding training images (PNG, JPEG, WebP) to 8-bit RGB with sharp (libvips).
 * sharp is used only to decode: EXIF orientation is applied, grey/CMYK/16-bit/
 * palette inputs are converted to sRGB uint8 and alpha is dropped (as PIL's
 * convert('RGB') does). Cropping and resampling are ours (area-resize.ts).
 */
import sharp from 'sharp';
import { decodePixels, maxImagePixels, pixelLimitProblem } from '../image/pixel-limit.js';

/** Decoded pixels: row-major HWC, 3 bytes (R, G, B) per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A file that could not be used as an image; `reason` is one line. Collected, not thrown to the user as is. */
export class BadImageError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'BadImageError';
  }
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** File-name extensions we look at (lower case, with the dot). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.jpe', '.webp']);

/** The format from the first bytes, or null when they are not PNG, JPEG or WebP. */
export function sniffImageFormat(buf: Uint8Array): ImageFormat | null {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47
    && buf[4] === 0x0d && buf[5] === 0x0a && buf[6] === 0x1a && buf[7] === 0x0a) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 12 && buf[0] === 0x52 && buf[1] === 0x49 && buf[2] === 0x46 && buf[3] === 0x46
    && buf[8] === 0x57 && buf[9] === 0x45 && buf[10] === 0x42 && buf[11] === 0x50) return 'webp';
  return null;
}

const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();

let decodeCount = 0;

/** How many images decodeImage has decoded in this process (tests use it to prove a cache hit decodes nothing). */
export function imageDecodeCount(): number {
  return decodeCount;
}

/**
 * Decodes PNG/JPEG/WebP bytes to RGB uint8. The content decides the format (a
 * JPEG named .png is fine); anything else, or damaged/truncated pixel data,
 * throws BadImageError naming `name`.
 */
export async function decodeImage(buf: Uint8Array, name: string): Promise<RgbImage> {
  decodeCount++;
  if (buf.length === 0) throw new BadImageError(name, 'file is empty');
  if (!sniffImageFormat(buf)) throw new BadImageError(name, 'not a PNG, JPEG or WebP image (unrecognised content)');
  const limitInputPixels = maxImagePixels();
  // The header's size first (cheap): an image over the pixel limit is refused before any pixel is decoded.
  let width = 0;
  let height = 0;
  try {
    ({ width = 0, height = 0 } = await sharp(buf, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new BadImageError(name, `cannot decode image (${oneLine(err)})`);
  }
  const problem = pixelLimitProblem(width, height);
  if (problem) throw new BadImageError(name, problem);
  const pixels = width * height;
  try {
    // failOn 'error': reject corrupt or truncated pixel data, tolerate mere warnings
    // (e.g. stray bytes between JPEG markers) that other decoders accept too.
    const { data, info } = await decodePixels.run(pixels, () => sharp(buf, { failOn: 'error', autoOrient: true, animated: false, limitInputPixels })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(`decoded to ${info.channels} channels / ${data.length} bytes for ${info.width}x${info.height}`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    throw new BadImageError(name, `cannot decode image (${oneLine(err)})`);
  }
}
