/**
 * Class-conditional LEARNING, not just a loop that runs: BigGAN 32x32 (width 8) trained
 * on the synthetic hue classes for a few hundred iterations with fixed seeds; then the
 * final checkpoint's EMA generator (with standing statistics, as `biggan sample` uses
 * it) draws 20 images of each of the 8 classes, and classifySynthetic — the hue of the
 * mean colour, nearest class hue — must recognise class k as k far above chance (1/8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TrainRun } from '../src/train/run/train-run.js';
import { loadGenerator } from '../src/models/checkpoint.js';
import { Sampler } from '../src/sample/sampler.js';
import { classifySyntheticBatch } from '../src/data/synthetic.js';
import { Rng } from '../src/random/rng.js';

const STEPS = Number(process.env.BIGGAN_LEARNING_STEPS ?? 200);

test(`class-conditional learning on synthetic hues: ${STEPS} iterations, class k generated as k`, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-learning-'));
  const t0 = performance.now();
  const run = await TrainRun.open({
    flags: {
      gCh: 8, dCh: 8, dimZ: 32, sharedDim: 16, batch: 16, steps: STEPS, seed: 1,
      gLr: 5e-4, dLr: 5e-4, emaDecay: 0.95, emaStart: 20, standingPasses: 8, standingBatch: 16,
      graphs: 'per-step', checkpointEvery: STEPS, sampleEvery: 0, svEvery: 0, logEvery: 10,
      synthetic: { numClasses: 8, count: 800, seed: 0 },
    },
    outDir: out,
    runtime: { threads: 1 },
  });
  const result = await run.train();
  assert.equal(result.status, 'completed');
  const trainS = (performance.now() - t0) / 1000;

  const { model } = loadGenerator(path.join(out, 'checkpoint.safetensors'));
  const K = 8;
  const n = 20 * K;
  const z = new Rng(123).fillNormal(new Float32Array(n * model.zDim));
  const cv = new Float32Array(n * K);
  for (let i = 0; i < n; i++) cv[i * K + (i % K)] = 1;
  const sampler = Sampler.of(model);
  const images = await sampler.generate({ z, classVectors: cv, n, truncation: 1 }, 40);
  await sampler.release();
  const predicted = classifySyntheticBatch(images, n, K);
  const perClass = new Array(K).fill(0);
  for (let i = 0; i < n; i++) if (predicted[i] === i % K) perClass[i % K]++;
  const accuracy = perClass.reduce((a, b) => a + b, 0) / n;
  console.log(
    `learning test: ${STEPS} iterations in ${trainS.toFixed(1)} s; generated images classified as their class: ${(100 * accuracy).toFixed(1)}% ` +
      `(chance 12.5%); per class ${perClass.map((c) => `${c}/20`).join(' ')}`,
  );
  assert.ok(accuracy >= 0.6, `accuracy ${accuracy}`);
  assert.ok(perClass.filter((c) => c >= 10).length >= 6, 'most classes learned, not a few');
  fs.rmSync(out, { recursive: true, force: true });
});
