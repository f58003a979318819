/**
 * Runs uint8 image batches through Inception and keeps what the metrics need:
 * always the streaming pool3 statistics (FID, shards; float64 sums, so n can
 * be large), and when asked the unbiased logits (IS), the pool3 rows
 * themselves (KID, precision/recall, ...) and each row's class (per-class metrics). The next batch is requested before the network runs on
 * the current one, so its file reads proceed meanwhile; onnxruntime-node runs
 * on the JS thread, so decoding and generating still take turns with it.
 */
import { UserError } from '../errors.js';
import { type Matrix, matrix } from '../linalg/matrix.js';
import { FeatureStats } from '../metrics/feature-stats.js';
import type { InceptionFeatureExtractor } from '../metrics/inception/feature-extractor.js';
import { INCEPTION_CLASSES, INCEPTION_POOL3_DIM } from '../metrics/inception/inception-v3.js';
import type { ImageBatch } from './image-input.js';

export interface CollectOptions {
  /** Keep the unbiased logits (Inception Score). */
  logits?: boolean;
  /** Keep every pool3 row (KID). */
  features?: boolean;
  /** Keep each image's class id (the batches must carry them). */
  classes?: boolean;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number) => void;
  /** Centre of the statistics' sums (FeatureStatsOptions.shift); default the first row. */
  shift?: Float64Array;
}

export interface CollectedFeatures {
  count: number;
  stats: FeatureStats;
  /** [count, 1008] unbiased logits, when asked. */
  logits?: Matrix;
  /** [count, 2048] pool3, when asked. */
  features?: Matrix;
  /** [count] class ids, when asked. */
  classIds?: Int32Array;
}

export async function collectFeatures(
  extractor: InceptionFeatureExtractor,
  batches: AsyncIterable<ImageBatch>,
  opts: CollectOptions = {},
): Promise<CollectedFeatures> {
  const stats = new FeatureStats(INCEPTION_POOL3_DIM, { shift: opts.shift });
  const logitChunks: Float32Array[] = [];
  const featureChunks: Float32Array[] = [];
  const classChunks: Int32Array[] = [];
  let count = 0;
  const it = batches[Symbol.asyncIterator]();
  let next = it.next();
  // marks the prefetch as handled while the network runs; it is awaited below
  next.catch(() => {});
  for (;;) {
    const r = await next;
    if (r.done) break;
    next = it.next();
    next.catch(() => {});
    const f = await extractor.extract(r.value.images, { logits: !!opts.logits });
    checkFinite(f.pool3, count);
    stats.add({ rows: f.count, cols: INCEPTION_POOL3_DIM, data: f.pool3 });
    if (opts.logits) logitChunks.push(f.logitsUnbiased!);
    if (opts.features) featureChunks.push(f.pool3);
    if (opts.classes) {
      if (!r.value.classIds) throw new Error('collectFeatures: classes asked of batches without class ids');
      classChunks.push(r.value.classIds);
    }
    count += f.count;
    opts.onProgress?.(count);
  }
  const out: CollectedFeatures = { count, stats };
  if (opts.logits) out.logits = concatRows(logitChunks, count, INCEPTION_CLASSES);
  if (opts.features) out.features = concatRows(featureChunks, count, INCEPTION_POOL3_DIM);
  if (opts.classes) {
    out.classIds = new Int32Array(count);
    let o = 0;
    for (const c of classChunks) {
      out.classIds.set(c, o);
      o += c.length;
    }
  }
  return out;
}

function checkFinite(x: Float32Array, before: number): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new UserError(`Inception features of image ${before + Math.floor(i / INCEPTION_POOL3_DIM)} are NaN or infinite (are the Inception weights damaged?)`);
    }
  }
}

function concatRows(chunks: Float32Array[], rows: number, cols: number): Matrix {
  const m = matrix(rows, cols);
  let o = 0;
  for (const c of chunks) {
    m.data.set(c, o);
    o += c.length;
  }
  return m;
}
