/**
 * Runs (or resumes) every trial of a spec in DIR:
 *
 *   DIR/sweep.json            the spec and each trial's status (rewritten atomically on every change)
 *   DIR/trials/<id>/          a normal training run directory, plus result.json once finished
 *
 * Re-running continues where it stopped: finished trials (result.json) are kept,
 * interrupted ones resume from their checkpoint. Trials go through a TrialExecutor, the
 * seam a distributed queue implements; the local one runs `workers` child processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readResult, type TrialJob, type TrialOutcome, type TrialResult } from './run-trial.js';
import type { SweepSpec } from './spec.js';
import { runInChild } from '../process/child-job.js';
import { canonicalJson, trialsFor, trialsOf, type Trial } from './trials.js';
import { proposeRound, type Observation } from './bayes/propose.js';
import { checkTrialOptions } from './check-options.js';
import { median } from './report/statistics.js';
import type { Json } from './spec.js';

/** Runs one trial somewhere; resolves with its outcome (abort: stop it with a checkpoint, resolve 'interrupted'). */
export interface TrialExecutor {
  /** How many trials it runs at once. */
  readonly slots: number;
  run(job: TrialJob, signal: AbortSignal, onNote?: (line: string) => void): Promise<TrialOutcome>;
}

/**
 * Trials in child processes on this machine, `slots` at once. Child processes rather than
 * worker threads: each trial gets its own onnxruntime thread pools and memory, a crash
 * (or an out-of-memory kill) loses one trial rather than the sweep, and a signal stops a
 * trial the way it stops `biggan train`.
 */
export class LocalExecutor implements TrialExecutor {
  constructor(readonly slots: number) {}

  run(job: TrialJob, signal: AbortSignal, onNote?: (line: string) => void): Promise<TrialOutcome> {
    return runInChild<TrialOutcome>(trialProcessScript(), job, `trial ${job.trial.id}`, signal, onNote);
  }
}

/** The script a trial's child process runs (trial-process.ts, built). */
export function trialProcessScript(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'trial-process.js');
}

export type TrialStatus = 'pending' | 'running' | 'interrupted' | 'finished' | 'failed';

export interface TrialState {
  id: string;
  settingId: string;
  setting: Trial['setting'];
  seed: number;
  /** Bayesian optimisation: the round that proposed it (0-based). */
  round?: number;
  status: TrialStatus;
  /** Iterations done when it was interrupted. */
  step?: number;
  error?: string;
  result?: TrialResult;
}

export interface SweepState {
  spec: SweepSpec;
  trials: TrialState[];
}

/** Finished settings as GP observations: median FID over their seeds (+Infinity for a diverged seed). */
function observations(states: readonly TrialState[]): Observation[] {
  const by = new Map<string, { setting: Trial['setting']; fids: number[] }>();
  for (const st of states) {
    if (st.status !== 'finished' || !st.result) continue;
    const f = typeof st.result.metrics.fid === 'number' ? st.result.metrics.fid : Infinity;
    const e = by.get(st.settingId) ?? { setting: st.setting, fids: [] };
    e.fids.push(f);
    by.set(st.settingId, e);
  }
  return [...by.values()].map((e) => ({ setting: e.setting, fid: median(e.fids) }));
}

export function sweepFile(dir: string): string {
  return path.join(dir, 'sweep.json');
}

export function trialDir(dir: string, id: string): string {
  return path.join(dir, 'trials', id);
}

export function readSweepState(dir: string): SweepState {
  const f = sweepFile(dir);
  if (!fs.existsSync(f)) throw new UserError(`${dir} is not a sweep directory (no sweep.json; run \`biggan sweep SPEC.json --out ${dir}\`)`);
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch {
    throw new UserError(`${f}: not valid JSON`);
  }
  const o = v as Partial<SweepState>;
  if (!o || typeof o !== 'object' || typeof o.spec !== 'object' || o.spec === null || !Array.isArray(o.trials) || o.trials.some((t) => typeof t !== 'object' || t === null || typeof t.id !== 'string')) {
    throw new UserError(`${f}: not a sweep state (spec and trials)`);
  }
  return o as SweepState;
}

export interface SweepOptions {
  /** Trials at once (default 1) with the local executor. */
  workers?: number;
  executor?: TrialExecutor;
  /** Abort: running trials stop with a checkpoint, nothing new starts. */
  signal?: AbortSignal;
  /** Lines about trials starting, ending, being interrupted. */
  onNote?: (line: string) => void;
}

export interface SweepSummary {
  total: number;
  finished: number;
  interrupted: number;
  failed: number;
  /** Finished before this call (kept, not re-run). */
  kept: number;
}

export async function runSweep(spec: SweepSpec, dir: string, opts: SweepOptions = {}): Promise<SweepSummary> {
  const workers = opts.workers ?? 1;
  if (!(Number.isInteger(workers) && workers > 0)) throw new UserError(`--workers must be a positive integer, got ${workers}`);
  const executor = opts.executor ?? new LocalExecutor(workers);
  const note = opts.onNote ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  fs.mkdirSync(path.join(dir, 'trials'), { recursive: true });
  if (fs.existsSync(sweepFile(dir))) {
    const old = readSweepState(dir);
    if (canonicalJson(old.spec as unknown as Json) !== canonicalJson(JSON.parse(JSON.stringify(spec)) as Json)) {
      throw new UserError(`${dir} holds a sweep with a different spec (use another --out, or the spec it was started with)`);
    }
  }
  const bayes = spec.vary.kind === 'bayes' ? spec.vary : null;
  const rounds = bayes ? bayes.rounds : 1;
  const total = bayes ? bayes.rounds * bayes.proposals * spec.seeds.length : trialsOf(spec).length;
  const states: TrialState[] = [];
  const save = (): void => writeFileAtomic(sweepFile(dir), Buffer.from(JSON.stringify({ spec, trials: states }, null, 2) + '\n'));
  const threads = Math.max(1, Math.floor((os.availableParallelism?.() ?? os.cpus().length) / executor.slots));
  let kept = 0;
  let firstError: Error | null = null;
  for (let round = 0; round < rounds; round++) {
    // a Bayesian round's settings follow from the earlier rounds' results (all finished by now)
    const trials = bayes ? trialsFor(proposeRound(bayes, round, observations(states), spec.fixed), spec.seeds) : trialsOf(spec);
    for (const t of trials) if (t.seed === spec.seeds[0]) checkTrialOptions(spec.fixed, t.setting, spec.steps);
    const roundStates: TrialState[] = trials.map((t) => {
      const result = readResult(trialDir(dir, t.id));
      return { id: t.id, settingId: t.settingId, setting: t.setting, seed: t.seed, ...(bayes ? { round } : {}), status: result ? 'finished' : 'pending', ...(result ? { result } : {}) };
    });
    states.push(...roundStates);
    save();
    const done = roundStates.filter((x) => x.status === 'finished').length;
    kept += done;
    if (done) note(`${done} of ${trials.length} trials${bayes ? ` of round ${round + 1}` : ''} already finished`);
    else if (bayes) note(`round ${round + 1} of ${rounds}: ${trials.length} trials`);
    const queue = trials.filter((_, i) => roundStates[i].status !== 'finished');
    const slot = async (): Promise<void> => {
      for (;;) {
        if (signal.aborted || firstError) return;
        const trial = queue.shift();
        if (!trial) return;
        const st = roundStates[trials.indexOf(trial)];
        const tdir = trialDir(dir, trial.id);
        st.status = 'running';
        delete st.step;
        save();
        note(`trial ${trial.id}: ${fs.existsSync(tdir) ? 'resuming' : 'starting'} (${JSON.stringify(trial.setting)}, seed ${trial.seed})`);
        const job: TrialJob = { trial, dir: tdir, options: { ...spec.fixed, ...trial.setting }, steps: spec.steps, eval: spec.eval, threads };
        try {
          const out = await executor.run(job, signal);
          if (out.status === 'finished') {
            st.status = 'finished';
            st.result = out.result;
            const fid = out.result.metrics.fid;
            note(`trial ${trial.id}: ${out.result.status}${fid !== undefined ? `, FID ${fid.toFixed(3)}` : ''}`);
          } else {
            st.status = 'interrupted';
            st.step = out.step;
            note(`trial ${trial.id}: interrupted at step ${out.step} (resumes from its checkpoint)`);
          }
        } catch (err) {
          st.status = 'failed';
          st.error = (err as Error).message.split('\n')[0];
          firstError ??= err as Error;
          note(`trial ${trial.id}: failed: ${st.error}`);
        }
        save();
      }
    };
    await Promise.all(Array.from({ length: executor.slots }, slot));
    if (signal.aborted || firstError || roundStates.some((x) => x.status !== 'finished')) break;
  }
  for (const st of states) if (st.status === 'pending' || st.status === 'running') st.status = st.status === 'running' ? 'interrupted' : 'pending';
  save();
  if (firstError) throw firstError as Error;
  const count = (s: TrialStatus): number => states.filter((x) => x.status === s).length;
  return { total, finished: count('finished'), interrupted: count('interrupted') + (signal.aborted ? count('pending') : 0), failed: count('failed'), kept };
}
