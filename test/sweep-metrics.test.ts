/**
 * A sweep evaluating the StudioGAN-style metrics: eval.metrics with pr, dc and ifid runs
 * end to end through `biggan sweep` (class-conditional trials on the synthetic data, a
 * labelled real set named as images.npy:labels.npy relative to the spec, procedural
 * Inception), each trial's result.json records precision, recall, density, coverage and
 * ifid, and `biggan sweep report` shows their per-setting medians as columns.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeNpy } from '../src/io/npy.js';
import { readSweepState, trialDir } from '../src/sweep/runner.js';
import { readResult } from '../src/sweep/run-trial.js';
import { biggan } from './cli-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-sweep-metrics-'));
const CLASSES = 4;

test('sweep with pr, dc and ifid: result.json records them, the report has their columns', () => {
  // 24 labelled real images, 6 per class
  const n = 24, r = 32;
  const images = new Uint8Array(n * r * r * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37 + (i >> 7) * 11) & 255;
  writeNpy(path.join(tmp, 'real.npy'), { dtype: 'uint8', shape: [n, r, r, 3], data: images });
  writeNpy(path.join(tmp, 'real_labels.npy'), { dtype: 'int32', shape: [n], data: Int32Array.from({ length: n }, (_, i) => i % CLASSES) });
  const spec = {
    fixed: {
      ch: 4, batch: 4, dimZ: 16, sharedDim: 8, syntheticClasses: CLASSES, syntheticCount: 32, standingPasses: 1, graphs: 'per-step',
      sampleEvery: 0, svEvery: 0, logEvery: 1, emaStart: 1,
    },
    vary: { grid: { gLr: [1e-4, 5e-4] } },
    seeds: [0],
    steps: 2,
    // 12 generated images, class-balanced: 3 per class, enough for each class's FID and k = 2 neighbours
    eval: { metrics: ['fid', 'pr', 'dc', 'ifid'], n: 12, real: 'real.npy:real_labels.npy', inception: 'procedural', settings: { prK: 2, dcK: 2 } },
  };
  const specFile = path.join(tmp, 'spec.json');
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const out = path.join(tmp, 'sweep');
  // the CLI runs from the repository root: the spec's relative pair must resolve against the spec's folder
  const run = biggan(['sweep', specFile, '--out', out]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /2 of 2 trials finished/);

  const state = readSweepState(out);
  const results = state.trials.map((t) => readResult(trialDir(out, t.id))!);
  for (const res of results) {
    const m = res.metrics;
    for (const k of ['fid', 'precision', 'recall', 'density', 'coverage', 'ifid']) assert.ok(Number.isFinite(m[k]), `${k} in ${JSON.stringify(m)}`);
    for (const k of ['precision', 'recall', 'coverage']) assert.ok(m[k] >= 0 && m[k] <= 1, `${k} = ${m[k]}`);
    assert.ok(m.density >= 0 && m.ifid >= 0);
  }

  const rep = biggan(['sweep', 'report', out]);
  assert.equal(rep.status, 0, rep.stderr);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /## Other metrics per setting \(median over seeds\)\n\n\| rank \| setting \| precision \| recall \| density \| coverage \| ifid \|\n/);
  // one seed per setting: the medians are the trials' own values, in FID order
  const ranked = [...results].sort((a, b) => a.metrics.fid - b.metrics.fid);
  ranked.forEach((res, i) => {
    const m = res.metrics;
    const cells = [m.precision, m.recall, m.density, m.coverage].map((v) => v.toFixed(4)).concat(m.ifid.toFixed(2));
    assert.ok(md.includes(`| ${i + 1} | gLr=${res.setting.gLr} | ${cells.join(' | ')} |`), `row ${i + 1} of\n${md}`);
  });
});
