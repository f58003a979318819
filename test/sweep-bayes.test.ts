/**
 * Sequential Bayesian optimisation (GP-UCB, the study's Table 2): the GP's posterior on
 * known points, the UCB schedule, and whole sweeps over a synthetic FID surface through a
 * TrialExecutor that scores settings without training (the executor seam): rounds are
 * proposed from earlier results, an interrupted sweep resumes to the same proposals.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../src/io/atomic-write.js';
import { GaussianProcess } from '../src/sweep/bayes/gp.js';
import { encode, proposeRound, ucbBeta } from '../src/sweep/bayes/propose.js';
import { resultFile, type TrialJob, type TrialOutcome, type TrialResult } from '../src/sweep/run-trial.js';
import { readSweepState, runSweep, type TrialExecutor } from '../src/sweep/runner.js';
import { parseSpec, readSpec } from '../src/sweep/spec.js';
import { writeSweepReport } from '../src/sweep/report/write-report.js';
import { assertUserError } from './assert-user-error.js';
import { checkTrialOptions } from '../src/sweep/check-options.js';

test('GP posterior: reproduces observed points, reverts to the prior far away', () => {
  const x = [0.1, 0.5, 0.9].map((v) => Float64Array.of(v));
  const gp = new GaussianProcess(x, [1, -1, 0.5], { noise: 1e-6 });
  for (const [i, y] of [1, -1, 0.5].entries()) {
    const p = gp.predict(x[i]);
    assert.ok(Math.abs(p.mean - y) < 1e-3, `${p.mean} vs ${y}`);
    assert.ok(p.variance < 1e-4);
  }
  const far = gp.predict(Float64Array.of(5));
  assert.ok(Math.abs(far.mean) < 1e-6 && Math.abs(far.variance - 1) < 1e-6);
  const between = gp.predict(Float64Array.of(0.3));
  assert.ok(between.variance > 1e-3 && between.variance < 1);
  // Srinivas et al.: beta_t = 2 log(|D| t^2 pi^2 / (6 delta))
  assert.ok(Math.abs(ucbBeta(2000, 3) - 2 * Math.log((2000 * 9 * Math.PI ** 2) / 0.6)) < 1e-12);
});

const RAW = {
  fixed: { betas: [0.5, 0.999] },
  vary: { bayes: { rounds: 4, proposals: 4, seed: 1, candidates: 500, ranges: { lr: { min: 1e-5, max: 1e-2, scale: 'log', sets: ['gLr', 'dLr'] }, b1: { min: 0, max: 1, sets: ['betas.0'] }, dSteps: { choices: [1, 5] } } } },
  seeds: [0],
  steps: 1,
  eval: { metrics: ['fid'], n: 10, stats: 'ref.npz' },
};

/** A synthetic FID surface: best at lr 3e-4, beta1 0.3, n_disc 1. */
function surface(o: Record<string, unknown>): number {
  return 20 + 30 * (Math.log10(o.gLr as number) + 3.5) ** 2 + 40 * ((o.betas as number[])[0] - 0.3) ** 2 + (o.dSteps === 5 ? 5 : 0);
}

/** Scores a trial from its setting and writes result.json, as a finished trial leaves it. */
function scoring(calls: string[], stopAfter = Infinity, abort?: AbortController): TrialExecutor {
  return {
    slots: 1,
    async run(job: TrialJob): Promise<TrialOutcome> {
      calls.push(job.trial.id);
      if (calls.length > stopAfter) {
        abort!.abort();
        return { status: 'interrupted', step: 0 };
      }
      const t = job.trial;
      const result: TrialResult = { id: t.id, settingId: t.settingId, setting: t.setting, seed: t.seed, status: 'completed', step: job.steps, metrics: { fid: surface(job.options) } };
      fs.mkdirSync(job.dir, { recursive: true });
      writeFileAtomic(resultFile(job.dir), Buffer.from(JSON.stringify(result)));
      return { status: 'finished', result };
    },
  };
}

test('GP-UCB sweep: rounds proposed from earlier results; interrupted and resumed, it proposes the same settings', async () => {
  const spec = parseSpec(RAW, '/');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-bayes-'));
  const straight = path.join(tmp, 'straight');
  const calls: string[] = [];
  const s = await runSweep(spec, straight, { executor: scoring(calls) });
  assert.deepEqual([s.total, s.finished], [16, 16]);
  const state = readSweepState(straight);
  assert.deepEqual(state.trials.map((t) => t.round), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.equal(new Set(state.trials.map((t) => t.settingId)).size, 16, 'no setting proposed twice');
  const fids = state.trials.map((t) => t.result!.metrics.fid);
  assert.ok(Math.min(...fids.slice(4)) < Math.min(...fids.slice(0, 4)), `GP rounds found nothing better than the random round: ${fids.map((f) => f.toFixed(1))}`);
  for (const t of state.trials) {
    const lr = t.setting.gLr as number;
    checkTrialOptions(spec.fixed, t.setting, spec.steps);
    assert.ok(lr >= 1e-5 && lr <= 1e-2 && t.setting.dLr === lr);
    assert.equal((t.setting.betas as number[])[1], 0.999);
  }

  // its report: heat maps of the parameters that vary, once each (gLr = dLr shows once, beta2 is fixed)
  writeSweepReport(straight, path.join(straight, 'report.md'));
  const heat = fs.readdirSync(straight).filter((f) => f.startsWith('report-heat-')).sort();
  assert.deepEqual(heat, ['report-heat-betas.0.png', 'report-heat-dLr.png', 'report-heat-dSteps.png']);

  // interrupted in round 3 (after 9 trials), then resumed: the same 16 settings, nothing run twice
  const resumed = path.join(tmp, 'resumed');
  const first: string[] = [];
  const abort = new AbortController();
  const part = await runSweep(spec, resumed, { executor: scoring(first, 9, abort), signal: abort.signal });
  assert.equal(part.finished, 9);
  const rest: string[] = [];
  await runSweep(spec, resumed, { executor: scoring(rest) });
  assert.deepEqual(readSweepState(resumed).trials.map((t) => t.id), state.trials.map((t) => t.id));
  assert.deepEqual([...first.slice(0, 9), ...rest], calls);
  // a finished sweep runs nothing
  const none: string[] = [];
  await runSweep(spec, resumed, { executor: scoring(none) });
  assert.deepEqual(none, []);
});

test('GP-UCB proposals: a batch spreads out (pending picks shrink the sd), the round is seeded', () => {
  const spec = parseSpec(RAW, '/');
  const v = spec.vary;
  assert.equal(v.kind, 'bayes');
  if (v.kind !== 'bayes') return;
  const obs = proposeRound(v, 0, [], spec.fixed).map((setting) => ({ setting, fid: surface({ ...spec.fixed, ...setting }) }));
  const a = proposeRound(v, 1, obs, spec.fixed);
  assert.deepEqual(proposeRound(v, 1, obs, spec.fixed), a);
  assert.equal(a.length, 4);
  const pts = a.map((s) => encode(s, v.dims));
  for (let i = 0; i < pts.length; i++) for (let j = 0; j < i; j++) assert.ok(pts[i].some((x, d) => Math.abs(x - pts[j][d]) > 0.05), 'distinct picks');
  assertUserError(() => parseSpec({ ...RAW, eval: { metrics: ['is'], n: 10 } }, '/'), /vary\.bayes minimises FID: eval\.metrics must include fid/);
  assertUserError(() => parseSpec({ ...RAW, vary: { bayes: { ...RAW.vary.bayes, rounds: 0 } } }, '/'), /vary\.bayes\.rounds must be a positive integer/);
});

test("examples/landscape-table2-bayes.json: the study's Table 2 ranges, 12 rounds of 10", () => {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
  const spec = readSpec(path.join(repo, 'examples', 'landscape-table2-bayes.json'));
  const v = spec.vary;
  assert.ok(v.kind === 'bayes');
  if (v.kind !== 'bayes') return;
  assert.deepEqual([v.rounds, v.proposals], [12, 10]);
  const first = proposeRound(v, 0, [], spec.fixed);
  assert.equal(first.length, 10);
  for (const s of first) {
    const lr = s.gLr as number, w = s.penaltyWeight as number, [b1, b2] = s.betas as number[];
    checkTrialOptions(spec.fixed, s, spec.steps);
    assert.ok(lr >= 1e-5 && lr <= 1e-2 && s.dLr === lr && w >= 0.1 && w <= 100 && b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1 && [1, 5].includes(s.dSteps as number), JSON.stringify(s));
  }
});
