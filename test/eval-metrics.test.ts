/**
 * The metric seam: evaluation plans, the report and the CLI derived from the
 * metrics' declarations, and `biggan eval --metrics pr,dc,ifid` end to end on
 * tiny labelled PNG folders with `--inception procedural` (the fixtures'
 * stand-in weights: the scores are meaningless, the plumbing is real).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { checkSampleCount, makeMetricPlan, minimumSamples, parseMetricList } from '../src/eval/metric-plan.js';
import { formatMetrics, metricSettings } from '../src/eval/report.js';
import { sweepTable } from '../src/eval/truncation-sweep.js';
import { FeatureStats } from '../src/metrics/feature-stats.js';
import { writeStatsFile } from '../src/metrics/stats-file.js';
import { Rng } from '../src/random/rng.js';
import * as lib from '../src/index.js';
import { assertUserError } from './assert-user-error.js';
import { PT_REF } from './fixture-paths.js';
import { biggan, isCleanError } from './cli-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-eval-metrics-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const P = ['--inception', 'procedural'];
const G = path.join(PT_REF, 'ajbrock-biggan-128-ch10', 'G.pth');

function writePng(file: string, w: number, h: number, seed: number): void {
  const png = new PNG({ width: w, height: h });
  const rng = new Rng(seed);
  for (let i = 0; i < w * h; i++) {
    png.data[4 * i] = rng.int(256);
    png.data[4 * i + 1] = (i * 7 + seed * 31) & 255;
    png.data[4 * i + 2] = rng.int(256);
    png.data[4 * i + 3] = 255;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

/** DIR/<class>/img<i>.png, `perClass` images per class. */
function labelledFolder(name: string, classes: string[], perClass: number, seed: number): string {
  const dir = path.join(tmp, name);
  classes.forEach((c, k) => {
    for (let i = 0; i < perClass; i++) writePng(path.join(dir, c, `img${i}.png`), 32, 32, seed + 100 * k + i);
  });
  return dir;
}

const labelled = labelledFolder('lab', ['apple', 'boat'], 4, 1);
const labelled2 = labelledFolder('lab2', ['apple', 'boat'], 4, 50);
const flat = path.join(tmp, 'flat');
for (let i = 0; i < 8; i++) writePng(path.join(flat, `img${i}.png`), 32, 32, 200 + i);
const stats = path.join(tmp, 'stats.npz');
{
  const rng = new Rng(9);
  const x = Float32Array.from({ length: 6 * 2048 }, () => Math.abs(rng.normal()) * 0.2);
  writeStatsFile(stats, new FeatureStats(2048).add({ rows: 6, cols: 2048, data: x }).toMeanCov());
}

test('plans derive what to gather, which reference and how many samples from the declarations', () => {
  const plan = (metrics: string[], extra: Record<string, unknown> = {}) => makeMetricPlan({ metrics, hasStats: true, hasRealImages: true, ...extra });
  assert.deepEqual(plan(['is', 'fid']).gather, {
    fake: { stats: true, features: false, logits: true, classes: false },
    real: { stats: true, features: false, classes: false },
    perClass: 0,
  });
  assert.deepEqual(plan(['pr', 'dc']).gather, {
    fake: { stats: false, features: true, logits: false, classes: false },
    real: { stats: false, features: true, classes: false },
    perClass: 0,
  });
  assert.deepEqual(plan(['ifid']).gather, {
    fake: { stats: false, features: true, logits: false, classes: true },
    real: { stats: false, features: true, classes: true },
    perClass: 2,
  });
  assert.deepEqual(parseMetricList('PR, dc,ifid,pr'), ['pr', 'dc', 'ifid']);
  // real features, not statistics
  assertUserError(() => makeMetricPlan({ metrics: ['pr'], hasStats: true, hasRealImages: false }), /^precision\/recall needs the reference images themselves, not statistics: pass --real PATH/);
  assertUserError(() => makeMetricPlan({ metrics: ['dc'], hasStats: true, hasRealImages: false }), /^density\/coverage needs the reference images themselves, not statistics: pass --real PATH/);
  assertUserError(() => makeMetricPlan({ metrics: ['ifid'], hasStats: true, hasRealImages: false }), /^iFID needs labelled reference images, not statistics: pass --real PATH with class labels/);
  // sample minimums: k + 1 per set for PR; k + 1 real (any number generated) for DC; 2 per class for iFID
  const p = plan(['pr', 'dc', 'ifid'], { prK: 4, dcK: 6 });
  assert.deepEqual(p.options, { pr: { k: 4 }, dc: { k: 6 }, ifid: { epsOffset: 'pytorch-fid' } });
  assert.equal(minimumSamples(p).n, 5);
  assert.equal(minimumSamples(p, { set: 'real' }).n, 7);
  assert.equal(minimumSamples(p, { set: 'fake', classes: 10 }).n, 20);
  assertUserError(() => checkSampleCount(p, 19, '-n', { set: 'fake', classes: 10 }), /-n has 19, but iFID needs at least 2 images of each of the 10 classes \(with class-balanced sampling, -n >= 20\)/);
  assertUserError(() => checkSampleCount(p, 6, 'the real set', { set: 'real' }), /density\/coverage with k=6 needs at least 7 real samples \(lower --dc-k\)/);
  // settings are checked by name
  assertUserError(() => plan(['pr'], { prK: 0 }), /^prK must be a positive integer, got 0$/);
  assertUserError(() => plan(['fid'], { fidEpsOffset: 'sometimes' }), /^fidEpsOffset must be one of pytorch-fid, never, always$/);
  assertUserError(() => makeMetricPlan({ metrics: ['lpips'], hasStats: false, hasRealImages: false }), /unknown metric 'lpips' \(available: is, fid, kid, pr, dc, ifid\)/);
});

test('report settings, summary line and sweep columns come from the declarations', () => {
  const s = metricSettings(makeMetricPlan({ metrics: ['pr'], hasStats: false, hasRealImages: true, dcK: 7 }));
  assert.deepEqual(s, {
    metrics: ['pr'], is_splits: 10, is_shuffle_seed: 2020, fid_sqrtm_eps_policy: 'pytorch-fid',
    kid_subsets: 100, kid_subset_size: 1000, kid_seed: 2020, pr_k: 3, dc_k: 7,
  });
  assert.equal(formatMetrics({ fid: 1.5, is_mean: 2, is_std: 0.25, precision: 0.5, recall: 0.25, density: 1.125, coverage: 0.75, ifid: 3, ifid_classes: 2 }),
    'IS 2.000 ± 0.250  FID 1.500  precision 0.5000  recall 0.2500  density 1.1250  coverage 0.7500  iFID 3.000');
  const lines = sweepTable([
    { truncation: 0.5, metrics: { precision: 0.75, recall: 0.5 }, constantFeatures: false },
    { truncation: 1, metrics: { precision: 0.5, recall: 0.625 }, constantFeatures: false },
  ]).split('\n');
  assert.match(lines[0]!, /^truncation\s+precision\s+recall$/);
  assert.match(lines[3]!, /^\s+1\s+0\.5000\s+0\.6250$/);
});

test('eval --metrics pr,dc,ifid: a labelled folder against itself scores 1, 1, 1, 1 and iFID 0', () => {
  const out = path.join(tmp, 'self.json');
  const r = biggan(['eval', '--images', labelled, '--real', labelled, ...P, '--metrics', 'pr,dc,ifid', '--fid-eps-offset', 'never', '--batch', '8', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^precision 1\.0000  recall 1\.0000  density 1\.0000  coverage 1\.0000  iFID 0\.000   \(n=8 images, pipeline pytorch-fid\)   \[procedural Inception/);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(rep.metrics.precision, 1);
  assert.equal(rep.metrics.recall, 1);
  assert.equal(rep.metrics.density, 1);
  assert.equal(rep.metrics.coverage, 1);
  assert.ok(rep.metrics.ifid >= 0 && rep.metrics.ifid < 1e-6, `iFID of a set against itself: ${rep.metrics.ifid}`);
  assert.equal(rep.metrics.ifid_classes, 2);
  assert.deepEqual(rep.metric_settings.metrics, ['pr', 'dc', 'ifid']);
  assert.equal(rep.metric_settings.pr_k, 3);
  assert.equal(rep.metric_settings.dc_k, 5);
  assert.equal(rep.reference.real.count, 8);
});

test('eval --metrics pr,dc,ifid on two labelled folders: the library gives the same numbers', async () => {
  const out = path.join(tmp, 'two.json');
  const r = biggan(['eval', '--images', labelled2, '--real', labelled, ...P, '--metrics', 'ifid,pr,dc', '--pr-k', '2', '--dc-k', '2', '--batch', '8', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  const m = rep.metrics as Record<string, number>;
  for (const k of ['precision', 'recall', 'coverage']) assert.ok(m[k]! >= 0 && m[k]! <= 1, `${k} ${m[k]}`);
  assert.ok(m.density! >= 0 && m.ifid! > 0, JSON.stringify(m));
  assert.equal(rep.metric_settings.pr_k, 2);
  assert.equal(rep.metric_settings.dc_k, 2);
  const api = await lib.evaluate({ images: labelled2, real: labelled, inception: 'procedural', metrics: ['ifid', 'pr', 'dc'], metricSettings: { prK: 2, dcK: 2 }, batch: 8 });
  assert.deepEqual(api.metrics, m);
  await assert.rejects(lib.evaluate({ images: labelled2, real: labelled, inception: 'procedural', metrics: ['pr'], metricSettings: { prK: 0 } }), /prK must be a positive integer/);
});

test('eval --truncation-sweep --metrics pr,dc: one column per result, a plot of the first', () => {
  const out = path.join(tmp, 'sweep.json'), plot = path.join(tmp, 'sweep.png');
  const r = biggan(['eval', '--weights', G, '--real', labelled, ...P, '--metrics', 'pr,dc', '--dc-k', '3', '-n', '6', '--batch', '6',
    '--truncation-sweep', '0.5,1', '--out', out, '--plot', plot]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^truncation\s+precision\s+recall\s+density\s+coverage$/);
  assert.deepEqual(lines.slice(2, 4).map((l) => l.trim().split(/\s+/)[0]), ['0.5', '1']);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  for (const e of rep.sweep) for (const k of ['precision', 'recall', 'density', 'coverage']) assert.ok(Number.isFinite(e[k]), `${k} at ${e.truncation}`);
  assert.ok(fs.statSync(plot).size > 0);
});

test('eval --metrics pr,dc,ifid: what is missing is a one-line error naming the fix', () => {
  const cases: [string[], RegExp][] = [
    [['eval', '--images', labelled, '--stats', stats, ...P, '--metrics', 'pr'], /precision\/recall needs the reference images themselves, not statistics: pass --real PATH/],
    [['eval', '--images', labelled, '--stats', stats, ...P, '--metrics', 'dc'], /density\/coverage needs the reference images themselves, not statistics: pass --real PATH/],
    [['eval', '--images', labelled, ...P, '--metrics', 'ifid'], /iFID needs labelled reference images, not statistics: pass --real PATH with class labels/],
    [['eval', '--images', flat, '--real', labelled, ...P, '--metrics', 'ifid'], /iFID needs the class of every image of .*flat, but .*flat has images outside class sub-folders/],
    [['eval', '--images', labelled, '--real', flat, ...P, '--metrics', 'ifid'], /iFID needs the class of every image of the real set .*flat, but .*flat has images outside class sub-folders/],
    [['eval', '--weights', G, '--real', labelled, ...P, '--metrics', 'ifid', '-n', '20'], /too few samples: -n has 20, but iFID needs at least 2 images of each of the 1000 classes \(with class-balanced sampling, -n >= 2000\)/],
    [['eval', '--weights', G, '--real', labelled, ...P, '--metrics', 'ifid', '-n', '2000'], /iFID needs at least 2 real images of every class the generator makes: class 2 has 0 in the real set/],
    [['eval', '--images', labelled, '--real', labelled, ...P, '--metrics', 'pr', '--pr-k', '8'], /too few samples: .*lab has 8, but precision\/recall with k=8 needs at least 9 samples per set \(lower --pr-k\)/],
  ];
  for (const [args, re] of cases) {
    const res = biggan(args);
    const rest = { ...res, stderr: res.stderr.split('\n').filter((l) => !l.startsWith('note: ')).join('\n') };
    assert.ok(isCleanError(rest), `${args.join(' ')}: expected a one-line error, got status ${res.status}:\n${res.stderr}`);
    assert.match(rest.stderr, /^biggan: error: /);
    assert.match(rest.stderr.trim(), re, args.join(' '));
  }
  const bad = biggan(['eval', '--images', labelled, '--real', labelled, ...P, '--metrics', 'pr', '--pr-k', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--pr-k <k>.*expected a positive integer, got "0"/);
  const help = biggan(['eval', '--help']);
  assert.match(help.stdout, /--dc-k <k>/);
  assert.match(help.stdout, /\n {2}ifid +intra-class FID.*\[--real with class labels/);
});
