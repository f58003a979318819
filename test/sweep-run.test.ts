/**
 * `biggan sweep`: a tiny grid (2 settings x 2 seeds, 20 steps, procedural Inception)
 * runs end to end (the first pass through runSweep, the resume through the CLI), is interrupted mid-way and resumes; finished
 * trials are kept, interrupted ones continue from their checkpoint.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runSweep, readSweepState, trialDir, type TrialExecutor } from '../src/sweep/runner.js';
import { LocalExecutor } from '../src/sweep/runner.js';
import { readSpec } from '../src/sweep/spec.js';
import { readResult, type TrialJob } from '../src/sweep/run-trial.js';
import { biggan, isCleanError } from './cli-helpers.js';
import { TINY_TRIAL_OPTIONS, writeImages } from './tiny-sweep.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-sweep-'));

function tinySpec(): string {
  writeImages(path.join(tmp, 'real.npy'), 24, 32);
  const spec = {
    fixed: TINY_TRIAL_OPTIONS,
    vary: { grid: { gLr: [1e-4, 5e-4] } },
    seeds: [0, 1],
    // enough steps that the interrupted trial is still running when the abort reaches it (3 steps raced a loaded CI machine)
    steps: 20,
    eval: { metrics: ['fid', 'kid'], n: 12, real: 'real.npy', inception: 'procedural', settings: { kidSubsetSize: 6, kidSubsets: 4 } },
  };
  const file = path.join(tmp, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

test('sweep: runs every trial, is interrupted, resumes (finished kept, interrupted continue from their checkpoint)', async () => {
  const specFile = tinySpec();
  const spec = readSpec(specFile);
  const out = path.join(tmp, 'sweep');
  // interrupt: abort as soon as the second trial has started (after the first finished)
  const local = new LocalExecutor(1);
  const abort = new AbortController();
  let started = 0;
  const interrupting: TrialExecutor = {
    slots: 1,
    run(job: TrialJob, signal: AbortSignal) {
      started++;
      const p = local.run(job, signal);
      if (started === 2) {
        // stop once the trial has a checkpoint (step 1 of 20): it ends interrupted, mid-way
        const poll = setInterval(() => {
          if (fs.existsSync(path.join(job.dir, 'checkpoint.safetensors'))) {
            clearInterval(poll);
            abort.abort();
          }
        }, 50);
        void p.finally(() => clearInterval(poll));
      }
      return p;
    },
  };
  const first = await runSweep(spec, out, { executor: interrupting, signal: abort.signal });
  assert.equal(first.total, 4);
  assert.equal(first.finished, 1);
  const state = readSweepState(out);
  const statuses = state.trials.map((t) => t.status);
  assert.deepEqual(statuses.slice(0, 1), ['finished']);
  assert.deepEqual(statuses, ['finished', 'interrupted', 'pending', 'pending']);
  assert.equal(first.interrupted, 3);
  const firstResult = readResult(trialDir(out, state.trials[0].id))!;
  assert.equal(firstResult.status, 'completed');
  assert.ok(Number.isFinite(firstResult.metrics.fid) && Number.isFinite(firstResult.metrics.kid_mean), JSON.stringify(firstResult.metrics));
  const firstMtime = fs.statSync(path.join(trialDir(out, state.trials[0].id), 'result.json')).mtimeMs;

  // resume through the CLI with two workers
  const r = biggan(['sweep', specFile, '--out', out, '--workers', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 of 4 trials already finished/);
  assert.match(r.stderr, /4 of 4 trials finished/);
  const done = readSweepState(out);
  assert.deepEqual(done.trials.map((t) => t.status), ['finished', 'finished', 'finished', 'finished']);
  assert.equal(fs.statSync(path.join(trialDir(out, state.trials[0].id), 'result.json')).mtimeMs, firstMtime, 'a finished trial is not run again');
  const log = fs.readFileSync(path.join(trialDir(out, state.trials[1].id), 'log.jsonl'), 'utf8');
  assert.match(log, /"type":"resume"/, 'the interrupted trial resumed from its checkpoint');
  for (const t of done.trials) {
    const res = readResult(trialDir(out, t.id))!;
    assert.equal(res.step, 20);
    assert.equal(res.seed, t.seed);
  }
  // ids: setting hash + seed, the same for both seeds of a setting
  assert.equal(done.trials[0].settingId, done.trials[1].settingId);
  assert.notEqual(done.trials[0].settingId, done.trials[2].settingId);

  // the report of the real sweep: 2 settings of 2 seeds, KID against FID over 4 models
  const rep = biggan(['sweep', 'report', out]);
  assert.equal(rep.status, 0, rep.stderr);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /4 of 4 trials finished \(2 settings\)/);
  assert.match(md, /over 4 models: /);
  for (const png of ['report-top5.png', 'report-budget.png', 'report-heat-gLr.png']) assert.ok(fs.existsSync(path.join(out, png)), png);

  // a different spec in the same directory is refused
  const other = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  other.steps = 21;
  const otherFile = path.join(tmp, 'other.json');
  fs.writeFileSync(otherFile, JSON.stringify(other));
  const bad = biggan(['sweep', otherFile, '--out', out]);
  assert.ok(isCleanError(bad), bad.stderr);
  assert.match(bad.stderr, /different spec/);
});
