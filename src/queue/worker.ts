/**
 * `biggan worker`: takes jobs from the queue, `concurrency` at once, each in its own child
 * process with cores / concurrency onnxruntime threads: sweep trials (trial-process.ts, as
 * the local executor runs them) and evaluation shards (eval-shard-process.ts).
 *
 * Faults: a job's child that crashes fails that attempt, and BullMQ retries it with backoff;
 * a worker killed outright stops renewing its jobs' locks, and after BIGGAN_QUEUE_STALLED_MS
 * another worker's stalled check puts them back on the queue, where a worker resumes the
 * trial from its last checkpoint (its children see the IPC channel close and checkpoint
 * and stop). A user error (bad options, a broken checkpoint) fails the job at once: retrying
 * cannot fix it. Stopping a worker (SIGINT / SIGTERM) checkpoints its trials and puts them
 * back on the queue for others.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { UserError } from '../errors.js';
import type { EvalShardJob, EvalShardOutcome } from '../eval/generation-shards.js';
import { childErrorName, runInChild } from '../process/child-job.js';
import type { TrialJob, TrialOutcome } from '../sweep/run-trial.js';
import { trialProcessScript } from '../sweep/runner.js';
import { connected, parseQueueUrl, redactedUrl } from './connection.js';
import { EVAL_SHARD_JOB, QUEUE_NAME, TRIAL_JOB, USER_ERROR_PREFIX, queueSettings, type QueueJobData, type QueueJobResult } from './jobs.js';

export interface WorkerOptions {
  concurrency: number;
  /** Abort: running jobs checkpoint and go back on the queue, then the worker closes. */
  signal: AbortSignal;
  onNote?: (line: string) => void;
}

function evalShardScript(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'eval-shard-process.js');
}

/** Runs until the signal aborts. */
export async function runWorker(url: string, opts: WorkerOptions): Promise<void> {
  const connection = parseQueueUrl(url);
  const s = queueSettings();
  const note = opts.onNote ?? (() => {});
  const threads = Math.max(1, Math.floor((os.availableParallelism?.() ?? os.cpus().length) / opts.concurrency));
  const stopping = new AbortController();

  const work = async (job: Job<QueueJobData, QueueJobResult>, token?: string): Promise<QueueJobResult> => {
    const attempt = `job ${job.id}, attempt ${job.attemptsMade + 1}`;
    try {
      let what: string;
      let out: QueueJobResult;
      if (job.name === TRIAL_JOB) {
        const data = { ...(job.data as TrialJob), threads };
        what = `trial ${data.trial.id}`;
        note(`${what}: running (${attempt})`);
        out = await runInChild<TrialOutcome>(trialProcessScript(), data, what, stopping.signal, (line) => note(`${what}: ${line}`));
        if (out.status === 'interrupted') throw new Error(`${what}: stopped at step ${out.step}`);
      } else if (job.name === EVAL_SHARD_JOB) {
        const data = { ...(job.data as EvalShardJob), threads };
        what = `evaluation shard [${data.gen.range.join(', ')})`;
        note(`${what}: running (${attempt})`);
        out = await runInChild<EvalShardOutcome>(evalShardScript(), data, what, stopping.signal);
      } else {
        throw new UnrecoverableError(`unknown job kind '${job.name}' (a newer biggan-ts added it?)`);
      }
      note(`${what}: done`);
      return out;
    } catch (err) {
      if (stopping.signal.aborted && token !== undefined) {
        // this worker is stopping: the job goes back to the queue without using up an attempt
        await job.moveToWait(token);
        throw new WaitingError();
      }
      note(`job ${job.id}: ${(err as Error).message.split('\n')[0]}`);
      // a busy run directory is a killed worker's trial still checkpointing: worth retrying
      if (err instanceof UserError && childErrorName(err) !== 'RunDirBusyError') throw new UnrecoverableError(USER_ERROR_PREFIX + err.message);
      throw err;
    }
  };

  const worker = new Worker<QueueJobData, QueueJobResult>(QUEUE_NAME, work, {
    connection,
    concurrency: opts.concurrency,
    autorun: false,
    lockDuration: s.stalledMs,
    stalledInterval: s.stalledMs,
    // a job taken back from a dead worker this many times fails (as many as its attempts)
    maxStalledCount: s.attempts,
  });
  await connected(worker, url);
  note(`worker: ${opts.concurrency} job(s) at once, ${threads} thread(s) each, queue ${redactedUrl(url)}`);
  const closing = new Promise<void>((resolve) => {
    const stop = (): void => {
      stopping.abort();
      void worker.close().then(resolve);
    };
    if (opts.signal.aborted) stop();
    else opts.signal.addEventListener('abort', stop, { once: true });
  });
  await Promise.all([worker.run(), closing]);
}
