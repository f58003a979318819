import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { writeNpy } from '../src/io/npy.js';
import { areaResize } from '../src/data/area-resize.js';
import { Cifar10Source } from '../src/data/sources/cifar10.js';
import { NpySource, parseNpySpec } from '../src/data/sources/npy.js';
import { openImageSource } from '../src/data/sources/index.js';
import { openDataset } from '../src/data/prepared-dataset.js';
import { DATASETS } from './fixture-paths.js';

const CIFAR = path.join(DATASETS, 'cifar10');
const RECORD = 3073;
const roots: string[] = [];
test.after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-data-src-'));
  roots.push(d);
  return d;
}

/** The first n raw records of data_batch_1.bin. */
function rawRecords(n: number): Buffer {
  const fd = fs.openSync(path.join(CIFAR, 'data_batch_1.bin'), 'r');
  try {
    const buf = Buffer.alloc(n * RECORD);
    fs.readSync(fd, buf, 0, buf.length, 0);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

test('CIFAR-10 binary folder: classes, count, labels and pixels of the first records', { skip: !fs.existsSync(CIFAR) && 'no CIFAR-10 fixture' }, async () => {
  const full = openImageSource(CIFAR);
  assert.ok(full instanceof Cifar10Source);
  assert.equal(full.count, 20000);
  assert.deepEqual([...full.classNames], ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  assert.match(full.itemName(10000), /data_batch_2\.bin#0$/);
  full.close();

  const N = 40;
  const raw = rawRecords(N);
  const root = tmpDir();
  const ds = await openDataset(CIFAR, { resolution: 32, limit: N, cache: path.join(root, 'cifar.bgd') });
  assert.equal(ds.count, N);
  for (let i = 0; i < N; i++) assert.equal(ds.labels[i], raw[i * RECORD]);
  const img0 = ds.readImage(0);
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) assert.equal(img0[p * 3 + c], raw[1 + c * 1024 + p], `pixel ${p} channel ${c}`);
  }
  // Half resolution: AREA over 2x2 blocks of record 0.
  const hwc = new Uint8Array(1024 * 3);
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) hwc[p * 3 + c] = raw[1 + c * 1024 + p]!;
  const half = await openDataset(CIFAR, { resolution: 16, limit: 4, cache: path.join(root, 'cifar16.bgd') });
  assert.deepEqual(Array.from(half.readImage(0)), Array.from(areaResize(hwc, 32, 32, 3, 16, 16)));
  ds.close();
  half.close();
});

test('CIFAR-10 folder problems are one-line UserErrors', () => {
  const root = tmpDir();
  fs.writeFileSync(path.join(root, 'batches.meta.txt'), 'a\nb\n');
  fs.writeFileSync(path.join(root, 'data_batch_1.bin'), Buffer.alloc(RECORD + 5));
  assert.throws(() => new Cifar10Source(root), (e: unknown) => e instanceof UserError && /not a multiple of the 3073-byte record/.test(e.message));
  fs.writeFileSync(path.join(root, 'data_batch_1.bin'), Buffer.from([7, ...new Array(RECORD - 1).fill(0)]));
  const src = new Cifar10Source(root);
  assert.throws(() => src.label(0), /label 7, but batches\.meta\.txt lists 2 classes/);
  src.close();
});

test('npy source: uint8 NHWC and float NCHW in [-1, 1], labels found beside or named', async () => {
  const root = tmpDir();
  const n = 6;
  const h = 6;
  const w = 4;
  const nhwc = Uint8Array.from({ length: n * h * w * 3 }, (_, i) => (i * 37) % 256);
  const labels = BigInt64Array.from([0, 2, 1, 2, 0, 1].map(BigInt));
  writeNpy(path.join(root, 'train_images.npy'), { dtype: 'uint8', shape: [n, h, w, 3], data: nhwc });
  writeNpy(path.join(root, 'train_labels.npy'), { dtype: 'int64', shape: [n], data: labels });
  // The same pixels as float NCHW in [-1, 1].
  const nchw = new Float32Array(n * 3 * h * w);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    nchw[((i * 3 + c) * h + y) * w + x] = nhwc[((i * h + y) * w + x) * 3 + c]! / 127.5 - 1;
  }
  writeNpy(path.join(root, 'f.npy'), { dtype: 'float32', shape: [n, 3, h, w], data: nchw });
  writeNpy(path.join(root, 'lab.npy'), { dtype: 'int32', shape: [n], data: Int32Array.from(labels, Number) });

  assert.equal(parseNpySpec(path.join(root, 'train_images.npy')).labels, path.join(root, 'train_labels.npy'));
  const a = new NpySource(path.join(root, 'train_images.npy'));
  const b = new NpySource(`${path.join(root, 'f.npy')}:${path.join(root, 'lab.npy')}`);
  assert.deepEqual([...a.classNames], ['0', '1', '2']);
  for (let i = 0; i < n; i++) {
    assert.equal(a.label(i), b.label(i));
    const ia = await a.load(i);
    const ib = await b.load(i);
    assert.deepEqual([ia.width, ia.height], [w, h]);
    assert.deepEqual(Array.from(ia.data), Array.from(nhwc.subarray(i * h * w * 3, (i + 1) * h * w * 3)));
    assert.deepEqual(Array.from(ib.data), Array.from(ia.data));
  }
  // Prepared at 4px: crop the centre 4x4 of each 6x4 (h x w) image.
  const ds = await openDataset(path.join(root, 'train_images.npy'), { resolution: 4, cache: path.join(root, 'npy.bgd') });
  assert.equal(ds.count, n);
  assert.deepEqual(Array.from(ds.readImage(1)), Array.from(nhwc.subarray((1 * h + 1) * w * 3, (1 * h + 5) * w * 3)));
  ds.close();

  // Problems.
  writeNpy(path.join(root, 'big.npy'), { dtype: 'float32', shape: [n, 3, h, w], data: nchw.map((v) => (v + 1) * 127.5) });
  const big = new NpySource(`${path.join(root, 'big.npy')}:${path.join(root, 'lab.npy')}`);
  await assert.rejects(big.load(0), /must lie in \[-1, 1\]/);
  writeNpy(path.join(root, 'short.npy'), { dtype: 'int64', shape: [n - 1], data: labels.subarray(0, n - 1) });
  const short = new NpySource(`${path.join(root, 'train_images.npy')}:${path.join(root, 'short.npy')}`);
  await assert.rejects(short.load(0), /has 6 images but .*short\.npy has 5 labels/);
  assert.throws(() => new NpySource(path.join(root, 'f.npy')), (e: unknown) => e instanceof UserError && /no labels found/.test(e.message));
});
