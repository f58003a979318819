/**
 * Inception features of uint8 images on onnxruntime: preprocessing (either
 * pipeline, in JS) then the network, whose weights are baked into the ONNX model
 * as initializers so onnxruntime folds every BatchNorm into its conv. Graphs
 * have static shapes, so one session is compiled per batch size and cached;
 * full batches share one session and a final partial batch gets its own.
 */
import { UserError } from '../../errors.js';
import { Graph, Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { exportOnnx } from '../../engine/onnx-export.js';
import { CompiledGraph, RuntimeOptions } from '../../engine/runtime.js';
import type { NdArray } from '../../io/ndarray.js';
import { shapeToString } from '../../io/ndarray.js';
import { INCEPTION_BLOCK_DIMS, INCEPTION_CLASSES, INCEPTION_INPUT_SIZE, INCEPTION_POOL3_DIM, InceptionV3 } from './inception-v3.js';
import { InceptionWeightsSource, loadInceptionV3 } from './inception-weights.js';
import { DEFAULT_INCEPTION_PIPELINE, InceptionPipeline, preprocessForInception } from './preprocess.js';

export interface InceptionExtractorOptions extends Pick<RuntimeOptions, 'threads' | 'providers'> {
  /** Input pipeline; default 'pytorch-fid'. */
  pipeline?: InceptionPipeline;
  /** Images per network run (default 16). */
  batchSize?: number;
}

/** What to compute besides pool3. */
export interface InceptionRequest {
  /** torch-fidelity 'logits' (with fc bias) and 'logits_unbiased' (IS input). */
  logits?: boolean;
  /** Spatial means of blocks 0-2 (pytorch-fid --dims 64 / 192 / 768). */
  blocks?: boolean;
}

export interface InceptionFeatures {
  /** Which preprocessing produced these (their values differ between pipelines). */
  pipeline: InceptionPipeline;
  count: number;
  /** [count, 2048] */
  pool3: Float32Array;
  /** [count, 1008] with fc.bias */
  logits?: Float32Array;
  /** [count, 1008] without fc.bias */
  logitsUnbiased?: Float32Array;
  /** [count, 64], [count, 192], [count, 768] */
  blockMeans?: [Float32Array, Float32Array, Float32Array];
}

const OUT = { pool3: 'pool3', logits: 'logits', logitsUnbiased: 'logits_unbiased', blocks: ['block0_mean', 'block1_mean', 'block2_mean'] } as const;

type OutputName = (typeof OUT)['pool3' | 'logits' | 'logitsUnbiased'] | (typeof OUT.blocks)[number];

/**
 * The network as an ONNX model for a fixed batch size; input 'x' [n, 3, 299, 299].
 * Only the requested outputs (default all) are in the graph, so computing pool3
 * alone skips the block means and the classifier.
 */
export function buildInceptionModel(model: InceptionV3, batch: number, outputs?: readonly string[]): ReturnType<typeof exportOnnx> {
  const g = new Graph();
  const x = g.input('x', [batch, 3, INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE]);
  const y = model.forward(x);
  const spatialMean = (t: Tensor): Tensor => op.reduceMean(t, [2, 3]);
  const all: Record<OutputName, () => Tensor> = {
    [OUT.pool3]: () => y.pool3,
    [OUT.logits]: () => y.logits,
    [OUT.logitsUnbiased]: () => y.logitsUnbiased,
    [OUT.blocks[0]]: () => spatialMean(y.blocks[0]),
    [OUT.blocks[1]]: () => spatialMean(y.blocks[1]),
    [OUT.blocks[2]]: () => spatialMean(y.blocks[2]),
  };
  const names = outputs ?? (Object.keys(all) as OutputName[]);
  const chosen: Record<string, Tensor> = {};
  for (const name of names) {
    if (!(name in all)) throw new Error(`buildInceptionModel: unknown output ${name}`);
    chosen[name] = all[name as OutputName]();
  }
  return exportOnnx(g, { outputs: chosen, paramInputs: 'none', graphName: 'inception_v3_fid' });
}

export class InceptionFeatureExtractor {
  readonly pipeline: InceptionPipeline;
  readonly batchSize: number;
  /**
   * The network-input buffer, kept between calls: fresh pages for a 16-image batch
   * (17 MB) cost ~10 ms, 2-3 % of the batch. A call takes it (null while in use, so
   * a concurrent call allocates its own) and puts it back when done.
   */
  private spareInput: Float32Array | null = null;
  constructor(
    readonly model: InceptionV3,
    private readonly opts: InceptionExtractorOptions = {},
    /** Compiled sessions by batch size and outputs; shared with extractors made by withPipeline. */
    private readonly sessions = new Map<string, Promise<CompiledGraph>>(),
  ) {
    this.pipeline = opts.pipeline ?? DEFAULT_INCEPTION_PIPELINE;
    this.batchSize = opts.batchSize ?? 16;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new UserError(`Inception batch size must be a positive integer, got ${opts.batchSize}`);
  }

  /** An extractor over weights from a file ($BIGGAN_INCEPTION when none given) or the procedural stand-in. */
  static load(source: InceptionWeightsSource, opts: InceptionExtractorOptions = {}): InceptionFeatureExtractor {
    return new InceptionFeatureExtractor(loadInceptionV3(source), opts);
  }

  /** The same network and compiled sessions behind the other preprocessing pipeline. */
  withPipeline(pipeline: InceptionPipeline): InceptionFeatureExtractor {
    return new InceptionFeatureExtractor(this.model, { ...this.opts, pipeline }, this.sessions);
  }

  /** The compiled network for `batch` images and the given outputs (default all), compiled on first use, then cached. */
  session(batch: number, outputs?: readonly string[]): Promise<CompiledGraph> {
    const key = `${batch}:${outputs?.join(',') ?? '*'}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = CompiledGraph.create(buildInceptionModel(this.model, batch, outputs), { threads: this.opts.threads, providers: this.opts.providers });
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key)); // a failed compile is not cached
    }
    return s;
  }

  /** Features of uint8 images [N, 3, H, W] (any H, W), preprocessed by this extractor's pipeline. */
  async extract(images: NdArray, want: InceptionRequest = {}): Promise<InceptionFeatures> {
    if (images.dtype !== 'uint8' || images.shape.length !== 4 || images.shape[1] !== 3) {
      throw new UserError(`Inception features need uint8 images [N, 3, H, W], got ${images.dtype} ${shapeToString(images.shape)}`);
    }
    const [n, c, h, w] = images.shape as [number, number, number, number];
    const bytes = images.data as Uint8Array;
    const per = c * h * w;
    const netPer = 3 * INCEPTION_INPUT_SIZE * INCEPTION_INPUT_SIZE;
    const size = Math.min(this.batchSize, n) * netPer;
    const buffer = this.spareInput && this.spareInput.length >= size ? this.spareInput : new Float32Array(size);
    this.spareInput = null;
    try {
      return await this.runBatches(n, want, (start, count) =>
        preprocessForInception(this.pipeline, bytes.subarray(start * per, (start + count) * per), [count, c, h, w], buffer.subarray(0, count * netPer)),
      );
    } finally {
      this.spareInput = buffer;
    }
  }

  /** Features of already-preprocessed network input [n, 3, 299, 299] (no resize, no normalisation). */
  async extractPreprocessed(x: Float32Array, n: number, want: InceptionRequest = {}): Promise<InceptionFeatures> {
    const per = 3 * INCEPTION_INPUT_SIZE * INCEPTION_INPUT_SIZE;
    if (x.length !== n * per) throw new Error(`extractPreprocessed: ${x.length} values for ${n} images of [3, 299, 299]`);
    return this.runBatches(n, want, (start, count) => x.subarray(start * per, (start + count) * per));
  }

  private async runBatches(n: number, want: InceptionRequest, input: (start: number, count: number) => Float32Array): Promise<InceptionFeatures> {
    const res: InceptionFeatures = { pipeline: this.pipeline, count: n, pool3: new Float32Array(n * INCEPTION_POOL3_DIM) };
    const fetch: string[] = [OUT.pool3];
    if (want.logits) {
      res.logits = new Float32Array(n * INCEPTION_CLASSES);
      res.logitsUnbiased = new Float32Array(n * INCEPTION_CLASSES);
      fetch.push(OUT.logits, OUT.logitsUnbiased);
    }
    if (want.blocks) {
      res.blockMeans = INCEPTION_BLOCK_DIMS.map((d) => new Float32Array(n * d)) as [Float32Array, Float32Array, Float32Array];
      fetch.push(...OUT.blocks);
    }
    for (let start = 0; start < n; start += this.batchSize) {
      const count = Math.min(this.batchSize, n - start);
      const session = await this.session(count, fetch);
      // onnxruntime-node runs on the JS thread (deferred, then blocking), so there is
      // nothing to overlap: each batch is prepared, then run
      const r = await session.run({ x: input(start, count) }, fetch);
      res.pool3.set(r[OUT.pool3] as Float32Array, start * INCEPTION_POOL3_DIM);
      if (res.logits && res.logitsUnbiased) {
        res.logits.set(r[OUT.logits] as Float32Array, start * INCEPTION_CLASSES);
        res.logitsUnbiased.set(r[OUT.logitsUnbiased] as Float32Array, start * INCEPTION_CLASSES);
      }
      res.blockMeans?.forEach((arr, b) => arr.set(r[OUT.blocks[b]] as Float32Array, start * INCEPTION_BLOCK_DIMS[b]));
    }
    return res;
  }

  /** Frees every compiled session (also those of extractors sharing them through withPipeline). */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).release();
  }
}
