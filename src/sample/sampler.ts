/**
 * Runs a generator over many latents in fixed-size batches. One compiled graph per
 * batch size (weights baked in as initializers so onnxruntime folds spectral norm
 * once); a short last batch is padded and the padding dropped. Sessions can come from
 * the on-disk cache of optimized graphs (graph-cache.ts), in which case the weights
 * are only read when a graph has to be built.
 */
import * as ort from 'onnxruntime-node';
import { Graph } from '../engine/graph.js';
import type { ExportedModel } from '../engine/onnx-export.js';
import { CompiledGraph, Feed, RuntimeOptions } from '../engine/runtime.js';
import { evalContext } from '../nn/module.js';
import type { GeneratorModel } from '../models/interfaces.js';
import { GraphCache, GeneratorInfo, modelKey, graphKey } from './graph-cache.js';
import { packageVersion } from '../package-info.js';

export interface GeneratorGraphOptions {
  batch: number;
  /** Feed weights at run time instead of baking them in (tests, training-time sampling). */
  paramInputs?: boolean;
  /**
   * BigGAN-deep: take the BN row selection as inputs bn_rows int64 [2] and bn_row_weights float32 [2]
   * (nn/stat-row-selection.ts computes them) instead of truncation float64 [1]: no float64 in the graph
   * (onnxruntime-web's WebGPU build has no float64 kernels).
   */
  statRowInputs?: boolean;
}

/**
 * The generator as a standalone graph: inputs z, class_vector (, truncation); output image.
 * The ONNX encoder loads on first use: a run that finds its graph in the cache never needs it
 * (that, and the model code loading on demand, keeps ~0.07 s off `biggan sample`'s start).
 */
export async function generatorGraph(model: GeneratorModel, opts: GeneratorGraphOptions): Promise<ExportedModel> {
  const { exportOnnx } = await import('../engine/onnx-export.js');
  const g = new Graph();
  const B = opts.batch;
  const z = g.input('z', [B, model.zDim]);
  const classVector = g.input('class_vector', [B, model.numClasses]);
  const rowInputs = model.usesTruncation && opts.statRowInputs;
  const truncation = model.usesTruncation && !rowInputs ? g.input('truncation', [1], 'float64') : undefined;
  const statRows = rowInputs ? { rows: g.input('bn_rows', [2], 'int64'), weights: g.input('bn_row_weights', [2], 'float32') } : undefined;
  const image = model.forward(evalContext(), { z, classes: { vector: classVector }, truncation, statRows });
  return exportOnnx(g, {
    outputs: { image },
    paramInputs: opts.paramInputs ? 'all' : 'none',
    graphName: `${model.kind}-${model.resolution}-generator`,
    docString: `BigGAN generator (${model.kind}, ${model.resolution}x${model.resolution}); inputs: z [${B}, ${model.zDim}], class_vector [${B}, ${model.numClasses}]${truncation ? ', truncation float64 [1] in (0, 1]' : ''}${statRows ? ', bn_rows int64 [2], bn_row_weights float32 [2] (the BN statistics rows a truncation selects)' : ''}; output: image [${B}, 3, R, R] in [-1, 1]`,
  });
}

export function generatorInfo(model: GeneratorModel, classNames?: string[]): GeneratorInfo {
  return { kind: model.kind, resolution: model.resolution, zDim: model.zDim, numClasses: model.numClasses, usesTruncation: model.usesTruncation, ...(classNames ? { classNames } : {}) };
}

export interface SampleRequest {
  z: Float32Array;
  classVectors: Float32Array;
  n: number;
  truncation: number;
}

/** Where a sampler gets its generator: a model in memory, or a weights file (with the graph cache). */
export type GeneratorSource =
  | { model: GeneratorModel; classNames?: string[] }
  | { weights: string; config?: string; cache: GraphCache; load: () => Promise<{ model: GeneratorModel; classNames?: string[] }> };

/**
 * onnxruntime's memory arena for the generator's sessions: on, off, or 'multi-batch': off when
 * the request that opens a session fits in one batch. An arena pays off only when a session
 * runs again (a batch without it measured ~17 % slower on BigGAN-deep-128), and it holds more
 * than a run needs (a one-batch run without it peaks ~70 MB lower, at the same speed).
 */
export type MemArena = boolean | 'multi-batch';

/**
 * onnxruntime's weight prepacking for the generator's sessions: on, off, or 'many-batches': on
 * only when the request that opens a session takes more than PREPACK_MIN_BATCHES batches.
 * Prepacking BigGAN-deep-128 takes ~75 ms of its ~140 ms session start and saves ~1-2 ms per
 * batch of 2 (~178 ms), so it pays off only after ~40 batches.
 */
export type Prepack = boolean | 'many-batches';
const PREPACK_MIN_BATCHES = 40;

export class Sampler {
  private sessions = new Map<number, Promise<CompiledGraph>>();
  private modelKeyCache: string | undefined;
  private infoCache: GeneratorInfo | undefined;
  private model: GeneratorModel | undefined;
  private classNames: string[] | undefined;

  constructor(
    private readonly source: GeneratorSource,
    private readonly runtime: RuntimeOptions = {},
    private readonly memArena: MemArena = true,
    private readonly prepack: Prepack = true,
  ) {
    if ('model' in source) {
      this.model = source.model;
      this.classNames = source.classNames;
      this.infoCache = generatorInfo(source.model, source.classNames);
    }
  }

  static of(model: GeneratorModel, runtime: RuntimeOptions = {}): Sampler {
    return new Sampler({ model }, runtime);
  }

  private async loaded(): Promise<GeneratorModel> {
    if (!this.model) {
      const src = this.source as Extract<GeneratorSource, { weights: string }>;
      const { model, classNames } = await src.load();
      this.model = model;
      this.classNames = classNames;
    }
    return this.model;
  }

  /** Reads the generator's facts: from the cache when possible, else by loading the weights. */
  async prepare(): Promise<GeneratorInfo> {
    this.infoCache ??= await this.readInfo();
    return this.infoCache;
  }

  /** Generator facts (after prepare() for a weights file; a model in memory answers at once). */
  info(): GeneratorInfo {
    if (!this.infoCache) throw new Error('Sampler.info() before prepare()');
    return this.infoCache;
  }

  /** A weights file's facts (a model in memory has them from the constructor). */
  private async readInfo(): Promise<GeneratorInfo> {
    const src = this.source as Extract<GeneratorSource, { weights: string }>;
    const cached = src.cache.lookupInfo(this.modelKey());
    if (cached) return cached;
    const info = generatorInfo(await this.loaded(), this.classNames);
    src.cache.storeInfo(this.modelKey(), info);
    return info;
  }

  private modelKey(): string {
    const src = this.source as Extract<GeneratorSource, { weights: string }>;
    this.modelKeyCache ??= modelKey(src.weights, src.config, packageVersion());
    return this.modelKeyCache;
  }

  private key(batch: number): string {
    return graphKey(this.modelKey(), batch, ort.env.versions.common);
  }

  private async open(batch: number, batches: number): Promise<CompiledGraph> {
    const runtime: RuntimeOptions = {
      ...this.runtime,
      memArena: this.memArena === 'multi-batch' ? batches > 1 : this.memArena,
      prepacking: this.prepack === 'many-batches' ? batches > PREPACK_MIN_BATCHES : this.prepack,
    };
    if ('model' in this.source) return CompiledGraph.create(await generatorGraph(this.source.model, { batch }), runtime);
    const src = this.source;
    const key = this.key(batch);
    const hit = src.cache.lookup(key);
    if (hit) return CompiledGraph.fromFile(hit.modelPath, hit.io, { ...runtime, optimization: 'disabled' });
    const model = await this.loaded();
    const exported = await generatorGraph(model, { batch });
    const staged = src.cache.staging(key);
    try {
      const session = await CompiledGraph.create(exported, { ...runtime, optimizedModelPath: staged.model, optimizedModelDataFile: staged.dataFile });
      src.cache.commit(key, staged, { io: { inputs: exported.inputs.map(({ name, shape, dtype }) => ({ name, shape, dtype })), outputs: exported.outputs } });
      return session;
    } catch (e) {
      src.cache.discard(staged);
      throw e;
    }
  }

  private session(batch: number, batches: number): Promise<CompiledGraph> {
    let s = this.sessions.get(batch);
    if (!s) {
      s = this.open(batch, batches);
      this.sessions.set(batch, s);
    }
    return s;
  }

  /** Generates n images [n, 3, R, R]; onBatch reports progress after each batch. */
  async generate(req: SampleRequest, batch: number, onBatch?: (done: number) => void): Promise<Float32Array> {
    const { n } = req;
    const B = Math.min(batch, n);
    const info = await this.prepare();
    const R = info.resolution;
    const imgSize = 3 * R * R;
    const out = new Float32Array(n * imgSize);
    const session = await this.session(B, Math.ceil(n / B));
    const zBuf = new Float32Array(B * info.zDim);
    const cBuf = new Float32Array(B * info.numClasses);
    const tBuf = new Float64Array([req.truncation]);
    for (let start = 0; start < n; start += B) {
      const count = Math.min(B, n - start);
      zBuf.fill(0);
      cBuf.fill(0);
      zBuf.set(req.z.subarray(start * info.zDim, (start + count) * info.zDim));
      cBuf.set(req.classVectors.subarray(start * info.numClasses, (start + count) * info.numClasses));
      const feeds: Record<string, Feed> = { z: zBuf, class_vector: cBuf };
      if (info.usesTruncation) feeds.truncation = tBuf;
      const { image } = await session.run(feeds);
      out.set((image as Float32Array).subarray(0, count * imgSize), start * imgSize);
      onBatch?.(start + count);
    }
    return out;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
