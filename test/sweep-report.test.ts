/**
 * `biggan sweep report`: the statistics on synthetic FID values with known answers, and
 * the report (Markdown + PNGs) of a synthetic sweep directory whose numbers are known.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { renderBoxPlot } from '../src/image/box-plot.js';
import { renderHeatMap } from '../src/image/heat-map.js';
import { PLOT_PALETTE } from '../src/image/line-plot.js';
import { readPng } from '../src/image/png-read.js';
import { writeFileAtomic } from '../src/io/atomic-write.js';
import { fidHeatCounts, binsFor } from '../src/sweep/report/binning.js';
import { modelsOf, settingsSummary } from '../src/sweep/report/collect.js';
import { boxStats, budgetCurve, expectedMinimum, median, quantile, ranks, spearman, topFraction, topKIntersection } from '../src/sweep/report/statistics.js';
import { writeSweepReport } from '../src/sweep/report/write-report.js';
import type { SweepState, TrialState } from '../src/sweep/runner.js';
import { parseSpec } from '../src/sweep/spec.js';
import { trialsOf } from '../src/sweep/trials.js';
import { assertUserError } from './assert-user-error.js';
import { biggan, isCleanError } from './cli-helpers.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** The mean of min over every k-subset, by enumeration. */
function bruteExpectedMin(v: number[], k: number): number {
  let sum = 0, count = 0;
  const rec = (start: number, chosen: number[]): void => {
    if (chosen.length === k) {
      sum += Math.min(...chosen);
      count++;
      return;
    }
    for (let i = start; i < v.length; i++) rec(i + 1, [...chosen, v[i]]);
  };
  rec(0, []);
  return sum / count;
}

test('quantiles, median, box statistics (NumPy linear interpolation)', () => {
  close(quantile([4, 1, 3, 2], 0.25), 1.75);
  close(median([4, 1, 3, 2]), 2.5);
  close(median([5, 1, 3]), 3);
  assert.deepEqual(boxStats([1, 2, 3, 4, 5]), { min: 1, q1: 2, median: 3, q3: 4, max: 5, n: 5 });
  assert.equal(median([10, Infinity, 20]), 20, 'a failed model is the worst, not a NaN');
});

test('top 5 %: the best ceil(5 % of n), at least one', () => {
  const v = Array.from({ length: 40 }, (_, i) => 40 - i);
  assert.deepEqual(topFraction(v, 0.05), [1, 2]);
  assert.deepEqual(topFraction([3, 1, 2], 0.05), [1]);
  assert.equal(topFraction(Array.from({ length: 21 }, (_, i) => i), 0.05).length, 2);
  assert.equal(topFraction(Array.from({ length: 20 }, (_, i) => i), 0.05).length, 1);
});

test('Spearman: known rankings, ties averaged', () => {
  close(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  // no ties: 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 6*4/120
  close(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), 0.8);
  assert.deepEqual(ranks([1, 2, 2, 3]), [1, 2.5, 2.5, 4]);
  close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 4.5 / Math.sqrt(22.5));
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
});

test('top-K intersection of two rankings', () => {
  const a = [1, 2, 3, 4, 5], b = [5, 4, 3, 2, 1];
  assert.equal(topKIntersection(a, b, 2), 0);
  assert.equal(topKIntersection(a, b, 3), 1);
  assert.equal(topKIntersection(a, b, 5), 5);
  assert.equal(topKIntersection(a, [10, 20, 30, 50, 40], 3), 3);
});

test('budget curve: the exact expected minimum of k random settings, bootstrap interval around it', () => {
  close(expectedMinimum([3, 1, 2], 1), 2);
  close(expectedMinimum([3, 1, 2], 2), 4 / 3); // {1,2}, {1,3} -> 1; {2,3} -> 2
  close(expectedMinimum([3, 1, 2], 3), 1);
  const v = [31.5, 20.25, 47, 20.25, 88, 12.5, Infinity];
  for (let k = 1; k <= v.length; k++) {
    if (k === 1) assert.equal(expectedMinimum(v, k), Infinity, 'a single pick may be a failed model');
    else close(expectedMinimum(v, k), bruteExpectedMin(v, k), 1e-9);
  }
  assert.throws(() => expectedMinimum(v, 0), RangeError);
  const finite = [31.5, 20.25, 47, 20.25, 88, 12.5];
  const curve = budgetCurve(finite, { resamples: 500, seed: 1 });
  assert.equal(curve.length, 6);
  curve.forEach((p, i) => {
    assert.equal(p.k, i + 1);
    close(p.mean, bruteExpectedMin(finite, i + 1), 1e-9);
    assert.ok(p.lo <= p.mean + 1e-9 && p.mean <= p.hi + 1e-9 || p.k === 1, `k ${p.k}: ${p.lo} ${p.mean} ${p.hi}`);
    if (i > 0) assert.ok(p.mean <= curve[i - 1].mean, 'more budget never hurts');
  });
  close(curve[5].mean, 12.5);
  assert.deepEqual(budgetCurve(finite, { resamples: 500, seed: 1 }), curve, 'seeded');
  for (const p of budgetCurve([7, 7, 7], { resamples: 50 })) assert.deepEqual([p.lo, p.mean, p.hi], [7, 7, 7]);
});

test('heat-map bins: grid values keep a column, continuous values are binned (log over a decade), failed models in their own row', () => {
  assert.deepEqual(binsFor([2, 1, 2, 1]).labels, ['1', '2']);
  const lr = binsFor([1e-5, 1e-4, 1e-3, 1e-2, 3e-5, 3e-4, 3e-3, 5e-5, 5e-4, 5e-3], 8, 3);
  assert.deepEqual([1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 1e-2].map((x) => lr.of(x)), [0, 0, 1, 1, 2, 2]);
  const h = fidHeatCounts([10, 20, 30, Infinity], [1, 1, 2, 2]);
  assert.deepEqual(h.cols, ['1', '2']);
  assert.equal(h.rows.length, 7);
  assert.equal(h.rows[6], 'failed');
  assert.deepEqual(h.counts.map((r) => r.join('')), ['10', '00', '00', '10', '00', '01', '01']);
});

/** A sweep directory with known results: 3 settings x 2 seeds, one model diverged. */
function syntheticSweep(dir: string): void {
  const spec = parseSpec({ vary: { grid: { gLr: [1e-4, 2e-4], loss: ['hinge', 'ns'] } }, seeds: [0, 1], steps: 2 }, '/');
  const trials = trialsOf(spec);
  const fids: Record<string, number[]> = { '0.0001,hinge': [30, 34], '0.0001,ns': [20, 26], '0.0002,hinge': [50, NaN], '0.0002,ns': [40, 44] };
  const states: TrialState[] = trials.map((t) => {
    const f = fids[`${t.setting.gLr},${t.setting.loss}`][t.seed];
    const failed = Number.isNaN(f);
    return {
      id: t.id, settingId: t.settingId, setting: t.setting, seed: t.seed, status: 'finished',
      result: { id: t.id, settingId: t.settingId, setting: t.setting, seed: t.seed, status: failed ? 'diverged' : 'completed', step: 2, metrics: (failed ? {} : { fid: f, kid_mean: f / 1000 + (t.seed ? 0.05 : 0) }) as Record<string, number> },
    };
  });
  states.push({ ...states[0], id: 'x-s9', seed: 9, status: 'interrupted', result: undefined, step: 1 });
  const state: SweepState = { spec, trials: states };
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'sweep.json'), Buffer.from(JSON.stringify(state)));
}

test('report: per-setting table, variants, budget, KID agreement and heat maps from known trial results', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-sweep-report-'));
  syntheticSweep(dir);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as SweepState;
  const models = modelsOf(state);
  assert.equal(models.length, 8, 'only finished trials');
  const summary = settingsSummary(models);
  const by = Object.fromEntries(summary.map((s) => [`${s.setting.gLr},${s.setting.loss}`, s]));
  assert.equal(by['0.0001,ns'].medianFid, 23);
  assert.equal(by['0.0001,ns'].bestFid, 20);
  assert.equal(by['0.0002,hinge'].medianFid, Infinity);
  assert.equal(by['0.0002,hinge'].bestFid, 50);
  assert.equal(by['0.0001,ns'].variant, 'loss=ns');
  assert.deepEqual(by['0.0001,ns'].hyper, { gLr: 1e-4 });

  const out = path.join(dir, 'out', 'study.md');
  fs.mkdirSync(path.dirname(out));
  const r = biggan(['sweep', 'report', dir, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const md = fs.readFileSync(out, 'utf8');
  assert.match(md, /8 of 9 trials finished \(4 settings\); 1 without an FID \(diverged/);
  // ranked by median FID: ns 1e-4 (23), hinge 1e-4 (32), ns 2e-4 (42), hinge 2e-4 (failed)
  assert.match(md, /\| 1 \| gLr=0\.0001 loss=ns \| loss=ns \| 2 \| 23\.00 \| 20\.00 \|/);
  assert.match(md, /\| 4 \| gLr=0\.0002 loss=hinge \| loss=hinge \| 2 \| failed \| 50\.00 \|/);
  // top 5 % of 2 settings per variant = the best one
  assert.match(md, /\| loss=ns \| 1 \| 23\.00 \| 23\.00 \| 23\.00 \| 23\.00 \| 23\.00 \|/);
  assert.match(md, /\| loss=hinge \| 1 \| 32\.00 \|/);
  // budget (ns): k=1 the mean of 23 and 42, k=2 the minimum; a resample may hold 42 twice (1 in 4)
  assert.match(md, /\| 1 \| 32\.50 \| /);
  assert.match(md, /\| 2 \| 23\.00 \| 23\.00 – 42\.00 \|/);
  // budget (hinge): one pick may be the failed setting
  assert.match(md, /\| 1 \| failed \| /);
  // KID: seed 1 shifted by 0.05 -> ranks differ from FID's; 7 finite models
  const f = [30, 34, 20, 26, 50, 40, 44], k = [0.03, 0.084, 0.02, 0.076, 0.05, 0.04, 0.094];
  assert.match(md, new RegExp(`over 7 models: ${spearman(f, k).toFixed(4)}\\.`));
  assert.match(md, new RegExp(`\\| 5 \\| ${topKIntersection(f, k, 5)} \\|`));
  assert.doesNotMatch(md, /\| 10 \| \d+ \|$/m);
  for (const png of ['study-top5.png', 'study-budget.png', 'study-heat-gLr.png']) {
    assert.match(md, new RegExp(`\\]\\(${png.replace('.', '\\.')}\\)`));
    const img = readPng(path.join(dir, 'out', png));
    assert.ok(img.width >= 100 && img.height >= 100, png);
  }
  assert.match(r.stderr, /wrote .*study\.md/);

  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-sweep-empty-'));
  const e = biggan(['sweep', 'report', empty]);
  assert.ok(isCleanError(e), e.stderr);
  assert.match(e.stderr, /not a sweep directory/);
  assertUserError(() => writeSweepReport(path.join(empty, 'missing'), path.join(empty, 'r.md')), /not a sweep directory/);
  fs.writeFileSync(path.join(empty, 'sweep.json'), '{"trials": 3}');
  assertUserError(() => writeSweepReport(empty, path.join(empty, 'r.md')), /sweep\.json: not a sweep state/);
  fs.writeFileSync(path.join(empty, 'sweep.json'), '{"trials": [');
  assertUserError(() => writeSweepReport(empty, path.join(empty, 'r.md')), /sweep\.json: not valid JSON/);
});

test('box plot: each box spans q1..q3 on the value axis; heat map: darker for larger counts, white for none', () => {
  const img = renderBoxPlot([{ name: 'a', min: 0, q1: 2, median: 3, q3: 6, max: 10 }, { name: 'b', min: 1, q1: 2, median: 2.5, q3: 4, max: 5 }], { width: 400, height: 400 });
  const boxRows = (x: number, c: readonly number[]): number => {
    let n = 0;
    for (let y = 0; y < img.height; y++) {
      const o = (y * img.width + x) * 4;
      if (img.rgba[o] === c[0] && img.rgba[o + 1] === c[1] && img.rgba[o + 2] === c[2]) n++;
    }
    return n;
  };
  // the boxes' centres: a quarter and three quarters across the plot area (give or take its left margin)
  const best = (from: number, to: number, c: readonly number[]): number => Math.max(...Array.from({ length: to - from }, (_, i) => boxRows(from + i, c)));
  const a = best(60, 200, PLOT_PALETTE[0]), b = best(220, 390, PLOT_PALETTE[1]);
  assert.ok(a > 0 && b > 0);
  assert.ok(Math.abs(a / b - 2) < 0.1, `IQR 4 vs 2 drawn ${a} vs ${b} px high`);

  const h = renderHeatMap([[0, 1, 4]], ['r'], ['x', 'y', 'z'], { cell: 40 });
  const y = Math.floor(h.height / 2);
  const colours: string[] = [];
  for (let x = 0; x < h.width; x++) {
    const o = (y * h.width + x) * 4;
    const c = `${h.rgba[o]},${h.rgba[o + 1]},${h.rgba[o + 2]}`;
    if (colours[colours.length - 1] !== c) colours.push(c);
  }
  const blues = colours.filter((c) => c !== '255,255,255' && c !== '0,0,0').map((c) => c.split(',').map(Number));
  const light = blues.find((c) => c[0] > 150)!, dark = blues.find((c) => c[0] < 60)!;
  assert.ok(light && dark, colours.join(' '));
  assert.deepEqual(dark, [33, 71, 150], 'the largest count is the darkest colour');
});
