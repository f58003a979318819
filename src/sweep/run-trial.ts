/**
 * One trial, in whatever process runs it: a normal training run in its own directory
 * (resumed from its checkpoint when there is one), then the spec's evaluation of the
 * final checkpoint, then DIR/result.json (written atomically, last: its presence means
 * the trial is finished and is never run again).
 */
import fs from 'node:fs';
import path from 'node:path';
import { evaluate, type EvalMetric } from '../api/evaluate.js';
import { train, type TrainOptions } from '../api/train.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { RunDir } from '../train/run/run-dir.js';
import type { EvalSpec, Setting } from './spec.js';
import type { Trial } from './trials.js';

/** Everything a process needs to run one trial (plain JSON: it crosses process boundaries). */
export interface TrialJob {
  trial: Trial;
  dir: string;
  /** The fixed options merged with the trial's setting. */
  options: Setting;
  steps: number;
  eval: EvalSpec | null;
  threads: number;
}

export interface TrialResult {
  id: string;
  settingId: string;
  setting: Setting;
  seed: number;
  /** How training ended; collapsed runs are evaluated at their latest checkpoint, diverged ones not (FID counts as infinite). */
  status: 'completed' | 'diverged' | 'collapsed';
  step: number;
  /** e.g. { fid, kid_mean, kid_std, is_mean, is_std }; empty without an eval spec or after divergence. */
  metrics: Record<string, number>;
}

export type TrialOutcome = { status: 'finished'; result: TrialResult } | { status: 'interrupted'; step: number };

export const RESULT_FILE = 'result.json';

export function resultFile(dir: string): string {
  return path.join(dir, RESULT_FILE);
}

/** The trial's result if it finished earlier, else null. */
export function readResult(dir: string): TrialResult | null {
  const f = resultFile(dir);
  if (!fs.existsSync(f)) return null;
  let r: unknown;
  try {
    r = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch {
    throw new UserError(`${f}: not valid JSON (delete it to run the trial again)`);
  }
  const o = r as Partial<TrialResult>;
  if (!o || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.metrics !== 'object' || o.metrics === null || typeof o.status !== 'string') {
    throw new UserError(`${f}: not a trial result (delete it to run the trial again)`);
  }
  return o as TrialResult;
}

export async function runTrial(job: TrialJob, signal?: AbortSignal, onNote?: (line: string) => void): Promise<TrialOutcome> {
  const done = readResult(job.dir);
  if (done) return { status: 'finished', result: done };
  const run = new RunDir(job.dir);
  const resume = fs.existsSync(run.checkpoint);
  const options = {
    ...job.options,
    out: job.dir,
    resume,
    seed: job.trial.seed,
    steps: job.steps,
    threads: job.threads,
    signal,
    onNote,
  } as TrainOptions;
  const r = await train(options);
  if (r.status === 'interrupted') return { status: 'interrupted', step: r.step };
  let metrics: Record<string, number> = {};
  // a collapsed run (the collapse watch stopped it, as in `biggan train`) still has a model, and
  // its FID is the honest measure of the setting; a diverged one has only NaNs to score
  if (r.status !== 'diverged' && job.eval) {
    const e = job.eval;
    const ev = await evaluate({
      weights: run.checkpoint, stats: e.stats, real: e.real, inception: e.inception, metrics: e.metrics as EvalMetric[], n: e.n, seed: 0, threads: job.threads, metricSettings: e.settings,
    });
    metrics = ev.metrics;
  }
  const { trial } = job;
  const result: TrialResult = { id: trial.id, settingId: trial.settingId, setting: trial.setting, seed: trial.seed, status: r.status, step: r.step, metrics };
  writeFileAtomic(resultFile(job.dir), Buffer.from(JSON.stringify(result, null, 2) + '\n'));
  return { status: 'finished', result };
}
