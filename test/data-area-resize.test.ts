import test from 'node:test';
import assert from 'node:assert/strict';
import { areaResize, areaResizeExact, centerCrop, centerCropBox, cropAndResize } from '../src/data/area-resize.js';
import { Rng } from '../src/random/rng.js';

/** Independent reference: replicate each source pixel dst times per axis, then take src x src block means. */
function referenceArea(px: Uint8Array, sw: number, sh: number, c: number, dw: number, dh: number): Float64Array {
  const bw = sw * dw;
  const bh = sh * dh;
  const out = new Float64Array(dw * dh * c);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const sy = Math.floor(y / dh);
      const sx = Math.floor(x / dw);
      const oy = Math.floor(y / sh);
      const ox = Math.floor(x / sw);
      for (let k = 0; k < c; k++) out[(oy * dw + ox) * c + k] += px[(sy * sw + sx) * c + k]!;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] /= sw * sh;
  return out;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('centre crop box along the long edge', () => {
  assert.deepEqual(centerCropBox(5, 3), { x: 1, y: 0, size: 3 });
  assert.deepEqual(centerCropBox(3, 6), { x: 0, y: 1, size: 3 });
  assert.deepEqual(centerCropBox(4, 4), { x: 0, y: 0, size: 4 });
  assert.deepEqual(centerCropBox(7, 2), { x: 2, y: 0, size: 2 });
  // 4 wide x 2 high, 1 channel: values 0..7 row-major -> the middle 2x2
  const { data, size } = centerCrop(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 4, 2, 1);
  assert.equal(size, 2);
  assert.deepEqual(Array.from(data), [1, 2, 5, 6]);
});

test('integer factor is the block mean (rounded half up)', () => {
  // 4x4 -> 2x2, one channel
  const px = Uint8Array.from([
    0, 1, 10, 20,
    2, 3, 30, 40,
    100, 100, 7, 8,
    100, 101, 9, 9,
  ]);
  close(areaResizeExact(px, 4, 4, 1, 2, 2), [1.5, 25, 100.25, 8.25]);
  assert.deepEqual(Array.from(areaResize(px, 4, 4, 1, 2, 2)), [2, 25, 100, 8]);
  // 2x2 -> 1x1 with three channels: each channel averaged on its own
  const rgb = Uint8Array.from([0, 10, 255, 4, 10, 255, 8, 20, 0, 12, 20, 0]);
  close(areaResizeExact(rgb, 2, 2, 3, 1, 1), [6, 15, 127.5]);
  assert.deepEqual(Array.from(areaResize(rgb, 2, 2, 3, 1, 1)), [6, 15, 128]);
});

test('fractional factors weight partly covered pixels by their coverage', () => {
  // 1-D 3 -> 2: output 0 covers pixel 0 fully and half of pixel 1
  const row = Uint8Array.from([10, 20, 40]);
  close(areaResizeExact(row, 3, 1, 1, 2, 1), [(10 + 0.5 * 20) / 1.5, (0.5 * 20 + 40) / 1.5]);
  assert.deepEqual(Array.from(areaResize(row, 3, 1, 1, 2, 1)), [13, 33]);
  // 2-D 3x3 -> 2x2 of v = 9*(3y + x): a linear image maps to its value at each footprint's centroid
  const px = Uint8Array.from({ length: 9 }, (_, i) => 9 * i);
  close(areaResizeExact(px, 3, 3, 1, 2, 2), [12, 24, 48, 60]);
  // 5 -> 3 by hand: footprints [0,5/3), [5/3,10/3), [10/3,5)
  const five = Uint8Array.from([0, 30, 60, 90, 120]);
  close(areaResizeExact(five, 5, 1, 1, 3, 1), [(0 + 30 * (2 / 3)) / (5 / 3), (30 / 3 + 60 + 90 / 3) / (5 / 3), (90 * (2 / 3) + 120) / (5 / 3)]);
});

test('matches an independent replicate-then-block-mean reference on random sizes', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const sw = 1 + rng.int(23);
    const sh = 1 + rng.int(23);
    const dw = 1 + rng.int(12);
    const dh = 1 + rng.int(12);
    const c = 1 + rng.int(3);
    const px = Uint8Array.from({ length: sw * sh * c }, () => rng.int(256));
    const exact = areaResizeExact(px, sw, sh, c, dw, dh);
    close(exact, referenceArea(px, sw, sh, c, dw, dh), 1e-9);
    const rounded = areaResize(px, sw, sh, c, dw, dh);
    for (let i = 0; i < exact.length; i++) assert.equal(rounded[i], Math.floor(exact[i]! + 0.5 + 1e-9), `trial ${trial} index ${i}`);
  }
});

test('upsampling replicates or blends neighbours and keeps constants and the mean', () => {
  assert.deepEqual(Array.from(areaResize(Uint8Array.from([10, 20]), 2, 1, 1, 4, 1)), [10, 10, 20, 20]);
  // 2 -> 3: the middle output straddles both inputs equally
  assert.deepEqual(Array.from(areaResize(Uint8Array.from([10, 20]), 2, 1, 1, 3, 1)), [10, 15, 20]);
  const flat = new Uint8Array(3 * 3 * 3).fill(77);
  assert.ok(areaResize(flat, 3, 3, 3, 7, 5).every((v) => v === 77));
  const px = Uint8Array.from([0, 50, 100, 200, 250, 3]);
  const up = areaResizeExact(px, 3, 2, 1, 8, 5);
  const meanIn = px.reduce((a, b) => a + b, 0) / px.length;
  const meanOut = up.reduce((a, b) => a + b, 0) / up.length;
  assert.ok(Math.abs(meanIn - meanOut) < 1e-9);
});

test('cropAndResize = centred crop then AREA; same size is a copy', () => {
  // 6x4 RGB: crop columns 1..4, then 4 -> 2 block means
  const w = 6;
  const h = 4;
  const px = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7) % 256);
  const crop = centerCrop(px, w, h, 3);
  assert.equal(crop.size, 4);
  assert.deepEqual(Array.from(cropAndResize(px, w, h, 3, 2)), Array.from(areaResize(crop.data, 4, 4, 3, 2, 2)));
  const sq = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
  const same = cropAndResize(sq, 2, 2, 3, 2);
  assert.deepEqual(Array.from(same), Array.from(sq));
  assert.notEqual(same, sq);
  assert.throws(() => areaResize(new Uint8Array(5), 2, 2, 1, 1, 1), RangeError);
});
