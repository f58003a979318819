/**
 * Class-less image folders (CelebA-HQ, LSUN-Bedroom style: the images sit directly in
 * the folder) end to end through the CLI: `biggan train --unconditional` at 128x128 on
 * PNGs of mixed sizes (centre-cropped and resized like any folder) writes a checkpoint;
 * without --unconditional the run stops with one line saying what to do; `biggan
 * fid-stats` (native size and through the loader) and `biggan eval --real` take the
 * folder as the reference set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { biggan, isCleanError } from './cli-helpers.js';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';
import { readCheckpoint } from '../src/models/checkpoint.js';
import { readNpz } from '../src/io/npz.js';
import { openDataset, readPreparedHeader } from '../src/data/prepared-dataset.js';
import { openImageInput } from '../src/eval/image-input.js';
import { UserError } from '../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-classless-'));
const faces = path.join(tmp, 'faces');
const P = ['--inception', 'procedural'];

/** A smooth colour field with a seed-dependent blob, `w` x `h`. */
function writePng(file: string, w: number, h: number, seed: number): void {
  const png = new PNG({ width: w, height: h });
  const cx = (seed * 37) % w;
  const cy = (seed * 53) % h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      const d = Math.hypot(x - cx, y - cy) / Math.max(w, h);
      png.data[o] = (x * 255 / w + seed * 29) & 255;
      png.data[o + 1] = (y * 255 / h + seed * 71) & 255;
      png.data[o + 2] = d < 0.2 ? 255 : 40;
      png.data[o + 3] = 255;
    }
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

fs.mkdirSync(faces);
for (let i = 0; i < 10; i++) writePng(path.join(faces, `img${String(i).padStart(3, '0')}.png`), 128, 128, i);
// other sizes are centre-cropped along the long edge and resized, as in any folder
writePng(path.join(faces, 'wide.png'), 160, 128, 11);
writePng(path.join(faces, 'small.png'), 64, 64, 12);

const TINY = ['--ch', '4', '--batch', '4', '--dim-z', '16', '--threads', '1', '--standing-passes', '1', '--sample-every', '0'];

test('a class-less folder trains an unconditional sndcgan at 128x128 and checkpoints it', () => {
  const run = path.join(tmp, 'run');
  const r = biggan(['train', '--data', faces, '--arch', 'sndcgan', '--resolution', '128', '--unconditional', '--steps', '2', ...TINY, '--out', run]);
  assert.equal(r.status, 0, r.stderr);
  const file = path.join(run, 'checkpoint.safetensors');
  const ck = readTrainingCheckpoint(file);
  assert.equal(ck.meta.step, 2);
  assert.equal(ck.meta.config.unconditional, true);
  assert.equal(ck.meta.data.count, 12);
  const contents = readCheckpoint(file)!;
  assert.deepEqual(contents.G, { arch: 'sndcgan', role: 'G', config: { resolution: 128, ch: 4, zDim: 16, numClasses: 1, conditional: false, bnEps: 2e-5 } });

  // the checkpoint's generator is scored against the class-less folder
  const e = biggan(['eval', '--weights', file, '--real', faces, '--metrics', 'fid,kid', '-n', '12', '--kid-subset-size', '6', ...P]);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /FID \d+\.\d{3}/);
});

test('a class-less folder with a conditional model: one line saying to pass --unconditional', () => {
  const run = path.join(tmp, 'cond');
  const r = biggan(['train', '--data', faces, '--arch', 'sndcgan', '--resolution', '128', '--steps', '1', ...TINY, '--out', run]);
  assert.ok(isCleanError(r), r.stderr);
  assert.match(r.stderr, /class-less image set.*--unconditional/);
  assert.ok(!fs.existsSync(path.join(run, 'checkpoint.safetensors')));
});

test('images beside sub-folders: one line naming both layouts', () => {
  const mixed = path.join(tmp, 'mixed');
  fs.mkdirSync(path.join(mixed, 'cats'), { recursive: true });
  writePng(path.join(mixed, 'a.png'), 32, 32, 1);
  writePng(path.join(mixed, 'cats', 'b.png'), 32, 32, 2);
  const r = biggan(['train', '--data', mixed, '--arch', 'sndcgan', '--resolution', '32', '--unconditional', '--steps', '1', ...TINY, '--out', path.join(tmp, 'mixed-run')]);
  assert.ok(isCleanError(r), r.stderr);
  assert.match(r.stderr, /holds both 1 images and 1 sub-folders.*class-less set.*one sub-folder per class/);
});

test('fid-stats takes a class-less folder, at native size and through the loader at 128', () => {
  for (const extra of [[], ['--resolution', '128']]) {
    const out = path.join(tmp, `faces${extra.length}.npz`);
    const r = biggan(['fid-stats', '--data', faces, '--out', out, ...P, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^12 images /m);
    const z = readNpz(out);
    assert.deepEqual(z.get('mu')!.shape, [2048]);
  }
});

test('the prepared set of a class-less folder is marked classless: one class, no labels for per-class metrics', async () => {
  const cache = path.join(tmp, 'faces16.bgd');
  await assert.rejects(openDataset(faces, { resolution: 16, cache, requireClasses: 'advice' }), (e: unknown) => e instanceof UserError && /class-less image set.*: advice$/.test(e.message));
  assert.ok(!fs.existsSync(cache), 'refused before preparing');
  const ds = await openDataset(faces, { resolution: 16, cache });
  assert.equal(ds.classless, true);
  assert.equal(ds.count, 12);
  assert.deepEqual([...ds.classNames], ['faces']);
  assert.ok(ds.labels.every((l) => l === 0));
  ds.close();
  assert.equal(readPreparedHeader(cache).classless, true);
  const input = openImageInput(cache);
  const labels = input.labels();
  assert.ok('missing' in labels && /class-less/.test(labels.missing));
  input.close();
  await assert.rejects(openDataset(cache, { resolution: 16, requireClasses: 'advice' }), /class-less image set/);
});
