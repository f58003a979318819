/**
 * The job queue's vocabulary, shared by coordinators (`biggan sweep --queue`, `biggan eval
 * --queue`) and workers (`biggan worker`): one BullMQ queue, so a worker serves any sweep or
 * evaluation without being told its name; job names say what a job is, job ids which sweep
 * or evaluation it belongs to (re-adding an id that is waiting or running attaches to it).
 * Payloads are plain JSON. Retry and stall settings come from the environment, so tests can
 * shorten them.
 */
import type { JobsOptions } from 'bullmq';
import { UserError } from '../errors.js';
import type { EvalShardJob, EvalShardOutcome } from '../eval/generation-shards.js';
import type { TrialJob, TrialOutcome } from '../sweep/run-trial.js';

export const QUEUE_NAME = 'biggan';

export const TRIAL_JOB = 'trial';
export const EVAL_SHARD_JOB = 'eval-shard';

export type QueueJobData = TrialJob | EvalShardJob;
export type QueueJobResult = TrialOutcome | EvalShardOutcome;

/** A failure that retrying cannot fix (bad options, a broken checkpoint): its reason starts with this. */
export const USER_ERROR_PREFIX = 'user error: ';

function envInt(name: string, fallback: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export interface QueueSettings {
  /** A job whose worker stops renewing its lock for this long is taken back and given to another worker. */
  stalledMs: number;
  /** Tries per job (a crash, a killed process, a busy run directory), with exponential backoff from backoffMs. */
  attempts: number;
  backoffMs: number;
}

export function queueSettings(): QueueSettings {
  return {
    stalledMs: envInt('BIGGAN_QUEUE_STALLED_MS', 30_000, 100),
    attempts: envInt('BIGGAN_QUEUE_ATTEMPTS', 5, 1),
    backoffMs: envInt('BIGGAN_QUEUE_BACKOFF_MS', 5_000, 0),
  };
}

export function jobOptions(jobId: string, s: QueueSettings): JobsOptions {
  return { jobId, attempts: s.attempts, backoff: { type: 'exponential', delay: s.backoffMs }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } };
}
