/**
 * The largest image (in pixels) we decode, and a pool that bounds how many pixels
 * are being decoded at once. A tiny JPEG can claim 16383×16383 in its header; without
 * a limit it would be decoded in full (1.6 GiB of RGB). The limit comes from
 * BIGGAN_MAX_IMAGE_PIXELS (default 50 million, e.g. 8660×5773) or setMaxImagePixels.
 */
import { UserError } from '../errors.js';

export const DEFAULT_MAX_IMAGE_PIXELS = 50_000_000;
export const MAX_IMAGE_PIXELS_ENV = 'BIGGAN_MAX_IMAGE_PIXELS';

let override: number | undefined;

/** Sets the limit for this process (overrides the environment); undefined restores the default behaviour. */
export function setMaxImagePixels(pixels: number | undefined): void {
  if (pixels !== undefined && (!Number.isSafeInteger(pixels) || pixels < 1)) throw new UserError(`the image pixel limit must be a positive integer, got ${pixels}`);
  override = pixels;
}

/** The current limit: setMaxImagePixels, else BIGGAN_MAX_IMAGE_PIXELS, else the default. */
export function maxImagePixels(): number {
  if (override !== undefined) return override;
  const env = process.env[MAX_IMAGE_PIXELS_ENV];
  if (env === undefined || env === '') return DEFAULT_MAX_IMAGE_PIXELS;
  const n = Number(env);
  if (!/^\d+$/.test(env.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UserError(`${MAX_IMAGE_PIXELS_ENV} must be a positive integer (pixels), got ${JSON.stringify(env.slice(0, 40))}`);
  }
  return n;
}

/** The reason an image of width×height may not be decoded, or null when it may. */
export function pixelLimitProblem(width: number, height: number): string | null {
  const limit = maxImagePixels();
  if (!(width * height <= limit)) return `${width}x${height} is more than the ${limit}-pixel limit (set ${MAX_IMAGE_PIXELS_ENV} to allow larger images)`;
  return null;
}

/**
 * Pixels being decoded at once, across concurrent decodes: a decode waits until its
 * pixels fit (first come, first served), so peak decode memory stays near one
 * largest-allowed image whatever the concurrency.
 */
class PixelPool {
  private inUse = 0;
  private readonly waiting: { pixels: number; go: () => void }[] = [];

  async run<T>(pixels: number, fn: () => Promise<T>): Promise<T> {
    const capacity = maxImagePixels();
    const n = Math.min(Math.max(1, pixels), capacity);
    if (this.inUse > 0 && (this.waiting.length > 0 || this.inUse + n > capacity)) {
      await new Promise<void>((go) => this.waiting.push({ pixels: n, go }));
    } else {
      this.inUse += n;
    }
    try {
      return await fn();
    } finally {
      this.inUse -= n;
      this.wake(capacity);
    }
  }

  private wake(capacity: number): void {
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      if (this.inUse > 0 && this.inUse + head.pixels > capacity) return;
      this.waiting.shift();
      this.inUse += head.pixels;
      head.go();
    }
  }
}

export const decodePixels = new PixelPool();
