/**
 * `biggan eval --weights ... --queue URL --shards S`: the generation and Inception passes as
 * S queue jobs (eval/generation-shards.ts), whose files, written to a folder every worker
 * shares, merge into what one process would have collected; the metrics are then computed
 * here as in a local run.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CollectedFeatures } from '../eval/feature-collector.js';
import type { GenerationPlan } from '../eval/generated-images.js';
import { type EvalShardJob, type EvalShardOutcome, mergeEvalShards, shardRanges } from '../eval/generation-shards.js';
import { EVAL_SHARD_JOB } from './jobs.js';
import { QueueClient } from './queue-client.js';

export interface QueueEvalRequest {
  url: string;
  shards: number;
  /** Folder for the shards' files, on shared storage; default eval-shards-<key> here, removed after the merge. */
  shardDir?: string;
  weights: string;
  config?: string;
  /** Inception weights file or 'procedural'. */
  inception: string;
  pipeline: string;
  gen: GenerationPlan;
  keep: EvalShardJob['keep'];
  onProgress?: (done: number) => void;
}

export async function collectOnQueue(req: QueueEvalRequest): Promise<CollectedFeatures> {
  const ranges = shardRanges(req.gen.n, req.gen.batch, req.shards);
  const abs = (f: string): string => (f === 'procedural' ? f : path.resolve(f));
  const base = { weights: abs(req.weights), ...(req.config ? { config: abs(req.config) } : {}), inception: abs(req.inception), pipeline: req.pipeline, keep: req.keep };
  // the evaluation's identity: the same request run again attaches to its shards still on the queue
  const key = createHash('sha256').update(JSON.stringify({ ...base, gen: req.gen, shards: req.shards, dir: req.shardDir && path.resolve(req.shardDir) })).digest('hex').slice(0, 16);
  const dir = path.resolve(req.shardDir ?? `eval-shards-${key}`);
  const ownDir = req.shardDir === undefined && !fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });
  const files = ranges.map((_, k) => path.join(dir, `shard-${String(k).padStart(4, '0')}-of-${req.shards}.npz`));
  const client = await QueueClient.open(req.url);
  let done = 0;
  try {
    const never = new AbortController().signal;
    await Promise.all(ranges.map(async (range, k) => {
      const job: EvalShardJob = { ...base, gen: { ...req.gen, range }, out: files[k], threads: 1 };
      const r = await client.submit<EvalShardOutcome>(EVAL_SHARD_JOB, job, `eval-${key}-${k}`, `evaluation shard ${k + 1} of ${req.shards}`, never);
      if (r.status === 'done') req.onProgress?.((done += r.result.count));
    }));
    return mergeEvalShards(files, req.keep);
  } finally {
    await client.close();
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    else for (const f of files) fs.rmSync(f, { force: true });
  }
}
