/**
 * A generator's evaluation split into shards that run anywhere (queue workers): shard k
 * generates images [from, to) of the n exactly as the whole run would (generated-images.ts
 * draws the streams from image 0), featurises them and writes its part to a file on storage
 * the coordinator shares: the float64 statistics accumulator and, when the metrics need
 * them, the logits, pool3 rows and class ids. Shards cover whole batches, so every generator
 * and Inception run sees the same inputs as in one process, and every shard centres its sums
 * on image 0's features (as one process does), so the merge only adds double-double sums:
 * the merged statistics are the single-process ones up to the rounding of hi + lo (~1e-32
 * relative), and the rows are the same bytes.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { type Matrix, matrix } from '../linalg/matrix.js';
import type { NdArray } from '../io/ndarray.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { FeatureStats } from '../metrics/feature-stats.js';
import { INCEPTION_CLASSES, INCEPTION_POOL3_DIM } from '../metrics/inception/inception-v3.js';
import { parseInceptionPipeline } from '../metrics/inception/preprocess.js';
import { loadGenerator } from '../models/checkpoint.js';
import { Sampler } from '../sample/sampler.js';
import { type CollectedFeatures, collectFeatures } from './feature-collector.js';
import { type GeneratedBatch, type GenerationPlan, generatedBatches } from './generated-images.js';
import { chooseInception, loadExtractor } from './inception-source.js';

/** One shard's work (plain JSON: it travels through the queue). Paths are absolute, on shared storage. */
export interface EvalShardJob {
  weights: string;
  config?: string;
  /** Inception weights file, or 'procedural'. */
  inception: string;
  pipeline: string;
  gen: GenerationPlan & { range: [number, number] };
  /** What to keep besides the statistics. */
  keep: { logits: boolean; features: boolean; classes: boolean };
  /** Where the shard's arrays go (.npz). */
  out: string;
  threads: number;
}

export interface EvalShardOutcome {
  file: string;
  count: number;
}

/** Image ranges of `shards` shards of n images in batches of `batch` (whole batches each; sizes differ by at most one batch). */
export function shardRanges(n: number, batch: number, shards: number): Array<[number, number]> {
  const B = Math.min(batch, n);
  const batches = Math.ceil(n / B);
  if (shards > batches) throw new UserError(`--shards ${shards} is more than the ${batches} generator batches of ${B} images (-n ${n}, --batch ${batch}): a shard is at least one batch`);
  const out: Array<[number, number]> = [];
  for (let k = 0; k < shards; k++) {
    const a = Math.floor((k * batches) / shards), b = Math.floor(((k + 1) * batches) / shards);
    out.push([a * B, Math.min(b * B, n)]);
  }
  return out;
}

async function* untilAborted(batches: AsyncGenerator<GeneratedBatch>, signal: AbortSignal): AsyncGenerator<GeneratedBatch> {
  for await (const b of batches) {
    if (signal.aborted) throw new Error('evaluation shard stopped');
    yield b;
  }
}

/** Runs one shard (in a worker's child process) and writes its file. */
export async function runEvalShard(job: EvalShardJob, signal: AbortSignal): Promise<EvalShardOutcome> {
  const { model } = loadGenerator(job.weights, job.config);
  const extractor = loadExtractor(chooseInception(job.inception), { pipeline: parseInceptionPipeline(job.pipeline), batchSize: job.gen.batch, threads: job.threads });
  const sampler = Sampler.of(model, { threads: job.threads });
  try {
    const [from] = job.gen.range;
    let shift: Float64Array | undefined;
    if (from > 0) {
      // one process centres its sums on image 0's features; so does every shard (its first batch again)
      const first = await collectFeatures(extractor, generatedBatches(model, sampler, { ...job.gen, range: [0, Math.min(job.gen.batch, job.gen.n)] }), { features: true });
      shift = Float64Array.from(first.features!.data.subarray(0, INCEPTION_POOL3_DIM));
    }
    const c = await collectFeatures(extractor, untilAborted(generatedBatches(model, sampler, job.gen), signal), { ...job.keep, shift });
    const arrays: Record<string, NdArray> = { ...c.stats.toArrays() };
    const rows = (m: Matrix): NdArray => ({ dtype: 'float32', shape: [m.rows, m.cols], data: Float32Array.from(m.data) });
    if (c.logits) arrays.logits = rows(c.logits);
    if (c.features) arrays.features = rows(c.features);
    if (c.classIds) arrays.class_ids = { dtype: 'int32', shape: [c.count], data: c.classIds };
    writeNpz(job.out, arrays);
    return { file: job.out, count: c.count };
  } finally {
    await sampler.release();
    await extractor.release();
  }
}

function shardRows(arrays: Map<string, NdArray>, key: string, count: number, cols: number, file: string): Float32Array {
  const a = arrays.get(key);
  if (!a || !(a.data instanceof Float32Array) || a.shape.length !== 2 || a.shape[0] !== count || a.shape[1] !== cols) {
    throw new UserError(`${file}: '${key}' must be float32 [${count}, ${cols}] (a damaged evaluation shard)`);
  }
  return a.data;
}

/** Merges shard files, in order, into what one process would have collected. */
export function mergeEvalShards(files: readonly string[], keep: EvalShardJob['keep']): CollectedFeatures {
  const parts = files.map((file) => {
    if (!fs.existsSync(file)) throw new UserError(`evaluation shard ${file} is missing (is the shard folder on storage every worker shares?)`);
    const arrays = readNpz(file);
    const stats = FeatureStats.fromArrays(arrays, file);
    const n = stats.count;
    const classes = arrays.get('class_ids');
    if (keep.classes && (!classes || !(classes.data instanceof Int32Array) || classes.data.length !== n)) throw new UserError(`${file}: 'class_ids' must be int32 [${n}] (a damaged evaluation shard)`);
    return {
      stats,
      logits: keep.logits ? shardRows(arrays, 'logits', n, INCEPTION_CLASSES, file) : undefined,
      features: keep.features ? shardRows(arrays, 'features', n, INCEPTION_POOL3_DIM, file) : undefined,
      classIds: keep.classes ? (classes!.data as Int32Array) : undefined,
    };
  });
  const stats = new FeatureStats(INCEPTION_POOL3_DIM);
  for (const p of parts) stats.merge(p.stats);
  const count = stats.count;
  const out: CollectedFeatures = { count, stats };
  const concat = (cols: number, pick: (p: (typeof parts)[number]) => Float32Array | undefined): Matrix => {
    const m = matrix(count, cols);
    let o = 0;
    for (const p of parts) {
      const d = pick(p)!;
      m.data.set(d, o);
      o += d.length;
    }
    return m;
  };
  if (keep.logits) out.logits = concat(INCEPTION_CLASSES, (p) => p.logits);
  if (keep.features) out.features = concat(INCEPTION_POOL3_DIM, (p) => p.features);
  if (keep.classes) {
    out.classIds = new Int32Array(count);
    let o = 0;
    for (const p of parts) {
      out.classIds.set(p.classIds!, o);
      o += p.classIds!.length;
    }
  }
  return out;
}
