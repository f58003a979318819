/**
 * Runs exported graphs on onnxruntime-node. Settings follow measurements in
 * ENGINE-NOTES: memory patterns off (the default doubled the second run's time),
 * optimized models optionally cached on disk, threads configurable.
 */
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { OPSET, type ExportedModel } from './onnx-export.js';
import { lowerToBlockedConvs, NCHWC_DOMAIN } from './blocked-convs.js';
import type { DType } from './graph.js';
import { numel } from '../io/ndarray.js';
import { UserError } from '../errors.js';

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
  /**
   * With optimizedModelPath: put the saved model's initializers in this file (a name in the
   * same folder) instead of inside the protobuf. Sessions then map the weights instead of
   * parsing them out of a 200 MB message: BigGAN-deep-128 starts in 0.13 s instead of 0.38 s.
   */
  optimizedModelDataFile?: string;
  /**
   * onnxruntime's CPU memory arena (default on, or BIGGAN_MEM_ARENA=0 for off). Off returns
   * memory between runs: much lower peak RSS for big training graphs, 10-25 % slower.
   */
  memArena?: boolean;
  /**
   * Whether onnxruntime's intra-op threads spin after a run waiting for more work (its default).
   * Off for chains of many short-lived sessions (SegmentedGraph): every session has its own
   * pool, and on 2 cores the pools still spinning starved the next session's threads.
   */
  spinning?: boolean;
  /**
   * onnxruntime's weight prepacking when the session opens (default on). Off saves ~75 ms of
   * BigGAN-deep-128's ~140 ms session start and costs ~1 % per run (the weights are packed
   * on the fly): a win for a one-shot process that runs a few batches.
   */
  prepacking?: boolean;
  /**
   * Convolutions whose weights are fed or computed (training graphs) run on onnxruntime's
   * blocked NCHWc kernels (blocked-convs.ts; default on with the CPU provider, or
   * BIGGAN_BLOCKED_CONVS=0 for off). Graphs with constant weights get them from onnxruntime.
   */
  blockedConvs?: boolean;
}

export function defaultThreads(): number | undefined {
  const env = process.env.BIGGAN_THREADS;
  if (!env) return undefined;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BIGGAN_THREADS must be a positive integer, got ${env}`);
  return n;
}

/** Execution providers from BIGGAN_PROVIDERS (e.g. "cuda,cpu" where this onnxruntime build has CUDA). */
export function defaultProviders(): string[] {
  const env = process.env.BIGGAN_PROVIDERS;
  return env ? env.split(',').map((s) => s.trim()).filter(Boolean) : ['cpu'];
}

function sessionOptions(opts: RuntimeOptions): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? defaultThreads();
  // onnxruntime's session config entries ("session.<key>")
  const session: Record<string, unknown> = {};
  if (opts.optimizedModelPath && opts.optimizedModelDataFile) {
    Object.assign(session, { optimized_model_external_initializers_file_name: opts.optimizedModelDataFile, optimized_model_external_initializers_min_size_in_bytes: '1024' });
  }
  if (opts.spinning === false) session.intra_op = { allow_spinning: '0' };
  if (opts.prepacking === false) session.disable_prepacking = '1';
  return {
    executionProviders: opts.providers ?? defaultProviders(),
    graphOptimizationLevel: opts.optimization ?? 'all',
    enableMemPattern: false,
    enableCpuMemArena: opts.memArena ?? process.env.BIGGAN_MEM_ARENA !== '0',
    executionMode: 'sequential',
    // warnings (e.g. "optimized model is CPU-specific", which we account for) stay off the CLI's stderr
    logSeverityLevel: 4,
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
    ...(Object.keys(session).length ? { extra: { session } } : {}),
    // a developer's view of where the time goes: onnxruntime's per-node profile, one JSON file per session
    // (summarised by bench/ort-profile.ts)
    ...(process.env.BIGGAN_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.BIGGAN_ORT_PROFILE } : {}),
  };
}

// Failures surface as exceptions (which we turn into messages); the native logger's copies
// would only add raw lines to the CLI's stderr.
ort.env.logLevel = 'fatal';

async function createSession(model: Uint8Array | string, opts: RuntimeOptions): Promise<ort.InferenceSession> {
  const options = sessionOptions(opts);
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (e) {
    const providers = (options.executionProviders ?? []) as string[];
    if (providers.some((p) => p !== 'cpu') && /provider|Failed to load library/i.test(String(e))) {
      throw new UserError(`execution provider(s) ${providers.join(', ')} not available in this onnxruntime-node build (set BIGGAN_PROVIDERS=cpu): ${String((e as Error).message ?? e).split('\n')[0].slice(0, 200)}`);
    }
    throw e;
  }
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = { float32: 'float32', float64: 'float64', int64: 'int64', bool: 'bool' };

export class CompiledGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly model: Pick<ExportedModel, 'inputs' | 'outputs'>,
  ) {}

  static async create(model: ExportedModel, opts: RuntimeOptions = {}): Promise<CompiledGraph> {
    let bytes = model.bytes;
    const cpuOnly = (opts.providers ?? defaultProviders()).every((p) => p === 'cpu');
    if (cpuOnly && (opts.blockedConvs ?? process.env.BIGGAN_BLOCKED_CONVS !== '0') && model.inputs.some((i) => i.param)) {
      bytes = lowerToBlockedConvs(bytes, await nchwcBlockSize()) ?? bytes;
    }
    const session = await createSession(bytes, opts);
    return new CompiledGraph(session, { inputs: model.inputs, outputs: model.outputs });
  }

  /** Loads a model file previously saved (e.g. an optimized model), with its declared inputs/outputs. */
  static async fromFile(path: string, io: Pick<ExportedModel, 'inputs' | 'outputs'>, opts: RuntimeOptions = {}): Promise<CompiledGraph> {
    const session = await createSession(path, opts);
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

let blockSize: Promise<number> | undefined;

/**
 * The channel block of onnxruntime's NCHWc kernels on this CPU (16 with AVX-512, 8 with AVX2),
 * or 0 where this build has none: found by reordering a known [1, 32, 1, 2] tensor, where
 * channel 0's second pixel lands at index `block` of the blocked layout (index 1 unblocked).
 */
export function nchwcBlockSize(): Promise<number> {
  blockSize ??= (async () => {
    const { onnx } = onnxProto;
    const dims = [1, 32, 1, 2];
    // (onnx-export.ts's valueInfo stays private: exporting it would put onnx-proto's types in the published declarations)
    const info = (name: string): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: OPSET }, { domain: NCHWC_DOMAIN, version: 1 }],
      graph: {
        name: 'nchwc_probe',
        node: [{ opType: 'ReorderInput', domain: NCHWC_DOMAIN, input: ['x'], output: ['y'] }],
        input: [info('x')],
        output: [info('y')],
      },
    }).finish();
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
      const x = Float32Array.from({ length: 64 }, (_, i) => i);
      const y = (await session.run({ x: new ort.Tensor('float32', x, dims) })).y!.data as Float32Array;
      await session.release();
      const block = y.indexOf(1);
      return block > 1 && 32 % block === 0 ? block : 0;
    } catch {
      return 0;
    }
  })();
  return blockSize;
}
