import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { BatchLoader, type Batch, type LoaderState } from '../src/data/batch-loader.js';
import { PreparedDataset, openDataset } from '../src/data/prepared-dataset.js';
import { writeNpy } from '../src/io/npy.js';

const R = 3;
/** n images whose pixel bytes encode (index, position) so every image is distinct and asymmetric. */
function dataset(n: number): PreparedDataset {
  const per = R * R * 3;
  const images = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) for (let k = 0; k < per; k++) images[i * per + k] = (i * 31 + k * 7) % 256;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  return PreparedDataset.fromArrays({ images, labels, resolution: R, classNames: ['a', 'b', 'c', 'd'] });
}

function take(loader: BatchLoader, k: number): Batch[] {
  return Array.from({ length: k }, () => loader.next());
}

function same(a: Batch[], b: Batch[]): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(Array.from(a[i]!.indices), Array.from(b[i]!.indices), `batch ${i} order`);
    assert.deepEqual(a[i]!.images, b[i]!.images, `batch ${i} pixels`);
    assert.deepEqual(a[i]!.labels, b[i]!.labels);
    assert.equal(a[i]!.epoch, b[i]!.epoch);
  }
}

test('batches: NCHW float32 in [-1, 1] exactly as ToTensor + Normalize(0.5, 0.5), int64 labels', () => {
  const images = new Uint8Array(2 * R * R * 3);
  images.set([0, 128, 255], 0); // image 0, pixel (0,0)
  const ds = PreparedDataset.fromArrays({ images, labels: Int32Array.from([1, 0]), resolution: R, classNames: ['x', 'y'] });
  const b = new BatchLoader(ds, { batchSize: 2, seed: 3 }).next();
  assert.equal(b.images.length, 2 * 3 * R * R);
  const k = Array.from(b.indices).indexOf(0);
  const plane = R * R;
  const base = k * 3 * plane;
  assert.equal(b.images[base], -1);
  assert.equal(b.images[base + plane], Math.fround((Math.fround(128 / 255) - 0.5) / 0.5));
  assert.equal(b.images[base + 2 * plane], 1);
  assert.equal(b.labels[k], 1n);
  assert.ok(b.labels instanceof BigInt64Array);
});

test('each epoch is a fresh permutation; the partial last batch is dropped; same seed, same order', () => {
  const ds = dataset(10);
  const loader = new BatchLoader(ds, { batchSize: 3, seed: 42 });
  assert.equal(loader.batchesPerEpoch, 3);
  const epochs: number[][] = [];
  for (let e = 0; e < 3; e++) {
    const seen: number[] = [];
    for (const b of take(loader, 3)) {
      assert.equal(b.epoch, e);
      seen.push(...b.indices);
      for (let k = 0; k < 3; k++) assert.equal(b.labels[k], BigInt(b.indices[k]! % 4));
    }
    assert.equal(new Set(seen).size, 9);
    epochs.push(seen);
  }
  assert.notDeepEqual(epochs[0], epochs[1]);
  same(take(new BatchLoader(ds, { batchSize: 3, seed: 42 }), 9), take(new BatchLoader(ds, { batchSize: 3, seed: 42 }), 9));
  const other = take(new BatchLoader(ds, { batchSize: 3, seed: 43 }), 3).flatMap((b) => Array.from(b.indices));
  assert.notDeepEqual(other, epochs[0]);
  assert.throws(() => new BatchLoader(ds, { batchSize: 11, seed: 1 }), UserError);
});

test('a restored loader continues with exactly the same batches (mid-epoch, at an epoch end, with flips)', () => {
  const ds = dataset(11);
  for (const flip of [false, true]) {
    for (const cut of [2, 3, 7]) { // 3 batches per epoch: 3 is exactly an epoch end
      const a = new BatchLoader(ds, { batchSize: 3, seed: 9, flip });
      take(a, cut);
      const saved = JSON.parse(JSON.stringify(a.state())) as LoaderState;
      const rest = take(a, 8);
      const b = new BatchLoader(ds, { batchSize: 3, seed: 12345, flip }, saved);
      same(take(b, 8), rest);
    }
  }
  const saved = new BatchLoader(ds, { batchSize: 3, seed: 9 }).state();
  assert.throws(() => new BatchLoader(dataset(12), { batchSize: 3, seed: 9 }, saved), /for 11 images, but the dataset has 12/);
  assert.throws(() => new BatchLoader(ds, { batchSize: 2, seed: 9 }, saved), /batch size 3/);
});

test('flips mirror whole images left-right, about half the time', () => {
  const ds = dataset(64);
  const plain = new BatchLoader(ds, { batchSize: 64, seed: 5 }).next();
  const flipped = new BatchLoader(ds, { batchSize: 64, seed: 5, flip: true }).next();
  assert.deepEqual(plain.indices, flipped.indices); // flips are drawn after the permutation
  let mirrored = 0;
  const per = 3 * R * R;
  for (let k = 0; k < 64; k++) {
    const p = plain.images.subarray(k * per, (k + 1) * per);
    const f = flipped.images.subarray(k * per, (k + 1) * per);
    let isSame = true;
    let isMirror = true;
    for (let c = 0; c < 3; c++) for (let y = 0; y < R; y++) for (let x = 0; x < R; x++) {
      const v = f[(c * R + y) * R + x]!;
      if (v !== p[(c * R + y) * R + x]) isSame = false;
      if (v !== p[(c * R + y) * R + (R - 1 - x)]) isMirror = false;
    }
    assert.ok(isSame !== isMirror, `image ${k} is neither the original nor its mirror`);
    if (isMirror) mirrored++;
  }
  assert.ok(mirrored > 16 && mirrored < 48, `${mirrored} of 64 mirrored`);
});

test('a file-backed dataset read per image gives the same batches as one in memory', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-data-loader-'));
  const dir = path.join(root, 'arrays');
  fs.mkdirSync(dir);
  const savedCache = process.env.BIGGAN_CACHE_DIR;
  process.env.BIGGAN_CACHE_DIR = path.join(root, 'cache'); // the default cache, inside root
  try {
    const n = 9;
    const images = new Uint8Array(n * 4 * 4 * 3).map((_, i) => (i * 11) % 256);
    writeNpy(path.join(dir, 'images.npy'), { dtype: 'uint8', shape: [n, 4, 4, 3], data: images });
    writeNpy(path.join(dir, 'labels.npy'), { dtype: 'int64', shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 3)) });
    const mem = await openDataset(path.join(dir, 'images.npy'), { resolution: 4 });
    const disk = await openDataset(path.join(dir, 'images.npy'), { resolution: 4, memoryLimit: 0 });
    assert.equal(disk.reused, true);
    same(take(new BatchLoader(mem, { batchSize: 4, seed: 1, flip: true }), 5), take(new BatchLoader(disk, { batchSize: 4, seed: 1, flip: true }), 5));
    disk.close();
  } finally {
    if (savedCache === undefined) delete process.env.BIGGAN_CACHE_DIR;
    else process.env.BIGGAN_CACHE_DIR = savedCache;
    fs.rmSync(root, { recursive: true, force: true });
  }
});
