/**
 * Runs a generator over many latents in fixed-size batches. One compiled graph per
 * batch size (weights baked in as initializers so onnxruntime folds spectral norm
 * once); a short last batch is padded and the padding dropped.
 */
import { Graph } from '../engine/graph.js';
import { exportOnnx, ExportedModel } from '../engine/onnx-export.js';
import { CompiledGraph, Feed, RuntimeOptions } from '../engine/runtime.js';
import { evalContext } from '../nn/module.js';
import { GeneratorModel } from '../models/interfaces.js';

export interface GeneratorGraphOptions {
  batch: number;
  /** Feed weights at run time instead of baking them in (tests, training-time sampling). */
  paramInputs?: boolean;
}

/** The generator as a standalone graph: inputs z, class_vector (, truncation); output image. */
export function generatorGraph(model: GeneratorModel, opts: GeneratorGraphOptions): ExportedModel {
  const g = new Graph();
  const B = opts.batch;
  const z = g.input('z', [B, model.zDim]);
  const classVector = g.input('class_vector', [B, model.numClasses]);
  const truncation = model.usesTruncation ? g.input('truncation', [1], 'float64') : undefined;
  const image = model.forward(evalContext(), { z, classes: { vector: classVector }, truncation });
  return exportOnnx(g, {
    outputs: { image },
    paramInputs: opts.paramInputs ? 'all' : 'none',
    graphName: `${model.kind}-${model.resolution}-generator`,
    docString: `BigGAN generator (${model.kind}, ${model.resolution}x${model.resolution}); inputs: z [${B}, ${model.zDim}], class_vector [${B}, ${model.numClasses}]${truncation ? ', truncation float64 [1] in (0, 1]' : ''}; output: image [${B}, 3, R, R] in [-1, 1]`,
  });
}

export interface SampleRequest {
  z: Float32Array;
  classVectors: Float32Array;
  n: number;
  truncation: number;
}

export class Sampler {
  private sessions = new Map<number, Promise<CompiledGraph>>();
  constructor(
    readonly model: GeneratorModel,
    private readonly runtime: RuntimeOptions = {},
  ) {}

  private session(batch: number): Promise<CompiledGraph> {
    let s = this.sessions.get(batch);
    if (!s) {
      s = CompiledGraph.create(generatorGraph(this.model, { batch }), this.runtime);
      this.sessions.set(batch, s);
    }
    return s;
  }

  /** Generates n images [n, 3, R, R]; onBatch reports progress after each batch. */
  async generate(req: SampleRequest, batch: number, onBatch?: (done: number) => void): Promise<Float32Array> {
    const { model } = this;
    const { n } = req;
    const R = model.resolution;
    const imgSize = 3 * R * R;
    const out = new Float32Array(n * imgSize);
    const B = Math.min(batch, n);
    const session = await this.session(B);
    const zBuf = new Float32Array(B * model.zDim);
    const cBuf = new Float32Array(B * model.numClasses);
    const tBuf = new Float64Array([req.truncation]);
    for (let start = 0; start < n; start += B) {
      const count = Math.min(B, n - start);
      zBuf.fill(0);
      cBuf.fill(0);
      zBuf.set(req.z.subarray(start * model.zDim, (start + count) * model.zDim));
      cBuf.set(req.classVectors.subarray(start * model.numClasses, (start + count) * model.numClasses));
      const feeds: Record<string, Feed> = { z: zBuf, class_vector: cBuf };
      if (model.usesTruncation) feeds.truncation = tBuf;
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
