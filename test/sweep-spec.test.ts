/**
 * Sweep specs: field-by-field validation (one-line errors naming the field), grid and
 * random expansion, deterministic trial ids, and the shipped Table 1 example.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSpec, readSpec } from '../src/sweep/spec.js';
import { settingId, settingsOf, trialsOf } from '../src/sweep/trials.js';
import { checkTrialOptions } from '../src/sweep/check-options.js';
import { assertUserError } from './assert-user-error.js';
import { biggan, isCleanError } from './cli-helpers.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const base = { vary: { grid: { gLr: [1e-4, 2e-4] } }, steps: 10 };

test('spec errors name the field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /a sweep spec must be a JSON object/],
    [{ ...base, bogus: 1 }, /spec: unknown field bogus/],
    [{ ...base, steps: 0 }, /^steps must be a positive integer, got 0/],
    [{ ...base, seeds: [0, 0] }, /seeds must not repeat/],
    [{ ...base, seeds: [1.5] }, /seeds\[0\] must be a non-negative integer/],
    [{ ...base, fixed: { out: 'x' } }, /fixed\.out is not a train option a sweep can set/],
    [{ ...base, fixed: { seed: 3 } }, /fixed\.seed is not a train option/],
    [{ ...base, vary: {} }, /vary must have exactly one of grid, random/],
    [{ ...base, vary: { grid: { gLr: [] } } }, /vary\.grid\.gLr must be a non-empty list/],
    [{ ...base, vary: { grid: { adam: [{ betas: [0.5, 0.9], nope: 1 }] } } }, /vary\.grid\.adam\[0\]\.nope is not a train option/],
    [{ ...base, vary: { grid: { adam: [3] } } }, /vary\.grid\.adam\[0\] must be an object of train options/],
    [{ ...base, vary: { random: { trials: 0, ranges: { gLr: { min: 1, max: 2 } } } } }, /vary\.random\.trials must be a positive integer/],
    [{ ...base, vary: { random: { trials: 2, ranges: { gLr: { min: 0, max: 1, scale: 'log' } } } } }, /vary\.random\.ranges\.gLr: a log scale needs min > 0/],
    [{ ...base, vary: { random: { trials: 2, ranges: { gLr: { min: 2, max: 1 } } } } }, /vary\.random\.ranges\.gLr: min \(2\) must be below max \(1\)/],
    [{ ...base, vary: { random: { trials: 2, ranges: { b: { min: 0, max: 1, sets: ['betas.2'] } } } } }, /vary\.random\.ranges\.b\.sets\[0\]: betas\.2 is not a train option/],
    [{ ...base, eval: { metrics: ['fid'], n: 10 } }, /eval: fid needs eval\.stats .* or eval\.real/],
    [{ ...base, eval: { metrics: ['kid'], n: 10, stats: 's.npz' } }, /eval: kid, pr, dc and ifid need eval\.real/],
    [{ ...base, eval: { metrics: ['fud'], n: 10 } }, /eval\.metrics\[0\] must be one of/],
    [{ ...base, eval: { metrics: ['is'], n: -1 } }, /eval\.n must be a positive integer/],
  ];
  for (const [spec, re] of cases) assertUserError(() => parseSpec(spec, '/'), re);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-spec-'));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"steps": ');
  assertUserError(() => readSpec(bad), /bad\.json: not valid JSON/);
  fs.writeFileSync(bad, JSON.stringify({ ...base, steps: 'many' }));
  assertUserError(() => readSpec(bad), /bad\.json: steps must be a positive integer, got "many"/);
});

test('grid: Cartesian product in spec order, joint dimensions, ids from setting + seed', () => {
  const spec = parseSpec({ vary: { grid: { gLr: [1, 2], adam: [{ betas: [0.5, 0.9], dSteps: 5 }, { betas: [0.5, 0.999], dSteps: 1 }] } }, seeds: [0, 7], steps: 3, eval: { metrics: ['fid'], n: 10, stats: 'ref.npz' } }, '/data');
  assert.equal(spec.eval!.stats, path.resolve('/data', 'ref.npz'), 'eval paths are relative to the spec');
  assert.deepEqual(settingsOf(spec), [
    { gLr: 1, betas: [0.5, 0.9], dSteps: 5 }, { gLr: 1, betas: [0.5, 0.999], dSteps: 1 },
    { gLr: 2, betas: [0.5, 0.9], dSteps: 5 }, { gLr: 2, betas: [0.5, 0.999], dSteps: 1 },
  ]);
  const trials = trialsOf(spec);
  assert.equal(trials.length, 8);
  assert.equal(trials[0].id, `${trials[0].settingId}-s0`);
  assert.equal(trials[1].id, `${trials[0].settingId}-s7`);
  assert.equal(new Set(trials.map((t) => t.id)).size, 8);
  // key order does not matter; values do
  assert.equal(settingId({ a: 1, b: [2, 3] }), settingId({ b: [2, 3], a: 1 }));
  assert.notEqual(settingId({ a: 1 }), settingId({ a: 2 }));
  assert.deepEqual(trialsOf(spec).map((t) => t.id), trials.map((t) => t.id), 'deterministic');
});

test('random search: draws inside the ranges, log-uniform, pair elements, seeded', () => {
  const raw = {
    fixed: { betas: [0.5, 0.999] },
    vary: { random: { trials: 400, seed: 3, ranges: { lr: { min: 1e-5, max: 1e-2, scale: 'log', sets: ['gLr', 'dLr'] }, b1: { min: 0, max: 1, sets: ['betas.0'] }, dSteps: { choices: [1, 5] } } } },
    steps: 5,
  };
  const settings = settingsOf(parseSpec(raw, '/'));
  assert.equal(settings.length, 400);
  const lr = settings.map((s) => s.gLr as number);
  assert.ok(settings.every((s) => s.gLr === s.dLr));
  assert.ok(lr.every((x) => x >= 1e-5 && x <= 1e-2));
  // log-uniform: about a third of the draws in each decade
  for (const [lo, hi] of [[1e-5, 1e-4], [1e-4, 1e-3], [1e-3, 1e-2]]) {
    const share = lr.filter((x) => x >= lo && x < hi).length / lr.length;
    assert.ok(Math.abs(share - 1 / 3) < 0.08, `decade ${lo}: ${share}`);
  }
  assert.ok(settings.every((s) => (s.betas as number[])[1] === 0.999 && (s.betas as number[])[0] >= 0 && (s.betas as number[])[0] <= 1));
  assert.deepEqual(new Set(settings.map((s) => s.dSteps)), new Set([1, 5]));
  assert.deepEqual(settingsOf(parseSpec(raw, '/')), settings, 'the same seed draws the same settings');
  assert.notDeepEqual(settingsOf(parseSpec({ ...raw, vary: { random: { ...raw.vary.random, seed: 4 } } }, '/')), settings);
});

test("examples/landscape-table1.json: the study's Table 1 grid, 24 settings x 5 seeds", () => {
  const spec = readSpec(path.join(REPO, 'examples', 'landscape-table1.json'));
  const settings = settingsOf(spec);
  assert.equal(settings.length, 24);
  assert.equal(trialsOf(spec).length, 120);
  assert.deepEqual([...new Set(settings.map((s) => s.gLr))].sort(), [0.0001, 0.0002, 0.001]);
  assert.ok(settings.every((s) => s.gLr === s.dLr));
  assert.deepEqual([...new Set(settings.map((s) => s.penaltyWeight))], [1, 10]);
  assert.deepEqual([...new Set(settings.map((s) => JSON.stringify([s.betas, s.dSteps])))].sort(), ['[[0.5,0.9],5]', '[[0.5,0.999],1]', '[[0.5,0.999],5]', '[[0.9,0.999],5]'].sort());
  assert.equal(spec.fixed.penalty, 'wgan-gp');
  for (const s of settings) checkTrialOptions(spec.fixed, s, spec.steps); // every setting is a valid `biggan train` run
  assert.deepEqual(spec.seeds, [0, 1, 2, 3, 4]);
});

test('biggan sweep: usage errors are one line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-sweep-cli-'));
  const spec = path.join(dir, 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ ...base, vary: { grid: { bogus: [1] } } }));
  const badValue = path.join(dir, 'bad-value.json');
  fs.writeFileSync(badValue, JSON.stringify({ ...base, fixed: { arch: 'sndcgan' }, vary: { grid: { gLr: [1e-4, 'fast'] } } }));
  const cases: [string[], RegExp][] = [
    [['sweep', spec], /sweep: --out <dir> is required/],
    [['sweep', path.join(dir, 'missing.json'), '--out', dir], /missing\.json does not exist/],
    [['sweep', spec, '--out', path.join(dir, 'o')], /spec\.json: vary\.grid\.bogus\[0\] must be an object of train options/],
    [['sweep', 'report'], /sweep report: give the sweep directory/],
    [['sweep', badValue, '--out', path.join(dir, 'b')], /setting \{"gLr":"fast"\}: --g-lr must be a positive number, got fast/],
    [['sweep', 'report', dir, '--workers', '2'], /--workers applies only to running a spec/],
    [['sweep', spec, 'extra', '--out', dir], /unexpected argument extra/],
  ];
  for (const [args, re] of cases) {
    const r = biggan(args);
    assert.ok(isCleanError(r), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test("paths resolve against the spec's folder, both files of an images.npy:labels.npy pair; the Table 1 example names CIFAR-10's test split", () => {
  const spec = parseSpec({ ...base, fixed: { data: 'd/images.npy:d/labels.npy' }, eval: { metrics: ['ifid'], n: 8, real: 'r.npy:rl.npy', inception: 'procedural' } }, '/base');
  assert.equal(spec.fixed.data, '/base/d/images.npy:/base/d/labels.npy');
  assert.equal(spec.eval!.real, '/base/r.npy:/base/rl.npy');
  const table1 = readSpec(path.join(REPO, 'examples', 'landscape-table1.json'));
  assert.equal(table1.eval!.n, 10000);
  assert.equal(table1.eval!.stats, path.join(REPO, 'examples', 'cifar10-test.npz'));
  assert.equal(table1.eval!.real, path.join(REPO, 'examples', 'cifar-10-batches-bin', 'test_batch.bin'));
  assert.equal(table1.fixed.data, path.join(REPO, 'examples', 'cifar-10-batches-bin'));
});
