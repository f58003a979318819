/**
 * `npm run bench -- queue`: what the job queue costs (no PyTorch). With a private
 * redis-server on loopback and `biggan worker` processes on this machine:
 *  - a trivial job's round trip (add, a worker takes it and answers, the coordinator hears
 *    of it), median of sequential jobs;
 *  - one tiny trial (BigGAN 32, ch 4, a few steps, no evaluation) through the local executor
 *    and through the queue (a waiting `biggan worker`): the difference is the queue's overhead
 *    per trial;
 *  - one evaluation (procedural Inception) as `biggan eval` and as `biggan eval --queue
 *    --shards 1`: the difference is the overhead per evaluation shard (job, the worker's
 *    child process loading the generator and Inception, the shard file, the merge).
 * Medians over the rounds; the runs of each pair alternate.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'bullmq';
import { parseQueueUrl } from '../src/queue/connection.js';
import { EVAL_SHARD_JOB, QUEUE_NAME } from '../src/queue/jobs.js';
import { QueueClient } from '../src/queue/queue-client.js';
import { QueueExecutor } from '../src/queue/queue-executor.js';
import { LocalExecutor } from '../src/sweep/runner.js';
import type { TrialJob } from '../src/sweep/run-trial.js';
import { CLI } from '../test/cli-helpers.js';
import { startRedis } from '../test/redis-server.js';
import { TINY_TRIAL_OPTIONS } from '../test/tiny-sweep.js';
import { watchOtherLoad } from './machine-load.js';
import { markdownTable, median } from './measure.js';

export interface QueueBenchOptions {
  rounds: number;
  quick: boolean;
}

/** A worker gives a lone trial every core; so does the local run here, so the two compare. */
const THREADS = os.availableParallelism?.() ?? os.cpus().length;

function trialJob(dir: string, steps: number): TrialJob {
  const options = { ...TINY_TRIAL_OPTIONS, checkpointEvery: steps };
  return { trial: { id: 'bench', settingId: 'bench', setting: {}, seed: 0 }, dir, options, steps, eval: null, threads: THREADS };
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

export async function benchQueue(outDir: string, opts: QueueBenchOptions): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-bench-queue-'));
  const redis = await startRedis();
  const env = { ...process.env, BIGGAN_CACHE_DIR: path.join(outDir, 'queue-cache') };
  const rows: (string | number)[][] = [];
  let otherCores = NaN;
  try {
    // 1. trivial round trips: an in-process worker that answers at once
    const client = await QueueClient.open(redis.url);
    const echo = new Worker(QUEUE_NAME, async () => ({ file: '', count: 0 }), { connection: parseQueueUrl(redis.url) });
    await echo.waitUntilReady();
    const never = new AbortController().signal;
    const trips: number[] = [];
    const n = opts.quick ? 5 : 50;
    for (let i = 0; i < n + 1; i++) {
      const t0 = performance.now();
      await client.submit(EVAL_SHARD_JOB, {} as never, `bench-echo-${i}`, 'echo', never);
      if (i > 0) trips.push(performance.now() - t0); // the first warms the connections
    }
    await echo.close();
    rows.push(['trivial job round trip', `${median(trips).toFixed(2)} ms`, `median of ${n}`]);

    // 2. a tiny trial, local vs on the queue (one waiting worker process)
    const worker = spawn(process.execPath, [CLI, 'worker', '--queue', redis.url], { env: { ...env, BIGGAN_QUEUE_STALLED_MS: '30000' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let werr = '';
    worker.stderr!.on('data', (d: Buffer) => void (werr += d.toString()));
    while (!/worker: /.test(werr)) await new Promise((r) => setTimeout(r, 50));
    const steps = opts.quick ? 2 : 5;
    const local = new LocalExecutor(1), queued = new QueueExecutor(client, dir);
    const tl: number[] = [], tq: number[] = [];
    const load = watchOtherLoad('sampled');
    // one untimed local trial first: the synthetic data set is prepared into the cache once
    await local.run(trialJob(path.join(dir, 'warm'), 1), never);
    for (let r = 0; r < opts.rounds; r++) {
      const runLocal = async (): Promise<void> => {
        const t0 = performance.now();
        await local.run(trialJob(path.join(dir, `local-${r}`), steps), never);
        tl.push(seconds(t0));
      };
      const runQueued = async (): Promise<void> => {
        const t0 = performance.now();
        await queued.run({ ...trialJob(path.join(dir, `queued-${r}`), steps), trial: { id: `bench-${r}`, settingId: 'bench', setting: {}, seed: 0 } }, never);
        tq.push(seconds(t0));
      };
      // alternate which goes first, so neither always runs on a warmer machine
      for (const f of r % 2 === 0 ? [runLocal, runQueued] : [runQueued, runLocal]) await f();
    }
    rows.push([`tiny trial (${steps} steps), local executor`, `${median(tl).toFixed(2)} s`, '']);
    rows.push([`tiny trial (${steps} steps), through the queue`, `${median(tq).toFixed(2)} s`, `overhead ${(median(tq) - median(tl)).toFixed(2)} s per trial`]);

    // 3. an evaluation, local vs one shard on the queue
    const ckpt = path.join(dir, 'local-0', 'checkpoint.safetensors');
    const evalArgs = ['eval', '--weights', ckpt, '--inception', 'procedural', '-n', opts.quick ? '8' : '32', '--batch', '8', '--metrics', 'is', '--splits', '1'];
    const el: number[] = [], eq: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const pair = [[evalArgs, el], [[...evalArgs, '--queue', redis.url, '--shards', '1', '--shard-dir', path.join(dir, 'shards')], eq]] as const;
      for (const [args, into] of r % 2 === 0 ? pair : [...pair].reverse()) {
        const t0 = performance.now();
        const p = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`bench queue: biggan ${args.join(' ')} failed: ${p.stderr}`);
        into.push(seconds(t0));
      }
    }
    rows.push(['`biggan eval` (procedural Inception), local', `${median(el).toFixed(2)} s`, '']);
    rows.push(['`biggan eval --queue --shards 1`', `${median(eq).toFixed(2)} s`, `overhead ${(median(eq) - median(el)).toFixed(2)} s per shard`]);
    otherCores = load.stop();
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await client.close();
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return (
    `Job queue (BullMQ on a private redis-server, loopback; ${opts.rounds} round${opts.rounds > 1 ? 's' : ''}, medians; trials with ${THREADS} threads ` +
    `on both sides; other processes used ${otherCores.toFixed(2)} cores on average meanwhile):\n\n${markdownTable(['what', 'time', ''], rows)}`
  );
}
