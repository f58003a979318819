/**
 * Images from a generator, streamed as uint8 NCHW batches for scoring.
 *
 * Seeded and reproducible: latents come from Rng(seed) and class ids from a
 * second stream seeded from the same value, both consumed batch by batch, so
 * the first k images are the same whatever n or the batch size. Latents follow
 * the model's truncation style (BigGAN: resample |z| > t, none when t is not
 * given; BigGAN-deep: truncated normal scaled by t, which also picks its BN
 * statistics). Outputs in [-1, 1] become bytes as a saved PNG would hold them
 * (toByte: round((x + 1) * 127.5), clamped) — the uint8 step pytorch-fid and
 * torch-fidelity both score. Non-finite output is a UserError: a broken
 * checkpoint must not turn into a plausible-looking score.
 */
import { UserError } from '../errors.js';
import type { GeneratorModel } from '../models/interfaces.js';
import { Rng } from '../random/rng.js';
import { sampleLatents } from '../sample/latents.js';
import { oneHotVectors } from '../sample/classes.js';
import { Sampler } from '../sample/sampler.js';
import { toByte } from '../image/image-grid.js';
import { ClassIdStream, type ClassSampling } from './class-balance.js';
import type { ImageBatch } from './image-input.js';

export interface GenerationPlan {
  n: number;
  seed: number;
  /** Truncation value; undefined = none (BigGAN) / 1 (BigGAN-deep). */
  truncation?: number;
  classSampling: ClassSampling;
  /** Images per generator run. */
  batch: number;
  /**
   * Only images [from, to) of the n (an evaluation shard): the streams are still drawn from
   * image 0 (the latents and classes before `from` are drawn and dropped, without running the
   * generator), so each image is exactly what the whole run gives it. `from` must start a batch.
   */
  range?: readonly [from: number, to: number];
}

/** Mixed into the seed for the class stream so it never equals another seed's latent stream. */
const CLASS_STREAM_SALT = 0x5bd1e995;

export interface GeneratedBatch extends ImageBatch {
  classIds: Int32Array;
}

export async function* generatedBatches(model: GeneratorModel, sampler: Sampler, plan: GenerationPlan): AsyncGenerator<GeneratedBatch> {
  const { n } = plan;
  const Z = model.zDim, C = model.numClasses, R = model.resolution;
  const latentRng = new Rng(plan.seed);
  const classes = new ClassIdStream(C, plan.classSampling, new Rng((plan.seed ^ CLASS_STREAM_SALT) >>> 0));
  const style = model.usesTruncation ? 'scaled' : 'threshold';
  const truncation = plan.truncation ?? 1;
  // one compiled size: a short last batch is padded up to it (the padding is dropped)
  const B = Math.min(plan.batch, n);
  const per = 3 * R * R;
  const [from, to] = plan.range ?? [0, n];
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= n && from % B === 0)) {
    throw new RangeError(`generated image range [${from}, ${to}) must lie within [0, ${n}) and start a batch of ${B}`);
  }
  for (let start = 0; start < to; start += B) {
    const count = Math.min(B, n - start, to - start);
    const z = new Float32Array(B * Z);
    z.set(sampleLatents(count, Z, plan.truncation, style, latentRng));
    const ids = classes.next(count);
    if (start < from) continue;
    const vectors = new Float32Array(B * C);
    vectors.set(oneHotVectors(Array.from(ids), C));
    const out = await sampler.generate({ z, classVectors: vectors, n: B, truncation }, B);
    const data = new Uint8Array(count * per);
    for (let i = 0; i < data.length; i++) {
      const v = out[i]!;
      if (!Number.isFinite(v)) {
        throw new UserError(`the generator produced NaN or infinite values (image ${start + Math.floor(i / per)}): the checkpoint is broken or does not match its config`);
      }
      data[i] = toByte(v);
    }
    yield { images: { dtype: 'uint8', shape: [count, 3, R, R], data }, start, classIds: ids };
  }
}
