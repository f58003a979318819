/**
 * The GAN-landscape study's CIFAR-10 protocol: training reads the data batches only
 * (the training split), and `DIR/test_batch.bin` names the 10,000-image test split
 * on its own — for training data, `eval --real/--images` and `fid-stats --data`.
 * The shared copy has no test images, so the test split here is a stand-in: a folder
 * whose test_batch.bin is a link to the shared data_batch_2.bin (10,000 real records);
 * every item is checked against the file's own bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openImageSource } from '../src/data/sources/index.js';
import { openDataset } from '../src/data/prepared-dataset.js';
import { openImageInput } from '../src/eval/image-input.js';
import { writeNpy } from '../src/io/npy.js';
import { readNpz } from '../src/io/npz.js';
import { DATASETS } from './fixture-paths.js';
import { biggan, isCleanError } from './cli-helpers.js';

const SHARED = path.join(DATASETS, 'cifar10');
const RECORD = 3073;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-cifar-split-'));
const cifar = path.join(tmp, 'cifar10');
fs.mkdirSync(cifar);
fs.copyFileSync(path.join(SHARED, 'batches.meta.txt'), path.join(cifar, 'batches.meta.txt'));
fs.symlinkSync(path.join(SHARED, 'data_batch_1.bin'), path.join(cifar, 'data_batch_1.bin'));
fs.symlinkSync(path.join(SHARED, 'data_batch_2.bin'), path.join(cifar, 'test_batch.bin'));
const testBytes = fs.readFileSync(path.join(SHARED, 'data_batch_2.bin'));
const trainBytes = fs.readFileSync(path.join(SHARED, 'data_batch_1.bin'));

/** Record i of a batch as HWC RGB bytes (the file holds R, G, B planes). */
function recordImage(bytes: Buffer, i: number): Uint8Array {
  const rec = bytes.subarray(i * RECORD + 1, (i + 1) * RECORD);
  const out = new Uint8Array(3072);
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[3 * p + c] = rec[c * 1024 + p]!;
  return out;
}

function recordLabels(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / RECORD }, (_, i) => bytes[i * RECORD]!);
}

test('DIR/test_batch.bin is exactly the 10,000 test records: labels and pixels from the file', async () => {
  const src = openImageSource(path.join(cifar, 'test_batch.bin'));
  assert.equal(src.kind, 'cifar10');
  assert.equal(src.count, 10000);
  assert.equal(src.classNames.length, 10);
  assert.deepEqual(Array.from({ length: src.count }, (_, i) => src.label(i)), recordLabels(testBytes));
  for (const i of [0, 1, 9999]) assert.deepEqual((await src.load(i)).data, recordImage(testBytes, i), `record ${i}`);
  src.close();

  // the same through the scoring side (eval --real / fid-stats --data)
  const input = openImageInput(path.join(cifar, 'test_batch.bin'));
  assert.equal(input.count, 10000);
  const labels = input.labels();
  assert.ok('label' in labels);
  assert.equal(labels.label(9999), testBytes[9999 * RECORD]);
  assert.deepEqual((await input.load(0)).data, recordImage(testBytes, 0));
  input.close();

  // and as prepared data (32px: the identity crop and resize)
  const ds = await openDataset(path.join(cifar, 'test_batch.bin'), { resolution: 32, cache: path.join(tmp, 'test.bgd') });
  assert.equal(ds.count, 10000);
  assert.deepEqual(Array.from(ds.labels), recordLabels(testBytes));
  assert.deepEqual(ds.readImage(0), recordImage(testBytes, 0));
  ds.close();
});

test('the folder is the training split: data batches only, test_batch.bin left out', async () => {
  const src = openImageSource(cifar);
  assert.equal(src.count, 10000);
  assert.deepEqual((await src.load(0)).data, recordImage(trainBytes, 0));
  assert.equal(src.label(9999), trainBytes[9999 * RECORD]);
  src.close();
  const input = openImageInput(cifar);
  assert.equal(input.count, 10000);
  assert.deepEqual((await input.load(0)).data, recordImage(trainBytes, 0));
  input.close();
});

test('fid-stats --data DIR/test_batch.bin scores the test records, and only them', () => {
  // a small test split (the first 24 records) keeps the procedural Inception quick
  const small = path.join(tmp, 'small');
  fs.mkdirSync(small);
  fs.copyFileSync(path.join(SHARED, 'batches.meta.txt'), path.join(small, 'batches.meta.txt'));
  fs.writeFileSync(path.join(small, 'data_batch_1.bin'), trainBytes.subarray(0, 24 * RECORD));
  fs.writeFileSync(path.join(small, 'test_batch.bin'), testBytes.subarray(0, 24 * RECORD));
  const images = new Uint8Array(24 * 3072);
  for (let i = 0; i < 24; i++) images.set(recordImage(testBytes, i), i * 3072);
  writeNpy(path.join(tmp, 'test24.npy'), { dtype: 'uint8', shape: [24, 32, 32, 3], data: images });

  const P = ['--inception', 'procedural'];
  const stats = (data: string, out: string): Float64Array => {
    const r = biggan(['fid-stats', '--data', data, '--out', path.join(tmp, out), ...P]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^24 images /m);
    return readNpz(path.join(tmp, out)).get('mu')!.data as Float64Array;
  };
  const test = stats(path.join(small, 'test_batch.bin'), 'test.npz');
  assert.deepEqual(test, stats(path.join(tmp, 'test24.npy'), 'npy.npz'), 'the test split scores as its own records');
  assert.notDeepEqual(test, stats(small, 'train.npz'), 'the folder scores the training split');

  const missing = biggan(['fid-stats', '--data', path.join(cifar, 'data_batch_9.bin'), '--out', path.join(tmp, 'x.npz'), ...P]);
  assert.ok(isCleanError(missing), missing.stderr);
  assert.match(missing.stderr, /data_batch_9\.bin does not exist/);
});
