import test from 'node:test';
import assert from 'node:assert/strict';
import { BatchLoader } from '../src/data/batch-loader.js';
import {
  classifySynthetic, classifySyntheticBatch, generateSynthetic, insideSyntheticShape, renderSyntheticImage, SYNTHETIC_SHAPES, syntheticClassNames, syntheticDataset,
  type SyntheticShape,
} from '../src/data/synthetic.js';

test('synthetic data is deterministic, balanced and varied', () => {
  const a = generateSynthetic({ numClasses: 5, count: 50, seed: 11 });
  const b = generateSynthetic({ numClasses: 5, count: 50, seed: 11 });
  const c = generateSynthetic({ numClasses: 5, count: 50, seed: 12 });
  assert.equal(a.resolution, 32);
  assert.equal(a.images.length, 50 * 32 * 32 * 3);
  assert.deepEqual(a.images, b.images);
  assert.notDeepEqual(a.images, c.images);
  assert.deepEqual(Array.from(a.labels.subarray(0, 7)), [0, 1, 2, 3, 4, 0, 1]);
  assert.deepEqual(syntheticClassNames(4), ['disc', 'square', 'triangle', 'ring']);
  assert.deepEqual(syntheticClassNames(10).slice(7), ['checker-252', 'disc-288', 'square-324']);
  // Images of one class are not copies of each other (shape position/size, noise).
  const per = 32 * 32 * 3;
  assert.notDeepEqual(a.images.subarray(0, per), a.images.subarray(5 * per, 6 * per));
  // A prefix of a larger set is the smaller set: sample i depends only on (seed, i).
  const more = generateSynthetic({ numClasses: 5, count: 80, seed: 11 });
  assert.deepEqual(more.images.subarray(0, a.images.length), a.images);
  assert.throws(() => generateSynthetic({ numClasses: 1 }), RangeError);
});

test('classes differ in shape: each shape has its own geometry', () => {
  const at = (shape: SyntheticShape, px: number, py: number): boolean => insideSyntheticShape(shape, px, py, 0.25);
  assert.equal(new Set(SYNTHETIC_SHAPES).size, 8);
  assert.deepEqual(SYNTHETIC_SHAPES.map((s) => at(s, 0.01, 0.01)), [true, true, true, false, true, true, true, true], 'centre: only the ring is hollow');
  assert.ok(at('square', 0.2, 0.2) && !at('disc', 0.2, 0.2) && !at('diamond', 0.2, 0.2) && !at('cross', 0.2, 0.2), 'corners: the square only');
  assert.ok(at('triangle', 0.2, 0.19) && !at('triangle', 0.2, -0.19), 'the triangle is wide at the bottom, narrow at the top');
  assert.ok(at('cross', 0.24, 0) && at('cross', 0, 0.24) && at('diamond', 0.26, 0) && !at('disc', 0.26, 0));
  assert.ok(at('stripes', 0.3, 0.01) && !at('stripes', 0.3, 0.2) && at('stripes', 0.9, 0.35), 'horizontal bands');
  assert.ok(at('checker', 0.01, 0.01) && !at('checker', 0.3, 0.01) && at('checker', 0.3, 0.3));
  // rendered: the bright (shape) pixels of a noiseless image of each class cover different areas
  const R = 32;
  const fractions = SYNTHETIC_SHAPES.map((_, k) => {
    const img = new Uint8Array(R * R * 3);
    renderSyntheticImage(0, k, 8, R, img, 0, 0);
    const lum = Array.from({ length: R * R }, (_, p) => img[3 * p]! + img[3 * p + 1]! + img[3 * p + 2]!);
    const mid = (Math.min(...lum) + Math.max(...lum)) / 2;
    return lum.filter((v) => v > mid).length / (R * R);
  });
  for (const f of fractions) assert.ok(f > 0.02 && f < 0.7, `shape area ${fractions.join(', ')}`);
});

test('the classifier recognises real synthetic samples (~100%) at several sizes and class counts', () => {
  for (const [K, R] of [[8, 32], [10, 32], [4, 16], [6, 64], [10, 8]] as const) {
    const ds = syntheticDataset({ numClasses: K, resolution: R, count: 40 * K, seed: 3 });
    assert.equal(ds.numClasses, K);
    const loader = new BatchLoader(ds, { batchSize: 20 * K, seed: 1, flip: true });
    let right = 0;
    let total = 0;
    for (let i = 0; i < 2; i++) {
      const batch = loader.next();
      const pred = classifySyntheticBatch(batch.images, batch.labels.length, K);
      for (let k = 0; k < pred.length; k++) if (BigInt(pred[k]!) === batch.labels[k]) right++;
      total += pred.length;
    }
    assert.ok(right / total >= 0.995, `K=${K} R=${R}: ${right}/${total}`);
  }
});

test('the classifier does not call everything one class: grey is class 0, other hues map to their nearest class', () => {
  const R = 4;
  const img = (r: number, g: number, b: number) => {
    const x = new Float32Array(3 * R * R);
    x.fill(r, 0, R * R);
    x.fill(g, R * R, 2 * R * R);
    x.fill(b, 2 * R * R);
    return x;
  };
  assert.equal(classifySynthetic(img(0, 0, 0), 6), 0);
  assert.equal(classifySynthetic(img(0.8, -0.8, -0.8), 6), 0); // red
  assert.equal(classifySynthetic(img(0.8, 0.8, -0.8), 6), 1); // yellow (60°)
  assert.equal(classifySynthetic(img(-0.8, 0.8, -0.8), 6), 2); // green
  assert.equal(classifySynthetic(img(-0.8, -0.8, 0.8), 6), 4); // blue
  assert.equal(classifySynthetic(img(0.8, -0.8, 0.7), 6), 5); // nearly magenta
});
