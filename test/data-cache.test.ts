import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { imageDecodeCount } from '../src/data/decode.js';
import { openDataset, readPreparedHeader, PreparedDataset } from '../src/data/prepared-dataset.js';

const roots: string[] = [];
test.after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-data-cache-'));
  roots.push(d);
  return d;
}

async function writeSolid(file: string, rgb: [number, number, number], w = 20, h = 14): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(file);
}

async function makeData(root: string): Promise<string> {
  const data = path.join(root, 'flowers');
  await writeSolid(path.join(data, 'red', '1.png'), [200, 10, 10]);
  await writeSolid(path.join(data, 'red', '2.png'), [180, 20, 0]);
  await writeSolid(path.join(data, 'blue', '1.png'), [0, 0, 250]);
  return data;
}

test('prepared once beside the data, reused without decoding, re-prepared when the source changes', async () => {
  const root = tmpDir();
  const data = await makeData(root);
  const logs: string[] = [];
  const log = (l: string) => logs.push(l);

  const before = imageDecodeCount();
  const first = await openDataset(data, { resolution: 4, log });
  assert.equal(first.reused, false);
  assert.equal(imageDecodeCount() - before, 3);
  assert.ok(first.file!.startsWith(path.join(root, '.biggan-cache') + path.sep), first.file!);
  assert.match(path.basename(first.file!), /^flowers-folder-4px-[0-9a-f]{12}\.bgd$/);
  const h = readPreparedHeader(first.file!);
  assert.equal(h.count, 3);
  assert.equal(h.resolution, 4);
  assert.deepEqual(h.classNames, ['blue', 'red']);
  assert.equal(h.source.path, data);
  assert.equal(h.source.files, 3);
  const firstPixels = Array.from(first.readImage(2));
  first.close();

  const mid = imageDecodeCount();
  const second = await openDataset(data, { resolution: 4, log });
  assert.equal(second.reused, true);
  assert.equal(imageDecodeCount(), mid, 'a cache hit decodes nothing');
  assert.equal(second.file, first.file);
  assert.deepEqual(Array.from(second.readImage(2)), firstPixels);
  assert.deepEqual(Array.from(second.labels), [0, 1, 1]);
  second.close();

  // Another resolution is another cache file.
  const other = await openDataset(data, { resolution: 2 });
  assert.equal(other.reused, false);
  assert.notEqual(other.file, first.file);
  other.close();

  // Change one image (new content and mtime): prepared again, with the new pixels.
  const changed = path.join(data, 'red', '2.png');
  await writeSolid(changed, [0, 255, 0]);
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(changed, t, t);
  const third = await openDataset(data, { resolution: 4, log });
  assert.equal(third.reused, false);
  assert.ok(logs.some((l) => /stale \(the source files changed since\)/.test(l)), logs.join('\n'));
  assert.deepEqual(Array.from(third.readImage(2).subarray(0, 3)), [0, 255, 0]);
  third.close();

  // A new file is a change too.
  await writeSolid(path.join(data, 'blue', '2.png'), [1, 2, 3]);
  const fourth = await openDataset(data, { resolution: 4 });
  assert.equal(fourth.reused, false);
  assert.equal(fourth.count, 4);
  fourth.close();
  assert.equal((await openDataset(data, { resolution: 4 })).reused, true);

  // A damaged cache is replaced, not trusted.
  fs.writeFileSync(fourth.file!, 'garbage');
  const fifth = await openDataset(data, { resolution: 4, log });
  assert.equal(fifth.reused, false);
  assert.equal(fifth.count, 4);
  fifth.close();
  assert.deepEqual(fs.readdirSync(path.join(root, '.biggan-cache')).filter((n) => n.endsWith('.tmp')), []);
});

test('explicit cache path, temp-dir fallback, and reading per image from a large cache', async () => {
  const root = tmpDir();
  const data = await makeData(root);
  // Make `.biggan-cache` unusable as a folder (as a read-only data folder would be): a plain file in its place.
  fs.writeFileSync(path.join(root, '.biggan-cache'), 'not a folder');
  const tmp = tmpDir();
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const logs: string[] = [];
    const ds = await openDataset(data, { resolution: 4, log: (l) => logs.push(l) });
    assert.ok(ds.file!.startsWith(path.join(tmp, 'biggan-cache') + path.sep), ds.file!);
    assert.ok(logs.some((l) => /cannot write a cache in .*; using /.test(l)), logs.join('\n'));
    ds.close();
    const again = await openDataset(data, { resolution: 4 });
    assert.equal(again.reused, true);
    assert.equal(again.file, ds.file);
    again.close();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }

  const explicit = path.join(root, 'mine', 'set.bgd');
  fs.mkdirSync(path.dirname(explicit));
  const a = await openDataset(data, { resolution: 4, cache: explicit });
  assert.equal(a.file, explicit);
  const inMemory = Array.from({ length: a.count }, (_, i) => Array.from(a.readImage(i)));
  a.close();
  // memoryLimit 0: pixels stay in the file and are read per image.
  const b = await openDataset(data, { resolution: 4, cache: explicit, memoryLimit: 0 });
  assert.equal(b.reused, true);
  assert.deepEqual(Array.from({ length: b.count }, (_, i) => Array.from(b.readImage(i))), inMemory);
  b.close();
  // Opening the .bgd directly.
  const c = await openDataset(explicit, { resolution: 4 });
  assert.equal(c.count, 3);
  c.close();
  await assert.rejects(openDataset(explicit, { resolution: 8 }), /holds 4px images, but the resolution is 8/);
  assert.ok(PreparedDataset.open(explicit).count === 3);
});
