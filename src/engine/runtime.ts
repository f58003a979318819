/**
 * Runs exported graphs on onnxruntime-node. Settings follow measurements in
 * ENGINE-NOTES: memory patterns off (the default doubled the second run's time),
 * optimized models optionally cached on disk, threads configurable.
 */
import * as ort from 'onnxruntime-node';
import type { ExportedModel } from './onnx-export.js';
import type { DType } from './graph.js';
import { numel } from '../io/ndarray.js';

export type Feed = Float32Array | Float64Array | BigInt64Array | Uint8Array;
export type Fetched = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export interface RuntimeOptions {
  /** Intra-op threads (default: BIGGAN_THREADS or onnxruntime's choice). */
  threads?: number;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers?: string[];
  /** Where to save the optimized model for faster later starts (tied to this CPU). */
  optimizedModelPath?: string;
}

export function defaultThreads(): number | undefined {
  const env = process.env.BIGGAN_THREADS;
  if (!env) return undefined;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BIGGAN_THREADS must be a positive integer, got ${env}`);
  return n;
}

function sessionOptions(opts: RuntimeOptions): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? defaultThreads();
  return {
    executionProviders: opts.providers ?? ['cpu'],
    graphOptimizationLevel: opts.optimization ?? 'all',
    enableMemPattern: false,
    enableCpuMemArena: true,
    executionMode: 'sequential',
    // warnings (e.g. "optimized model is CPU-specific", which we account for) stay off the CLI's stderr
    logSeverityLevel: 3,
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
  };
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = { float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };

export class CompiledGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly model: Pick<ExportedModel, 'inputs' | 'outputs'>,
  ) {}

  static async create(model: ExportedModel, opts: RuntimeOptions = {}): Promise<CompiledGraph> {
    const session = await ort.InferenceSession.create(model.bytes, sessionOptions(opts));
    return new CompiledGraph(session, { inputs: model.inputs, outputs: model.outputs });
  }

  /** Loads a model file previously saved (e.g. an optimized model), with its declared inputs/outputs. */
  static async fromFile(path: string, io: Pick<ExportedModel, 'inputs' | 'outputs'>, opts: RuntimeOptions = {}): Promise<CompiledGraph> {
    const session = await ort.InferenceSession.create(path, sessionOptions(opts));
    return new CompiledGraph(session, io);
  }

  /** Runs the graph. Every declared input must be fed; returns the requested outputs (default all). */
  async run(feeds: Record<string, Feed>, fetch?: string[]): Promise<Record<string, Fetched>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const inp of this.model.inputs) {
      const data = feeds[inp.name];
      if (!data) throw new Error(`run: input ${inp.name} not fed`);
      if (data.length !== numel(inp.shape)) {
        throw new Error(`run: input ${inp.name} has ${data.length} values, expected shape [${inp.shape}] (${numel(inp.shape)})`);
      }
      const typed = inp.dtype === 'bool' ? new Uint8Array(data as Uint8Array) : data;
      ortFeeds[inp.name] = new ort.Tensor(ORT_TYPE[inp.dtype], typed as never, inp.shape);
    }
    const names = fetch ?? this.model.outputs.map((o) => o.name);
    const result = await this.session.run(ortFeeds, names);
    const out: Record<string, Fetched> = {};
    for (const n of names) out[n] = result[n].data as Fetched;
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
