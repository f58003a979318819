/**
 * Inception-v3 features for the library (Node: onnxruntime-node and the weights
 * file), statistics files, and the array metric maths re-exported:
 *
 *   const inception = await loadInception({ weights: 'pt_inception-2015-12-05-6726825d.pth' });
 *   const { pool3, logits } = await inception.features(images, { logits: true });
 *   const fid = frechetInceptionDistance(pool3, await readStatsFile('cifar10-train.npz'));
 */
import { UserError } from '../errors.js';
import { toByte } from '../image/image-grid.js';
import { chooseInception, loadExtractor } from '../eval/inception-source.js';
import type { NdArray } from '../io/ndarray.js';
import { type FeatureStatistics, gaussianOf, statisticsOf } from '../metrics/array-metrics.js';
import { INCEPTION_CLASSES, INCEPTION_POOL3_DIM } from '../metrics/inception/inception-v3.js';
import type { InceptionFeatureExtractor } from '../metrics/inception/feature-extractor.js';
import { type InceptionPipeline, parseInceptionPipeline } from '../metrics/inception/preprocess.js';
import { readStatsFile as readStats, writeStatsFile as writeStats } from '../metrics/stats-file.js';
import type { ArrayView } from '../io/ndarray.js';

export type { InceptionPipeline, FeatureStatistics };

export interface LoadInceptionOptions {
  /** pt_inception-2015-12-05-6726825d.pth (default $BIGGAN_INCEPTION), or 'procedural' (the fixtures' stand-in: a testing aid, meaningless scores). */
  weights?: string;
  /** Input preprocessing: 'pytorch-fid' (default; what published statistics use) or 'torch-fidelity'. */
  pipeline?: InceptionPipeline;
  /** Images per network run (default 16). */
  batch?: number;
  threads?: number;
}

export interface InceptionOutputs {
  /** [N, 2048] pool3 features (FID, KID). */
  pool3: NdArray & { data: Float32Array };
  /** [N, 1008] torch-fidelity's unbiased logits (the Inception Score's input), when asked for. */
  logits?: NdArray & { data: Float32Array };
}

/** Images as uint8 NCHW [N, 3, H, W]: uint8 NCHW or NHWC as given; float NCHW in [-1, 1] rounded as pytorch-fid's uint8 step. */
function uint8Images(images: ArrayView): NdArray {
  const s = images?.shape;
  if (!s || s.length !== 4) throw new UserError(`images must be 4-d [N, 3, H, W], got shape [${s}]`);
  const [n, a, b, c] = s;
  if (images.data.length !== n * a * b * c) throw new UserError(`images: ${images.data.length} values do not fill shape [${s}]`);
  if (images.data instanceof Uint8Array) {
    if (a === 3) return { dtype: 'uint8', shape: [...s], data: images.data };
    if (c !== 3) throw new UserError(`uint8 images must be [N, 3, H, W] or [N, H, W, 3], got [${s}]`);
    const src = images.data;
    const out = new Uint8Array(src.length);
    for (let i = 0; i < n; i++) for (let p = 0; p < a * b; p++) for (let ch = 0; ch < 3; ch++) out[(i * 3 + ch) * a * b + p] = src[(i * a * b + p) * 3 + ch];
    return { dtype: 'uint8', shape: [n, 3, a, b], data: out };
  }
  if (images.data instanceof Float32Array || images.data instanceof Float64Array) {
    if (a !== 3) throw new UserError(`float images must be [N, 3, H, W] in [-1, 1], got [${s}]`);
    const src = images.data;
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) {
      if (!Number.isFinite(src[i])) throw new UserError('images contain NaN or Inf');
      out[i] = toByte(src[i]);
    }
    return { dtype: 'uint8', shape: [...s], data: out };
  }
  throw new UserError('images must be uint8 or float');
}

export class Inception {
  /** Use `loadInception`. */
  constructor(private readonly extractor: InceptionFeatureExtractor, readonly procedural: boolean) {}

  /** pool3 features (and the IS logits) of images: uint8 [N, 3, H, W] / [N, H, W, 3], or float NCHW in [-1, 1]; any size. */
  async features(images: ArrayView, opts: { logits?: boolean } = {}): Promise<InceptionOutputs> {
    const x = uint8Images(images);
    const f = await this.extractor.extract(x, { logits: !!opts.logits });
    const n = f.count;
    const out: InceptionOutputs = { pool3: { dtype: 'float32', shape: [n, INCEPTION_POOL3_DIM], data: f.pool3 } };
    if (opts.logits && f.logitsUnbiased) out.logits = { dtype: 'float32', shape: [n, INCEPTION_CLASSES], data: f.logitsUnbiased };
    return out;
  }

  async dispose(): Promise<void> {
    await this.extractor.release();
  }
}

/** Opens the FID Inception-v3 (weights from a file, or the procedural testing stand-in). */
export async function loadInception(options: LoadInceptionOptions = {}): Promise<Inception> {
  const pipeline = parseInceptionPipeline(options.pipeline ?? 'pytorch-fid');
  const batch = options.batch ?? 16;
  if (!(Number.isInteger(batch) && batch > 0)) throw new UserError(`batch must be a positive integer, got ${batch}`);
  const choice = chooseInception(options.weights);
  return new Inception(loadExtractor(choice, { pipeline, batchSize: batch, threads: options.threads }), choice.procedural);
}

/** Reads FID statistics (pytorch-fid / BigGAN-PyTorch .npz with mu and sigma). */
export async function readStatsFile(file: string): Promise<FeatureStatistics> {
  return statisticsOf(readStats(file));
}

/** Writes FID statistics as an .npz (float64 mu and sigma), atomically. */
export async function writeStatsFile(file: string, stats: { mu: ArrayView; sigma: ArrayView }): Promise<void> {
  writeStats(file, gaussianOf(stats, `statistics for ${file}`));
}
