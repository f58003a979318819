/**
 * Sweep trials as queue jobs (`biggan sweep SPEC.json --out DIR --queue URL`): the runner
 * stays the coordinator (sweep.json, resume, Bayesian rounds) and this executor hands each
 * trial to whichever `biggan worker` takes it. Trial directories are given as absolute paths:
 * every worker must see DIR at the same path (shared storage), which is also how a trial
 * resumes on another worker from its last checkpoint.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { RunDir } from '../train/run/run-dir.js';
import type { TrialJob, TrialOutcome } from '../sweep/run-trial.js';
import type { TrialExecutor } from '../sweep/runner.js';
import { TRIAL_JOB } from './jobs.js';
import type { QueueClient } from './queue-client.js';

/** Trials in flight at once: a round's trials all go on the queue; the workers' number decides how many run. */
const IN_FLIGHT = 4096;

export class QueueExecutor implements TrialExecutor {
  readonly slots = IN_FLIGHT;
  private readonly sweepKey: string;

  /** `sweepDir` names the sweep in job ids. */
  constructor(private readonly client: QueueClient, sweepDir: string) {
    this.sweepKey = createHash('sha256').update(path.resolve(sweepDir)).digest('hex').slice(0, 16);
  }

  async run(job: TrialJob, signal: AbortSignal): Promise<TrialOutcome> {
    const dir = path.resolve(job.dir);
    const r = await this.client.submit<TrialOutcome>(TRIAL_JOB, { ...job, dir }, `trial-${this.sweepKey}-${job.trial.id}`, `trial ${job.trial.id}`, signal);
    if (r.status === 'done') return r.result;
    // the coordinator stopped waiting: the trial resumes from its newest checkpoint when the sweep runs again
    const periodic = new RunDir(dir).stepCheckpoints();
    return { status: 'interrupted', step: periodic.length ? periodic[periodic.length - 1].step : 0 };
  }
}
