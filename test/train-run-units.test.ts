/**
 * The training-run pieces without training: singular values, latent distributions
 * and streams, the config (paper defaults, resume rules), the collapse watch, the
 * log, the σ0 clamp, standing statistics, and atomic checkpoint replacement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../src/random/rng.js';
import { orthogonalFill } from '../src/nn/init.js';
import { Param } from '../src/engine/graph.js';
import { topSingularValues } from '../src/train/run/singular-values.js';
import { drawLatents, iterationNoise, streamRng } from '../src/train/run/latents.js';
import { mergeForResume, resolveConfig, hyperOf } from '../src/train/run/config.js';
import { CollapseWatch, sheetDiversity } from '../src/train/run/collapse-watch.js';
import { RunLog, readRunLog } from '../src/train/run/run-log.js';
import { SigmaClamper } from '../src/train/run/sigma-clamp.js';
import { RunDir } from '../src/train/run/run-dir.js';
import { buildRunModels } from '../src/train/run/build-models.js';
import { StandingStatistics, bnStatEntries } from '../src/train/run/standing-stats.js';
import { readTrainingCheckpoint, writeTrainingCheckpoint, type TrainingSnapshot } from '../src/train/run/train-checkpoint.js';
import { emptyWatchState } from '../src/train/run/collapse-watch.js';
import { AdamState } from '../src/train/optimizer-state.js';
import { UserError } from '../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-run-units-'));

/** W = U diag(s) Vᵀ with random orthonormal U, V. */
function withSpectrum(rows: number, cols: number, s: number[], rng: Rng): Float32Array {
  const n = Math.min(rows, cols);
  const U = new Float32Array(rows * n);
  const V = new Float32Array(cols * n);
  orthogonalFill(U, rows, n, rng);
  orthogonalFill(V, cols, n, rng);
  const W = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += U[r * n + i] * s[i] * V[c * n + i];
      W[r * cols + c] = v;
    }
  }
  return W;
}

test('top-3 singular values: ordered, accurate on clustered spectra, warm starts converge at once', () => {
  const rng = new Rng(1);
  for (const [rows, cols] of [[24, 200], [200, 24], [16, 16]]) {
    const n = Math.min(rows, cols);
    const s = Array.from({ length: n }, (_, i) => 2 * Math.exp(-0.03 * i)); // neighbours 3% apart
    const W = withSpectrum(rows, cols, s, rng);
    const r = topSingularValues(W, rows, cols);
    r.values.forEach((v, i) => assert.ok(Math.abs(v - s[i]) < 1e-5 * s[0], `${rows}x${cols}: sigma${i} ${v} vs ${s[i]}`));
    const warm = topSingularValues(W, rows, cols, { start: r.vectors });
    assert.ok(warm.iterations <= 3, `warm start took ${warm.iterations} iterations`);
  }
  // an orthogonal matrix: all singular values 1, still ordered
  const O = new Float32Array(32 * 64);
  orthogonalFill(O, 32, 64, rng);
  const o = topSingularValues(O, 32, 64).values;
  assert.ok(o.every((v) => Math.abs(v - 1) < 1e-6) && o[0] >= o[1] && o[1] >= o[2]);
});

test('latents: distributions, and one independent stream per (seed, stream, step)', () => {
  const rng = new Rng(2);
  const n = 20000;
  const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const normal = drawLatents(rng, n, 'normal', 1);
  assert.ok(Math.abs(mean(normal)) < 0.03 && Math.abs(mean(normal.map((v) => v * v)) - 1) < 0.05);
  const uni = drawLatents(rng, n, 'uniform', 1);
  assert.ok(uni.every((v) => v >= -1 && v < 1) && Math.abs(mean(uni)) < 0.03);
  const bern = drawLatents(rng, n, 'bernoulli', 1);
  assert.ok(bern.every((v) => v === 0 || v === 1) && Math.abs(mean(bern) - 0.5) < 0.02);
  const cens = drawLatents(rng, n, 'censored-normal', 2);
  assert.ok(cens.every((v) => v >= 0) && Math.abs(cens.filter((v) => v === 0).length / n - 0.5) < 0.02);
  const spec = { seed: 3, batch: 4, zDim: 8, numClasses: 5, dSteps: 2, latent: 'normal' as const, zStd: 1 };
  const a = iterationNoise(spec, 7);
  assert.equal(a.zs.length, 3);
  assert.deepEqual(iterationNoise(spec, 7), a, 'same step, same draws');
  assert.notDeepEqual(iterationNoise(spec, 8).zs[0], a.zs[0]);
  assert.notDeepEqual(streamRng(3, 'sheet', 7).nextUint32(), streamRng(3, 'noise', 7).nextUint32());
});

test("config: the paper's recipe by default, the demo preset without --data, resume rules", () => {
  const c = resolveConfig({ data: '/some/folder' });
  assert.equal(c.gLr, 5e-5);
  assert.equal(c.dLr, 2e-4);
  assert.deepEqual(c.gBetas, [0, 0.999]);
  assert.deepEqual(c.dBetas, [0, 0.999]);
  assert.equal(c.dSteps, 2);
  assert.equal(c.orthoBeta, 1e-4);
  assert.equal(c.emaDecay, 0.9999);
  assert.equal(c.standingPasses, 100);
  assert.equal(c.latent, 'normal');
  assert.equal(c.resolution, 128);
  assert.equal(c.hier, true);
  assert.equal(hyperOf(c).numDSteps, 2);
  const demo = resolveConfig({});
  assert.equal(demo.data, null);
  assert.equal(demo.resolution, 32);
  assert.equal(demo.steps, 600);
  assert.equal(demo.dSteps, 1);
  assert.equal(resolveConfig({ batch: 7 }).standingBatch, 7);
  assert.throws(() => resolveConfig({ data: 'x', resolution: 48 }), UserError);
  assert.throws(() => resolveConfig({ gLr: -1 }), /--g-lr/);
  assert.throws(() => resolveConfig({ collapse: { dLossLow: 2, dLossHigh: 1 } }), /collapse-d-loss-high/);
  // resume: the saved config plus changes; model/data/batch/seed fixed
  const { config, changed } = mergeForResume(demo, { steps: 500, gLr: 1e-4 });
  assert.equal(config.steps, 500);
  assert.deepEqual(changed, ['gLr']);
  assert.throws(() => mergeForResume(demo, { batch: 8 }), /cannot change/);
  assert.throws(() => mergeForResume(demo, { gCh: 16 }), /cannot change/);
  assert.doesNotThrow(() => mergeForResume(demo, { batch: demo.batch }));
});

test('collapse watch: sigma explosion, D-loss jump after near zero, degenerate samples; warmup; state round trip', () => {
  const cfg = { ...resolveConfig({}).collapse, warmup: 10, sigmaFactor: 3, sigmaWindow: 3, dLossWindow: 4, dLossLow: 0.1, dLossHigh: 1, diversityFraction: 0.25 };
  // sigma: smooth growth is fine, a 5x jump is an explosion
  const w = new CollapseWatch(cfg);
  for (let s = 10; s <= 50; s += 10) assert.equal(w.onSingularValues(s, { a: [1 + s / 100, 1, 1], b: [2, 1, 1] }), null);
  const sig = w.onSingularValues(60, { a: [8, 1, 1], b: [2, 1, 1] });
  assert.equal(sig?.kind, 'sigma-explosion');
  assert.equal(sig?.onset, 50);
  assert.match(sig!.detail, /G's a grew/);
  // early growth (before warmup) does not count
  const early = new CollapseWatch(cfg);
  early.onSingularValues(2, { a: [1, 1, 1] });
  assert.equal(early.onSingularValues(4, { a: [9, 1, 1] }), null);
  // D loss: high early is normal; near zero then a jump is collapse
  const d = new CollapseWatch(cfg);
  let signal = null;
  for (let s = 1; s <= 30 && !signal; s++) signal = d.onIteration(s, 2);
  assert.equal(signal, null);
  for (let s = 31; s <= 40; s++) assert.equal(d.onIteration(s, 0.02), null);
  const state = d.state();
  const resumed = new CollapseWatch(cfg, state);
  let jump = null;
  let s = 41;
  for (; !jump && s < 60; s++) jump = resumed.onIteration(s, 3);
  assert.equal(jump?.kind, 'd-loss-jump');
  assert.equal(jump!.onset, jump!.step - 4);
  // samples: diversity falling below a quarter of its best
  const m = new CollapseWatch(cfg);
  assert.equal(m.onSamples(10, 0.3), null);
  assert.equal(m.onSamples(20, 0.2), null);
  const deg = m.onSamples(30, 0.05);
  assert.equal(deg?.kind, 'degenerate-samples');
  assert.equal(deg?.onset, 20);
  assert.equal(new CollapseWatch({ ...cfg, enabled: false }, m.state()).onSamples(40, 0.01), null);
  // diversity of a sheet: 0 when each class's images are identical
  const same = new Float32Array(4 * 3).fill(0.5);
  assert.equal(sheetDiversity(same, 3, [0, 0, 1, 1]), 0);
  assert.ok(sheetDiversity(Float32Array.of(0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0), 3, [0, 0, 1, 1]) > 0);
});

test('run log: resume drops records past the checkpoint and a torn last line', () => {
  const file = path.join(tmp, 'log.jsonl');
  const log = new RunLog(file);
  for (let s = 1; s <= 6; s++) log.write({ type: 'train', step: s, g_loss: s });
  fs.appendFileSync(file, '{"type":"train","st'); // killed mid-write
  assert.equal(log.truncateAfter(4), 3);
  assert.deepEqual(readRunLog(file).map((r) => r.step), [1, 2, 3, 4]);
});

test('sigma clamp: sigma0 brought to the target, the other singular values kept', () => {
  const rng = new Rng(4);
  const p = new Param('w', [12, 30], withSpectrum(12, 30, [5, 2, 1.5, 1, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.05], rng));
  const r = new SigmaClamper({ kind: 'value', value: 3 }, [p]).apply();
  assert.equal(r.clamped, 1);
  const after = topSingularValues(p.data, 12, 30).values;
  assert.ok(Math.abs(after[0] - 3) < 1e-4 && Math.abs(after[1] - 2) < 1e-4 && Math.abs(after[2] - 1.5) < 1e-4, `${after}`);
  const q = new Param('w', [12, 30], withSpectrum(12, 30, [5, 2, 1.5, 1, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.05], rng));
  new SigmaClamper({ kind: 'ratio', ratio: 1.5 }, [q]).apply();
  assert.ok(Math.abs(topSingularValues(q.data, 12, 30).values[0] - 3) < 1e-4);
});

function tinyConfig() {
  return resolveConfig({ gCh: 4, dCh: 4, dimZ: 16, sharedDim: 8, batch: 4, synthetic: { numClasses: 3, count: 30, seed: 0 } });
}

test('standing statistics: the average of per-pass batch statistics', async () => {
  const c = tinyConfig();
  const { G_ema } = buildRunModels(c, 3);
  const st = await StandingStatistics.create(G_ema, 4);
  const rng = new Rng(9);
  const draws = [0, 1, 2].map(() => ({ z: rng.fillNormal(new Float32Array(4 * G_ema.zDim)), y: BigInt64Array.of(0n, 1n, 2n, 1n) }));
  const avg = await st.compute(3, (i) => draws[i]);
  const single = await Promise.all([0, 1, 2].map((i) => st.compute(1, () => draws[i])));
  await st.release();
  const entries = bnStatEntries(G_ema);
  assert.equal(avg.size, entries.length);
  assert.ok(entries.some((e) => e.path.endsWith('stored_var')));
  for (const e of entries) {
    const a = avg.get(e.path)!;
    for (let j = 0; j < a.length; j++) {
      const expect = (single[0].get(e.path)![j] + single[1].get(e.path)![j] + single[2].get(e.path)![j]) / 3;
      assert.ok(Math.abs(a[j] - expect) <= 1e-5 * Math.max(1, Math.abs(expect)), `${e.path}[${j}]`);
    }
  }
  // variances are positive and not the initial 1s
  const v = avg.get(entries.find((e) => e.path.endsWith('stored_var'))!.path)!;
  assert.ok(v.every((x) => x > 0) && v.some((x) => Math.abs(x - 1) > 1e-3));
});

test('checkpoints: a write failing half-way leaves the previous checkpoint whole under the final name', () => {
  const c = tinyConfig();
  const models = buildRunModels(c, 3);
  const dir = new RunDir(path.join(tmp, 'atomic'));
  dir.create();
  const snapshot = (step: number): TrainingSnapshot => ({
    meta: {
      step, config: c, loader: { version: 1, epoch: 0, batch: 0, epochRng: [1, 2, 3, 4], batchSize: 4, flip: false, count: 30 },
      watch: emptyWatchState(), healthy: true, standing: null, data: { kind: 'synthetic', source: '', count: 30 }, elapsedSeconds: 0,
    },
    models, gOptim: new AdamState(models.G, 'G_adam'), dOptim: new AdamState(models.D, 'D_adam'), standing: null, classNames: ['a', 'b', 'c'],
  });
  writeTrainingCheckpoint(dir.stepCheckpoint(2), snapshot(2));
  dir.promote(dir.stepCheckpoint(2));
  const before = fs.readFileSync(dir.checkpoint);

  // the next write dies after a few bytes (disk full, kill): nothing partial may appear under a final name
  const realWrite = fs.writeSync;
  let written = 0;
  (fs as { writeSync: unknown }).writeSync = (...args: unknown[]) => {
    if ((written += 1) > 2) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    return (realWrite as (...a: unknown[]) => number)(...args);
  };
  try {
    assert.throws(() => writeTrainingCheckpoint(dir.stepCheckpoint(4), snapshot(4)), /ENOSPC/);
  } finally {
    (fs as { writeSync: unknown }).writeSync = realWrite;
  }
  assert.ok(!fs.existsSync(dir.stepCheckpoint(4)), 'no partial step file');
  assert.ok(fs.readFileSync(dir.checkpoint).equals(before), 'checkpoint.safetensors unchanged');
  assert.equal(readTrainingCheckpoint(dir.checkpoint).meta.step, 2);
  assert.deepEqual(fs.readdirSync(dir.checkpointsDir).filter((n) => n.endsWith('.tmp')), [], 'temporary file removed');

  // a successful write replaces it; pruning keeps the newest K plus pinned ones
  writeTrainingCheckpoint(dir.stepCheckpoint(4), snapshot(4));
  dir.promote(dir.stepCheckpoint(4));
  assert.equal(readTrainingCheckpoint(dir.checkpoint).meta.step, 4);
  for (const s of [6, 8]) writeTrainingCheckpoint(dir.stepCheckpoint(s), snapshot(s));
  dir.prune(1, new Set([dir.stepCheckpoint(2)]));
  assert.deepEqual(dir.stepCheckpoints().map((x) => x.step), [2, 8]);
  assert.equal(readTrainingCheckpoint(dir.checkpoint).meta.step, 4, 'the current checkpoint survives pruning of its step file');
});
