/**
 * The generator as a library object:
 *
 *   const G = await loadGenerator('biggan-deep-128-pytorch_model.bin');
 *   const images = await G.sample({ classes: ['golden retriever', 207], truncation: 0.4, seed: 0 });
 *   await G.dispose();
 *
 * Every weights format and layout `biggan sample` reads (our checkpoints,
 * pytorch-pretrained-BigGAN, BigGAN-PyTorch); latents, classes and truncation as
 * `biggan sample` draws them (sample/sample-inputs.ts), so the numbers are the CLI's.
 */
import { UserError } from '../errors.js';
import { regularFileSize } from '../io/read-file.js';
import { Rng } from '../random/rng.js';
import { classLabel, resolveClasses } from '../sample/class-lookup.js';
import { defaultSampleBatch } from '../sample/default-batch.js';
import { GraphCache } from '../sample/graph-cache.js';
import { type InterpolationKind, interpolationInputs } from '../sample/interpolation.js';
import { type GeneratorInfo, type InputNames, type SampleInputOptions, type SampleInputs, API_NAMES, latentStyle, sampleInputs } from '../sample/sample-inputs.js';
import { checkTruncation } from '../sample/latents.js';
import { type MemArena, type Prepack, Sampler } from '../sample/sampler.js';

export type { GeneratorInfo, InterpolationKind, MemArena, Prepack, SampleInputOptions };

export interface LoadGeneratorOptions {
  /** pytorch-pretrained-BigGAN config.json, or JSON with BigGAN-PyTorch constructor args ({"G": …}); default: a config beside the weights. */
  config?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  /** Use and fill the on-disk cache of optimized graphs (BIGGAN_CACHE_DIR; default true). */
  cache?: boolean;
  /**
   * onnxruntime's memory arena: true (default: fastest when batches repeat), false, or
   * 'multi-batch' (off for a first request that fits in one batch: lower peak memory at the
   * same speed for one-shot runs such as `biggan sample`).
   */
  memArena?: MemArena;
  /**
   * onnxruntime's weight prepacking: 'many-batches' (default: only when the first request takes
   * more than 40 batches; what `biggan sample` does), true or false. Prepacking takes ~75 ms of
   * the session start and makes each batch ~1 % faster; it also changes the last float bits
   * (~2e-5 on an image in [-1, 1]), so the default keeps the library's numbers the CLI's.
   */
  prepack?: Prepack;
}

export interface SampleOptions extends SampleInputOptions {
  /** Images per forward pass (default: about 32K pixels per batch, 2 at 128x128, 32 at 32x32: sample/default-batch.ts). */
  batch?: number;
  /** Called after each batch. */
  onProgress?: (done: number, total: number) => void;
}

export interface InterpolateOptions {
  /** What each row walks through: latents ('z', one class per row), classes ('class', one z per row) or both (default 'z'). */
  kind?: InterpolationKind;
  /** Rows (default: the classes given — pairs for 'class'/'both' — else 4). */
  rows?: number;
  /** Images per row (default 8). */
  steps?: number;
  /** z: one class per row (cycled); class/both: consecutive pairs per row. Random when absent. */
  classes?: readonly (string | number)[];
  seed?: number;
  truncation?: number;
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Generated images: float32 NCHW in [-1, 1], with each image's class and sheet label. */
export interface Images {
  readonly dtype: 'float32';
  readonly data: Float32Array;
  /** [n, 3, resolution, resolution] */
  readonly shape: [number, number, number, number];
  /** Each image's class (the dominant one of a soft class vector; for interpolations, the row's start). */
  readonly classIds: number[];
  /** Each image's label on a sheet. */
  readonly labels: string[];
}

function checkBatch(batch: number | undefined, resolution: number): number {
  const b = batch ?? defaultSampleBatch(resolution);
  if (!(Number.isInteger(b) && b > 0)) throw new UserError(`batch must be a positive integer, got ${b}`);
  return b;
}

export class Generator {
  private disposed = false;

  /** Use `loadGenerator`. */
  constructor(private readonly sampler: Sampler) {}

  /** Kind, resolution, latent size, number of classes (and their names for our checkpoints). */
  get info(): GeneratorInfo {
    return this.sampler.info();
  }

  /** Images for latents and classes drawn as `biggan sample` draws them (or given exactly as z / classVector). */
  async sample(opts: SampleOptions = {}, names: InputNames = API_NAMES): Promise<Images> {
    const batch = checkBatch(opts.batch, this.info.resolution);
    return this.run(sampleInputs(this.info, opts, names), batch, opts.onProgress);
  }

  /** An interpolation sheet's images: `rows` rows of `steps` images each (the paper's Figures 8 and 11). */
  async interpolate(opts: InterpolateOptions = {}): Promise<Images> {
    const info = this.info;
    const batch = checkBatch(opts.batch, info.resolution);
    const kind = opts.kind ?? 'z';
    if (kind !== 'z' && kind !== 'class' && kind !== 'both') throw new UserError(`interpolation kind must be z, class or both, got ${String(kind)}`);
    const steps = opts.steps ?? 8;
    if (!(Number.isInteger(steps) && steps > 0)) throw new UserError(`steps must be a positive integer, got ${steps}`);
    if (opts.truncation !== undefined) checkTruncation(opts.truncation, info.usesTruncation, 'truncation');
    const classIds = opts.classes ? resolveClasses(opts.classes, info.numClasses, info.classNames) : undefined;
    const rows = opts.rows ?? Math.max(1, kind === 'z' ? (classIds?.length ?? 4) : Math.floor((classIds?.length ?? 8) / 2));
    if (!(Number.isInteger(rows) && rows > 0)) throw new UserError(`rows must be a positive integer, got ${rows}`);
    const rng = new Rng(opts.seed ?? 0);
    const label = (id: number): string => classLabel(id, info.numClasses, info.classNames);
    const inp = interpolationInputs({ kind, rows, steps, zDim: info.zDim, numClasses: info.numClasses, classIds, truncation: opts.truncation, style: latentStyle(info), rng, label });
    const n = rows * steps;
    return this.run({ n, z: inp.z, classVectors: inp.classVectors, truncation: opts.truncation ?? 1, classIds: inp.classIds, labels: inp.labels }, batch, opts.onProgress);
  }

  private async run(inputs: SampleInputs, batch: number, onProgress?: (done: number, total: number) => void): Promise<Images> {
    if (this.disposed) throw new UserError('this generator has been disposed');
    const { n } = inputs;
    const R = this.info.resolution;
    const data = await this.sampler.generate({ z: inputs.z, classVectors: inputs.classVectors, n, truncation: inputs.truncation }, batch, (done) => onProgress?.(done, n));
    return { dtype: 'float32', data, shape: [n, 3, R, R], classIds: inputs.classIds, labels: inputs.labels };
  }

  /** Releases the onnxruntime sessions. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.sampler.release();
  }
}

/** Opens a generator checkpoint of any supported format; its weights are read only when no cached graph exists. */
export async function loadGenerator(weights: string, options: LoadGeneratorOptions = {}): Promise<Generator> {
  if (typeof weights !== 'string') throw new UserError('loadGenerator: weights must be a file path');
  regularFileSize(weights, 'weights file'); // the cached graph path may never open the file itself
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads > 0)) throw new UserError(`threads must be a positive integer, got ${options.threads}`);
  const runtime = { threads: options.threads };
  // the model code loads only when the weights must be read (no cached graph)
  const load = async () => (await import('../models/checkpoint.js')).loadGenerator(weights, options.config);
  const memArena = options.memArena ?? true;
  if (memArena !== true && memArena !== false && memArena !== 'multi-batch') throw new UserError(`memArena must be true, false or 'multi-batch', got ${String(memArena)}`);
  const prepack = options.prepack ?? 'many-batches';
  if (prepack !== true && prepack !== false && prepack !== 'many-batches') throw new UserError(`prepack must be true, false or 'many-batches', got ${String(prepack)}`);
  const sampler = options.cache === false
    ? new Sampler(await load(), runtime, memArena, prepack)
    : new Sampler({ weights, config: options.config, cache: new GraphCache(), load }, runtime, memArena, prepack);
  await sampler.prepare(); // reads (and checks) the model now, not at the first sample
  return new Generator(sampler);
}
