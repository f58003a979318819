import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { imageDecodeCount } from '../src/data/decode.js';
import { openDataset, readPreparedHeader, PreparedDataset, defaultCacheDirs } from '../src/data/prepared-dataset.js';
import { cacheRoot } from '../src/cache-dir.js';
import { defaultCacheDir } from '../src/sample/graph-cache.js';

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

/** Runs fn with BIGGAN_CACHE_DIR (and XDG_CACHE_HOME) set as given, restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>): void => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

test('prepared once in the user cache directory (never beside the data), reused without decoding, re-prepared when the source changes', async () => {
  const root = tmpDir();
  const data = await makeData(root);
  const cacheDir = tmpDir();
  await withEnv({ BIGGAN_CACHE_DIR: cacheDir }, () => preparedOnce(root, data, cacheDir));
});

async function preparedOnce(root: string, data: string, cacheDir: string): Promise<void> {
  const logs: string[] = [];
  const log = (l: string) => logs.push(l);

  const before = imageDecodeCount();
  const first = await openDataset(data, { resolution: 4, log });
  assert.equal(first.reused, false);
  assert.equal(imageDecodeCount() - before, 3);
  assert.ok(first.file!.startsWith(path.join(cacheDir, 'data') + path.sep), first.file!);
  assert.deepEqual(fs.readdirSync(root).sort(), ['flowers'], 'nothing written beside the data');
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
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'data')).filter((n) => n.endsWith('.tmp')), []);
  assert.deepEqual(fs.readdirSync(root).sort(), ['flowers'], 'nothing written beside the data');
}

test('the cache root: BIGGAN_CACHE_DIR, else XDG_CACHE_HOME/biggan-ts, else ~/.cache/biggan-ts', async () => {
  const xdg = tmpDir();
  const home = tmpDir();
  await withEnv({ BIGGAN_CACHE_DIR: undefined, XDG_CACHE_HOME: xdg, HOME: home }, async () => {
    assert.equal(cacheRoot(), path.join(xdg, 'biggan-ts'));
    assert.equal(defaultCacheDirs().primary, path.join(xdg, 'biggan-ts', 'data'));
    const root = tmpDir();
    const ds = await openDataset(await makeData(root), { resolution: 2 });
    assert.ok(ds.file!.startsWith(path.join(xdg, 'biggan-ts', 'data') + path.sep), ds.file!);
    ds.close();
  });
  await withEnv({ BIGGAN_CACHE_DIR: undefined, XDG_CACHE_HOME: undefined, HOME: home }, async () => {
    assert.equal(cacheRoot(), path.join(home, '.cache', 'biggan-ts'));
  });
  await withEnv({ BIGGAN_CACHE_DIR: path.join(home, 'mine'), XDG_CACHE_HOME: xdg }, async () => {
    assert.equal(cacheRoot(), path.join(home, 'mine'));
    assert.equal(defaultCacheDir(), cacheRoot(), 'the graph cache shares the root');
  });
});

test('explicit cache path, temp-dir fallback, and reading per image from a large cache', async () => {
  const root = tmpDir();
  const data = await makeData(root);
  // Make the cache directory unusable (a plain file in its place, as a read-only home would be).
  const blocked = path.join(root, 'blocked');
  fs.writeFileSync(blocked, 'not a folder');
  const tmp = tmpDir();
  await withEnv({ TMPDIR: tmp, BIGGAN_CACHE_DIR: blocked }, async () => {
    const logs: string[] = [];
    const ds = await openDataset(data, { resolution: 4, log: (l) => logs.push(l) });
    assert.ok(ds.file!.startsWith(path.join(tmp, 'biggan-ts-cache', 'data') + path.sep), ds.file!);
    assert.ok(logs.some((l) => /cannot write a cache in .*; using /.test(l)), logs.join('\n'));
    ds.close();
    const again = await openDataset(data, { resolution: 4 });
    assert.equal(again.reused, true);
    assert.equal(again.file, ds.file);
    again.close();
  });

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
