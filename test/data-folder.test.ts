import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../src/errors.js';
import { cropAndResize } from '../src/data/area-resize.js';
import { BadImageError, decodeImage, sniffImageFormat } from '../src/data/decode.js';
import { FolderSource } from '../src/data/sources/folder.js';
import { openDataset } from '../src/data/prepared-dataset.js';

const roots: string[] = [];
test.after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-data-folder-'));
  roots.push(d);
  return d;
}

function gradient(w: number, h: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      px[o] = (x * 9 + seed) % 256;
      px[o + 1] = (y * 13 + 2 * seed) % 256;
      px[o + 2] = (x * y + seed * 5) % 256;
    }
  }
  return px;
}

async function encode(px: Uint8Array, w: number, h: number, fmt: 'png' | 'jpeg' | 'webp'): Promise<Buffer> {
  const img = sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } });
  if (fmt === 'png') return img.png().toBuffer();
  if (fmt === 'jpeg') return img.jpeg({ quality: 95 }).toBuffer();
  return img.webp({ lossless: true }).toBuffer();
}

/** root/{ant,bee,cat}: PNGs, a JPEG, a lossless WebP, plus hidden and non-image clutter. */
async function makeFolder(root: string): Promise<Map<string, { px: Uint8Array; w: number; h: number; exact: boolean }>> {
  const truth = new Map<string, { px: Uint8Array; w: number; h: number; exact: boolean }>();
  const add = async (rel: string, w: number, h: number, seed: number, fmt: 'png' | 'jpeg' | 'webp') => {
    const px = gradient(w, h, seed);
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const bytes = await encode(px, w, h, fmt);
    fs.writeFileSync(file, bytes);
    // Lossy JPEG: the truth is what the encoded bytes decode to (checked independently with sharp directly).
    const decoded = fmt === 'jpeg' ? new Uint8Array(await sharp(bytes).raw().toBuffer()) : px;
    truth.set(file, { px: decoded, w, h, exact: fmt !== 'jpeg' });
  };
  await add('cat/a.png', 40, 30, 1, 'png');
  await add('cat/b.webp', 24, 24, 2, 'webp');
  await add('ant/x.PNG', 16, 20, 3, 'png');
  await add('ant/deeper/y.png', 17, 33, 4, 'png');
  await add('bee/z.jpg', 32, 32, 5, 'jpeg');
  fs.writeFileSync(path.join(root, 'cat', '.DS_Store'), 'junk');
  fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
  fs.mkdirSync(path.join(root, '.hidden-class'));
  fs.writeFileSync(path.join(root, '.hidden-class', 'q.png'), await encode(gradient(4, 4, 0), 4, 4, 'png'));
  fs.mkdirSync(path.join(root, 'cat', '.thumbs'));
  fs.writeFileSync(path.join(root, 'cat', '.thumbs', 't.png'), 'broken but hidden');
  return truth;
}

test('decoding: formats by content, EXIF orientation, grey and alpha to RGB', async () => {
  const px = gradient(12, 8, 9);
  const png = await encode(px, 12, 8, 'png');
  assert.equal(sniffImageFormat(png), 'png');
  assert.equal(sniffImageFormat(await encode(px, 12, 8, 'jpeg')), 'jpeg');
  assert.equal(sniffImageFormat(await encode(px, 12, 8, 'webp')), 'webp');
  const dec = await decodeImage(png, 'a.png');
  assert.deepEqual([dec.width, dec.height], [12, 8]);
  assert.deepEqual(Array.from(dec.data), Array.from(px));
  // EXIF orientation 6 (rotate 90° clockwise to display): 40x20 stored, 20x40 decoded
  const rotated = await sharp(Buffer.from(gradient(40, 20, 1)), { raw: { width: 40, height: 20, channels: 3 } })
    .jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const r = await decodeImage(rotated, 'rot.jpg');
  assert.deepEqual([r.width, r.height], [20, 40]);
  const grey = await sharp(Buffer.from(px), { raw: { width: 12, height: 8, channels: 3 } }).greyscale().png().toBuffer();
  const g = await decodeImage(grey, 'g.png');
  assert.equal(g.data.length, 12 * 8 * 3);
  assert.equal(g.data[0], g.data[1]);
  const rgba = await sharp(Buffer.from(px), { raw: { width: 12, height: 8, channels: 3 } }).ensureAlpha(0.5).png().toBuffer();
  assert.deepEqual(Array.from((await decodeImage(rgba, 'a.png')).data), Array.from(px));
  await assert.rejects(decodeImage(Buffer.from('GIF89a....'), 'x.png'), BadImageError);
  await assert.rejects(decodeImage(png.subarray(0, png.length - 30), 'cut.png'), /cut\.png/);
});

test('folder source: sorted class folders, hidden and non-image files ignored, pixels cropped + AREA-resized', async () => {
  const root = tmpDir();
  const data = path.join(root, 'pets');
  const truth = await makeFolder(data);
  const src = new FolderSource(data);
  assert.deepEqual(src.classNames, ['ant', 'bee', 'cat']);
  assert.equal(src.count, 5);
  const names = Array.from({ length: src.count }, (_, i) => path.relative(data, src.itemName(i)));
  assert.deepEqual(names, ['ant/deeper/y.png', 'ant/x.PNG', 'bee/z.jpg', 'cat/a.png', 'cat/b.webp']);
  assert.deepEqual(Array.from({ length: src.count }, (_, i) => src.label(i)), [0, 0, 1, 2, 2]);

  const ds = await openDataset(data, { resolution: 8, cache: path.join(root, 'c.bgd') });
  assert.equal(ds.count, 5);
  assert.equal(ds.resolution, 8);
  assert.deepEqual([...ds.classNames], ['ant', 'bee', 'cat']);
  assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 2, 2]);
  for (let i = 0; i < ds.count; i++) {
    const t = truth.get(src.itemName(i))!;
    const want = cropAndResize(t.px, t.w, t.h, 3, 8);
    const got = ds.readImage(i);
    assert.deepEqual(Array.from(got), Array.from(want), src.itemName(i));
  }
  ds.close();
  src.close();
});

test('folder source: images directly in the root are a class-less set; images beside sub-folders, an empty class, no images are errors', () => {
  const root = tmpDir();
  assert.throws(() => new FolderSource(root), (e: unknown) => e instanceof UserError && /has no PNG\/JPEG\/WebP images/.test(e.message));
  fs.writeFileSync(path.join(root, 'b.png'), 'x');
  fs.writeFileSync(path.join(root, 'a.png'), 'x');
  const flat = new FolderSource(root);
  assert.equal(flat.classless, true);
  assert.equal(flat.classNames.length, 1);
  assert.deepEqual([flat.itemName(0), flat.itemName(1)].map((f) => path.basename(f)), ['a.png', 'b.png']);
  assert.deepEqual([flat.label(0), flat.label(1)], [0, 0]);
  fs.mkdirSync(path.join(root, 'sub'));
  assert.throws(() => new FolderSource(root), (e: unknown) => e instanceof UserError && /holds both 2 images and 1 sub-folders/.test(e.message) && !e.message.includes('\n'));
  fs.unlinkSync(path.join(root, 'a.png'));
  fs.unlinkSync(path.join(root, 'b.png'));
  fs.mkdirSync(path.join(root, 'empty'));
  fs.writeFileSync(path.join(root, 'sub', 'a.png'), 'x');
  assert.throws(() => new FolderSource(root), (e: unknown) => e instanceof UserError && /empty.*has no PNG/.test(e.message));
});

test('bad images stop preparation with their paths; skipBad leaves them out and reports the count', async () => {
  const root = tmpDir();
  const data = path.join(root, 'imgs');
  await makeFolder(data);
  const garbage = path.join(data, 'bee', 'garbage.png');
  fs.writeFileSync(garbage, Buffer.from('definitely not a png file'));
  const jpg = await encode(gradient(32, 32, 7), 32, 32, 'jpeg');
  const truncated = path.join(data, 'cat', 'truncated.jpg');
  fs.writeFileSync(truncated, jpg.subarray(0, jpg.length >> 1));
  const cache = path.join(root, 'cache.bgd');

  await assert.rejects(openDataset(data, { resolution: 8, cache }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.ok(!e.message.includes('\n'));
    assert.match(e.message, /^2 of 7 images/);
    assert.ok(e.message.includes(garbage) && e.message.includes(truncated), e.message);
    assert.match(e.message, /skip-bad/);
    return true;
  });
  assert.ok(!fs.existsSync(cache), 'no cache is left behind');
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.endsWith('.tmp')), []);

  const lines: string[] = [];
  const ds = await openDataset(data, { resolution: 8, cache, skipBad: true, log: (l) => lines.push(l) });
  assert.equal(ds.count, 5);
  assert.equal(ds.skipped, 2);
  assert.ok(lines.some((l) => /skipped 2 unreadable of 7/.test(l)), lines.join('\n'));
  ds.close();
  // The cache remembers the skipped files: without skipBad a reuse still refuses them.
  await assert.rejects(openDataset(data, { resolution: 8, cache }), /2 of 7 images/);
  const again = await openDataset(data, { resolution: 8, cache, skipBad: true });
  assert.equal(again.reused, true);
  again.close();
});

test('many bad images: ten listed, the rest counted', async () => {
  const root = tmpDir();
  const data = path.join(root, 'many');
  fs.mkdirSync(path.join(data, 'k'), { recursive: true });
  for (let i = 0; i < 13; i++) fs.writeFileSync(path.join(data, 'k', `bad${String(i).padStart(2, '0')}.png`), 'x');
  await assert.rejects(openDataset(data, { resolution: 4, cache: path.join(root, 'c.bgd') }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^13 of 13 images/);
    assert.match(e.message, /and 3 more \(all listed in .*bad-files\.txt\)/);
    assert.ok(e.message.includes('bad09.png') && !e.message.includes('bad10.png'));
    return true;
  });
});
