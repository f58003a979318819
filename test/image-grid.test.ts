import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import {
  GLYPH_ADVANCE,
  GLYPH_HEIGHT,
  GLYPH_WIDTH,
  drawText,
  hasGlyph,
  measureText,
  truncateToWidth,
} from '../src/image/bitmap-font.js';
import { captionStripHeight, encodePng, imagesToGrid, labelledTileScale, MIN_LABELLED_TILE, toByte, writePng } from '../src/image/image-grid.js';
import { sheetGrid } from '../src/train/run/sample-sheet.js';
import { decodePng, readPng } from '../src/image/png-read.js';
import { assertUserError } from './assert-user-error.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-image-grid-'));
}

/** n images of c x h x w with smooth, distinct values in [-1, 1]. */
function synthetic(n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(n * c * h * w);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.37 + 1) * 0.95;
  return out;
}

test('font covers printable ASCII and measures text on a fixed advance', () => {
  for (let c = 32; c <= 126; c++) assert.ok(hasGlyph(String.fromCharCode(c)), `glyph ${c}`);
  assert.ok(!hasGlyph('é'));
  assert.deepEqual(measureText('', 1), { width: 0, height: GLYPH_HEIGHT });
  assert.deepEqual(measureText('a', 1), { width: GLYPH_WIDTH, height: GLYPH_HEIGHT });
  assert.deepEqual(measureText('abc', 2), { width: (3 * GLYPH_ADVANCE - 1) * 2, height: GLYPH_HEIGHT * 2 });
  // One cell per code point, even outside the BMP.
  assert.equal(measureText('a😀', 1).width, measureText('ab', 1).width);
  assert.throws(() => measureText('a', 0), RangeError);
});

test('drawText: unknown characters draw as "?", ink stays inside the measured box, and it clips', () => {
  const W = 40;
  const H = 20;
  const render = (s: string, x = 3, y = 4, scale = 1): Uint8Array => {
    const buf = new Uint8Array(W * H * 4);
    drawText(buf, W, H, x, y, s, [255, 0, 0], scale);
    return buf;
  };
  assert.deepEqual(render('é'), render('?'));
  assert.deepEqual(render('\u2026'), render('?'));
  assert.notDeepEqual(render('A'), render('B'));
  const buf = render('Hg', 3, 4, 2);
  const box = measureText('Hg', 2);
  let inked = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      if (buf[o + 3] === 0) continue;
      inked++;
      assert.deepEqual([...buf.subarray(o, o + 4)], [255, 0, 0, 255]);
      assert.ok(x >= 3 && x < 3 + box.width && y >= 4 && y < 4 + box.height, `ink at ${x},${y} outside box`);
    }
  }
  assert.ok(inked > 20);
  // Partly off-canvas text must not throw or wrap around.
  const clipped = render('WWWWWWWWWW', -7, 15);
  for (let y = 0; y < 15; y++) for (let x = 0; x < W; x++) assert.equal(clipped[(y * W + x) * 4 + 3], 0);
});

test('truncateToWidth keeps short text and cuts long text with ".."', () => {
  assert.equal(truncateToWidth('golden', 100), 'golden');
  const cut = truncateToWidth('207 golden retriever', 60);
  assert.ok(cut.endsWith('..'), cut);
  assert.ok(measureText(cut).width <= 60);
  assert.ok(measureText(cut + 'x').width > 60 || cut.length < 4);
  assert.ok('207 golden retriever'.startsWith(cut.slice(0, -2)));
  assert.equal(truncateToWidth('abc def', 5), '');
  // No space before the marker: 'ab ..' becomes 'ab..'.
  assert.ok(!truncateToWidth('ab cdefgh', measureText('ab ..').width).includes(' '));
});

test('toByte maps [-1, 1] to [0, 255], clamps, and sends NaN to 0', () => {
  assert.equal(toByte(-1), 0);
  assert.equal(toByte(1), 255);
  assert.equal(toByte(0), 128); // round(127.5)
  assert.equal(toByte(-0.5), 64); // round(63.75)
  assert.equal(toByte(0.5), 191); // round(191.25)
  assert.equal(toByte(-3), 0);
  assert.equal(toByte(7), 255);
  assert.equal(toByte(Number.NaN), 0);
  assert.equal(toByte(Number.POSITIVE_INFINITY), 255);
  assert.equal(toByte(Number.NEGATIVE_INFINITY), 0);
});

test('grid layout sizes: default columns, explicit columns, padding, caption strips', () => {
  const imgs = synthetic(5, 3, 4, 6);
  let g = imagesToGrid(imgs, 5, 3, 4, 6);
  // ceil(sqrt(5)) = 3 columns, 2 rows, padding 2.
  assert.equal(g.width, 3 * 6 + 4 * 2);
  assert.equal(g.height, 2 * 4 + 3 * 2);
  assert.equal(g.rgba.length, g.width * g.height * 4);
  g = imagesToGrid(imgs, 5, 3, 4, 6, { columns: 5, padding: 0 });
  assert.deepEqual([g.width, g.height], [30, 4]);
  g = imagesToGrid(imgs, 5, 3, 4, 6, { columns: 9, padding: 1 }); // columns capped at n
  assert.deepEqual([g.width, g.height], [5 * 6 + 6, 4 + 2]);
  g = imagesToGrid(imgs, 5, 3, 4, 6, { columns: 2, padding: 3, labels: ['a', 'b', 'c', 'd', 'e'] });
  assert.equal(g.width, 2 * 6 + 3 * 3);
  assert.equal(g.height, 3 * (4 + captionStripHeight()) + 4 * 3);
  assert.equal(captionStripHeight(2), 2 * GLYPH_HEIGHT + 4);
  assert.throws(() => imagesToGrid(imgs, 5, 3, 4, 7), RangeError);
  assert.throws(() => imagesToGrid(imgs, 5, 3, 4, 6, { labels: ['x'] }), RangeError);
  assert.throws(() => imagesToGrid(imgs, 5, 2 as 3, 4, 6), RangeError);
});

test('grid pixels: NCHW values land in the right tile, grey is replicated, padding is background', () => {
  const n = 3;
  const h = 2;
  const w = 3;
  const rgbImgs = synthetic(n, 3, h, w);
  rgbImgs[1] = Number.NaN; // image 0, R, (0, 1)
  const pad = 1;
  const g = imagesToGrid(rgbImgs, n, 3, h, w, { columns: 2, padding: pad, background: [10, 20, 30] });
  const px = (x: number, y: number): number[] => [...g.rgba.subarray((y * g.width + x) * 4, (y * g.width + x) * 4 + 4)];
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % 2) * (w + pad);
    const y0 = pad + Math.floor(i / 2) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = (c: number): number => toByte(rgbImgs[((i * 3 + c) * h + y) * w + x] as number);
        assert.deepEqual(px(x0 + x, y0 + y), [at(0), at(1), at(2), 255], `image ${i} (${x},${y})`);
      }
    }
  }
  assert.equal(px(pad + 1, pad)[0], 0); // the NaN
  assert.deepEqual(px(0, 0), [10, 20, 30, 255]);
  assert.deepEqual(px(pad + w, pad), [10, 20, 30, 255]); // gap between columns
  assert.deepEqual(px(g.width - 1 - pad, g.height - 1 - pad), [10, 20, 30, 255]); // empty 4th slot

  const grey = Float32Array.from([-1, -0.5, 0, 0.5, 1, 2]);
  const gg = imagesToGrid(grey, 1, 1, 2, 3, { padding: 0 });
  const expected = [0, 64, 128, 191, 255, 255];
  for (let p = 0; p < 6; p++) {
    const v = expected[p] as number;
    assert.deepEqual([...gg.rgba.subarray(p * 4, p * 4 + 4)], [v, v, v, 255]);
  }
});

test('labels change pixels only inside the caption strips, in a contrasting colour', () => {
  const n = 4;
  const h = 16;
  const w = 40;
  const pad = 2;
  const imgs = synthetic(n, 3, h, w);
  const blank = imagesToGrid(imgs, n, 3, h, w, { columns: 2, padding: pad, labels: ['', '', '', ''], background: [255, 255, 255] });
  const labels = ['207 golden retriever', 'cat', 'x'.repeat(50), 'é?'];
  const lab = imagesToGrid(imgs, n, 3, h, w, { columns: 2, padding: pad, labels, background: [255, 255, 255] });
  assert.deepEqual([lab.width, lab.height], [blank.width, blank.height]);
  const strip = captionStripHeight();
  const changedPerTile = new Array<number>(n).fill(0);
  for (let y = 0; y < lab.height; y++) {
    for (let x = 0; x < lab.width; x++) {
      const o = (y * lab.width + x) * 4;
      if (lab.rgba.subarray(o, o + 4).every((v, k) => v === blank.rgba[o + k])) continue;
      const col = Math.floor((x - pad) / (w + pad));
      const row = Math.floor((y - pad) / (h + strip + pad));
      const cx = pad + col * (w + pad);
      const sy = pad + row * (h + strip + pad) + h;
      assert.ok(x >= cx && x < cx + w && y >= sy && y < sy + strip, `label pixel at (${x},${y}) outside caption strip`);
      assert.deepEqual([...lab.rgba.subarray(o, o + 4)], [0, 0, 0, 255], 'dark ink on a light background');
      changedPerTile[row * 2 + col]++;
    }
  }
  for (let i = 0; i < n; i++) assert.ok((changedPerTile[i] as number) > 0, `tile ${i} got a caption`);
});

test('tile scale magnifies by nearest neighbour; row labels sit in a column left of the tiles', () => {
  const imgs = synthetic(4, 3, 2, 3);
  const g = imagesToGrid(imgs, 4, 3, 2, 3, { columns: 2, padding: 1, tileScale: 3 });
  assert.deepEqual([g.width, g.height], [2 * 9 + 3, 2 * 6 + 3]);
  const px = (im: typeof g, x: number, y: number): number[] => [...im.rgba.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4)];
  for (let y = 0; y < 6; y++) for (let x = 0; x < 9; x++) {
    const at = (c: number): number => toByte(imgs[(c * 2 + Math.floor(y / 3)) * 3 + Math.floor(x / 3)] as number);
    assert.deepEqual(px(g, 1 + x, 1 + y), [at(0), at(1), at(2), 255]);
  }
  const rowLabels = ['disc', 'a much longer class name'];
  const r = imagesToGrid(imgs, 4, 3, 2, 3, { columns: 2, padding: 1, tileScale: 8, rowLabels, background: [255, 255, 255] });
  const column = measureText(rowLabels[1]!).width + 4;
  assert.deepEqual([r.width, r.height], [column + 2 * 24 + 3, 2 * 16 + 3]);
  // ink only inside the label column, and in both rows
  const inkRows = new Set<number>();
  for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) {
    const v = px(r, x, y);
    if (v[0] === 0 && v[1] === 0 && v[2] === 0 && x < column) inkRows.add(y < 1 + 16 ? 0 : 1);
  }
  assert.deepEqual([...inkRows].sort(), [0, 1]);
  assert.deepEqual(px(r, column + 1, 1), [...[0, 1, 2].map((c) => toByte(imgs[c * 6] as number)), 255], 'tiles start after the column');
  assert.throws(() => imagesToGrid(imgs, 4, 3, 2, 3, { columns: 2, rowLabels: ['one'] }), RangeError);
  assert.throws(() => imagesToGrid(imgs, 4, 3, 2, 3, { tileScale: 0 }), RangeError);
});

test('labelled sheets are legible at every resolution: small tiles magnified, class names in full, never ids', () => {
  assert.deepEqual([32, 64, 128, 256].map(labelledTileScale), [3, 2, 1, 1]);
  for (const R of [32, 64, 128]) assert.ok(R * labelledTileScale(R) >= MIN_LABELLED_TILE);
  // the training sheet at 32 px: 3 classes x 2 images, names longer than a 32 px tile
  const names = ['triangle', 'stripes', 'airplane'];
  const R = 32;
  const ids = [0, 0, 1, 1, 2, 2];
  const sheet = sheetGrid(synthetic(6, 3, R, R), R, ids, names, 2);
  const column = Math.max(...names.map((n) => measureText(n).width)) + 4;
  assert.equal(sheet.width, column + 2 * 96 + 3 * 2, 'tiles shown 3x (96 px), the longest name in full at the left');
  assert.equal(sheet.height, 3 * 96 + 4 * 2);
  // a caption of 15 characters fits a magnified 32 px tile uncut
  assert.ok(measureText('airplane 0 cat!').width <= 32 * labelledTileScale(32) - 4);
});

test('PNG round trip through encodePng / writePng / readPng', () => {
  const dir = tmpDir();
  try {
    const g = imagesToGrid(synthetic(3, 3, 5, 7), 3, 3, 5, 7, { labels: ['a', 'b', 'c'] });
    const file = path.join(dir, 'grid.png');
    writePng(file, g.rgba, g.width, g.height);
    const back = readPng(file);
    assert.deepEqual([back.width, back.height, back.channels], [g.width, g.height, 3]);
    const rgb = new Uint8Array(g.width * g.height * 3);
    for (let p = 0; p < g.width * g.height; p++) rgb.set(g.rgba.subarray(p * 4, p * 4 + 3), p * 3);
    assert.deepEqual(back.data, rgb);
    assert.deepEqual(fs.readFileSync(file), encodePng(g.rgba, g.width, g.height));

    // Translucent pixels keep their alpha (stored as RGBA).
    const rgba = Uint8Array.from([1, 2, 3, 4, 250, 251, 252, 255]);
    const t = decodePng(encodePng(rgba, 2, 1), 'mem');
    assert.equal(t.channels, 4);
    assert.deepEqual(t.data, rgba);
    assert.throws(() => encodePng(rgba, 3, 1), RangeError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt, truncated, non-PNG and missing files are one-line UserErrors naming the file', () => {
  const dir = tmpDir();
  try {
    const good = encodePng(imagesToGrid(synthetic(1, 3, 8, 8), 1, 3, 8, 8).rgba, 12, 12);
    const notPng = path.join(dir, 'photo.png');
    fs.writeFileSync(notPng, Buffer.from('\xff\xd8\xff\xe0 definitely a jpeg', 'latin1'));
    assertUserError(() => readPng(notPng), /not a PNG/, notPng);

    const truncated = path.join(dir, 'truncated.png');
    fs.writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
    assertUserError(() => readPng(truncated), /not a valid PNG.*truncated/, truncated);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 20] ^= 0xff; // inside IDAT: CRC no longer matches
    const bad = path.join(dir, 'bad-crc.png');
    fs.writeFileSync(bad, flipped);
    assertUserError(() => readPng(bad), /not a valid PNG/, bad);

    const empty = path.join(dir, 'empty.png');
    fs.writeFileSync(empty, '');
    assertUserError(() => readPng(empty), /not a PNG/, empty);

    const missing = path.join(dir, 'missing.png');
    assertUserError(() => readPng(missing), /does not exist/, missing);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writePng is atomic: no temp files after success, nothing at all after a failure', () => {
  const dir = tmpDir();
  try {
    const g = imagesToGrid(synthetic(2, 1, 4, 4), 2, 1, 4, 4);
    const file = path.join(dir, 'out.png');
    writePng(file, g.rgba, g.width, g.height);
    writePng(file, g.rgba, g.width, g.height); // overwrite in place
    assert.deepEqual(fs.readdirSync(dir), ['out.png']);

    // Renaming onto an existing directory fails after the temp file is written.
    const blocked = path.join(dir, 'blocked.png');
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, 'keep'), 'x');
    assert.throws(() => writePng(blocked, g.rgba, g.width, g.height), UserError);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['blocked.png', 'out.png']);

    // Missing directory: UserError, nothing created.
    assert.throws(() => writePng(path.join(dir, 'nope', 'x.png'), g.rgba, g.width, g.height), UserError);
    // Bad input is rejected before any file is touched.
    assert.throws(() => writePng(path.join(dir, 'short.png'), g.rgba.subarray(4), g.width, g.height), RangeError);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['blocked.png', 'out.png']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
