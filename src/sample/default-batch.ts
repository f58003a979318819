/**
 * Images per forward pass when the caller gives none: about 32K output pixels per batch
 * (2 at 128x128, 32 at 32x32, 1 from 256x256 up), a power of two.
 *
 * Measured on 2 cores (onnxruntime, memory arena on): BigGAN-deep-128 generated ~11 images/s
 * at batch 1 or 2 against ~10.5 at batch 8, and a one-shot `biggan sample -n 8` took 1.04 s
 * and 0.37-0.41 GB at batch 1-2 against 1.29 s and 0.62 GB at batch 8 (its activations stay
 * in cache, less fresh memory to fault in). BigGAN-32 ch 64 is the opposite: ~12 ms per image
 * at batch 32-128, 16-25 ms at 16, 21-38 ms at 1-4 (per-op overhead on tiny maps).
 */
const PIXELS_PER_BATCH = 32 * 1024;
const MAX_BATCH = 64;

export function defaultSampleBatch(resolution: number): number {
  const fit = Math.max(1, Math.floor(PIXELS_PER_BATCH / (resolution * resolution)));
  return Math.min(MAX_BATCH, 2 ** Math.floor(Math.log2(fit)));
}
