import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orthogonalFill, initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { Rng } from '../src/random/rng.js';
import { BigGanDeepGenerator } from '../src/models/biggan-deep-generator.js';
import { bigGanDeepConfig } from '../src/models/biggan-deep-config.js';
import { Sampler } from '../src/sample/sampler.js';

function gram(data: Float32Array, rows: number, cols: number, byRows: boolean): number {
  // max |G - I| where G is the Gram matrix of the rows (or columns)
  const k = byRows ? rows : cols;
  let worst = 0;
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++) {
      let s = 0;
      const len = byRows ? cols : rows;
      for (let i = 0; i < len; i++) s += byRows ? data[a * cols + i] * data[b * cols + i] : data[i * cols + a] * data[i * cols + b];
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  return worst;
}

test('orthogonal init: orthonormal rows (wide) or columns (tall), seeded', () => {
  for (const [rows, cols] of [
    [8, 27],
    [30, 6],
    [16, 16],
  ]) {
    const d = new Float32Array(rows * cols);
    orthogonalFill(d, rows, cols, new Rng(1));
    assert.ok(gram(d, rows, cols, rows <= cols) < 1e-5, `${rows}x${cols}`);
    const again = new Float32Array(rows * cols);
    orthogonalFill(again, rows, cols, new Rng(1));
    assert.deepEqual(again, d);
  }
});

test('a fresh BigGAN-deep model with orthogonal init and SN vectors samples finite images, independent of batch size', async () => {
  const cfg = bigGanDeepConfig(32, { channelWidth: 8, nStats: 1, numClasses: 10 });
  const G = new BigGanDeepGenerator(cfg);
  initOrthogonal(G, new Rng(0));
  initSpectralVectors(G, 3);
  const weights = G.namedParams().filter(([, p]) => p.trainable && p.shape.length >= 2);
  assert.ok(weights.length > 10 && weights.every(([, p]) => p.data.some((v) => v !== 0)));
  const n = 3;
  const rng = new Rng(5);
  const z = new Float32Array(n * G.zDim).map(() => rng.normal());
  const cv = new Float32Array(n * 10);
  [1, 4, 9].forEach((c, i) => (cv[i * 10 + c] = 1));
  const s = Sampler.of(G);
  const a = await s.generate({ z, classVectors: cv, n, truncation: 1 }, 1);
  const b = await s.generate({ z, classVectors: cv, n, truncation: 1 }, 2);
  await s.release();
  assert.ok(a.every(Number.isFinite));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  assert.ok(d < 1e-5, `batch 1 vs batch 2 (padded): ${d}`);
});
