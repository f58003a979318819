/**
 * Malformed or misplaced files given to the CLI end in one line on stderr and a
 * non-zero exit, never a stack trace: directories where files are expected,
 * .npy headers nested thousands deep (--z, --class-vector, --data a.npy:b.npy),
 * absurd sizes in a checkpoint's metadata, huge pickle integers, bad limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PT_REF } from './fixture-paths.js';
import { biggan, endsWithError, isCleanError, type CliResult } from './cli-helpers.js';
import { formatNpy } from '../src/io/npy.js';
import { parseSafetensors, formatSafetensors } from '../src/io/safetensors.js';
import { saveCheckpoint } from '../src/models/checkpoint.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { parseGeneratorArgs } from '../src/models/biggan-config.js';

const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-cli-malformed-'));
const dir = path.join(tmp, 'a-folder');
fs.mkdirSync(dir);

/** An .npy whose shape is nested `depth` tuples deep. */
function deepNpy(file: string, depth = 20000): string {
  const valid = formatNpy({ dtype: 'float32', shape: [1, 1], data: new Float32Array(1) });
  const text = `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(depth)}${')'.repeat(depth)}, }\n`;
  const head = new Uint8Array(12);
  head.set(valid.subarray(0, 6));
  head[6] = 2;
  new DataView(head.buffer).setUint32(8, text.length, true);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(text, 'latin1'), Buffer.alloc(4)]));
  return file;
}

function assertClean(r: CliResult, mentions: string): void {
  // data preparation may print its progress line before the error
  assert.ok(isCleanError(r) || endsWithError(r), `expected one clean error line, got status ${r.status}:\n${r.stderr}`);
  assert.match(r.stderr, /^biggan: error: /m);
  assert.ok(r.stderr.includes(mentions), `the message should name ${mentions}: ${r.stderr}`);
}

const sample = (args: string[], env: Record<string, string> = {}): CliResult =>
  biggan(['sample', '--out', path.join(tmp, 'out.npy'), '-n', '1', ...args], env);
const ajbArgs = ['--weights', path.join(AJB, 'G.safetensors'), '--config', path.join(AJB, 'constructor_args.json')];

test('sample --weights DIR and --config DIR: one line naming the folder', () => {
  assertClean(sample(['--weights', dir]), dir);
  assertClean(sample(['--weights', dir, '--no-cache']), dir);
  assertClean(sample(['--weights', path.join(AJB, 'G.safetensors'), '--config', dir]), dir);
  assertClean(sample(['--weights', path.join(AJB, 'G.safetensors'), '--config', dir, '--no-cache']), dir);
});

test('sample --z / --class-vector with .npy headers nested thousands deep', () => {
  const z = deepNpy(path.join(tmp, 'deep-z.npy'));
  assertClean(sample([...ajbArgs, '--z', z, '--no-cache']), z);
  const cv = deepNpy(path.join(tmp, 'deep-cv.npy'));
  assertClean(sample([...ajbArgs, '--class-vector', cv, '--no-cache']), cv);
});

test('train --data a.npy:b.npy with a deep header in either file', () => {
  const a = deepNpy(path.join(tmp, 'deep-a.npy'));
  const labels = path.join(tmp, 'labels.npy');
  fs.writeFileSync(labels, formatNpy({ dtype: 'int64', shape: [1], data: BigInt64Array.from([0n]) }));
  const out = path.join(tmp, 'run');
  const common = ['train', '--out', out, '--resolution', '32', '--ch', '4', '--batch', '2', '--steps', '1'];
  assertClean(biggan([...common, '--data', `${a}:${labels}`]), a);
  const b = deepNpy(path.join(tmp, 'deep-b.npy'));
  const images = path.join(tmp, 'images.npy');
  fs.writeFileSync(images, formatNpy({ dtype: 'uint8', shape: [1, 32, 32, 3], data: new Uint8Array(32 * 32 * 3) }));
  assertClean(biggan([...common, '--data', `${images}:${b}`]), b);
});

test('a checkpoint whose metadata declares absurd sizes or wrong types is refused before anything is allocated', () => {
  const file = path.join(tmp, 'ours.safetensors');
  const G = new BigGANGenerator(parseGeneratorArgs({ resolution: 32, G_ch: 4, dim_z: 8, n_classes: 3, G_attn: '0', shared_dim: 4, hier: false }));
  saveCheckpoint(file, { G });
  const { tensors, metadata } = parseSafetensors(fs.readFileSync(file), file);
  const spec = JSON.parse(metadata.G!);
  const variants: [string, (s: { config: Record<string, unknown> }) => void][] = [
    ['numClasses 1e12', (s) => { s.config.numClasses = 1e12; }],
    ['ch 2^20', (s) => { s.config.ch = 2 ** 20; }],
    ['zDim a string', (s) => { s.config.zDim = '128'; }],
    ['no attention', (s) => { delete s.config.attention; }],
    ['config null', (s) => { (s as { config: unknown }).config = null; }],
  ];
  for (const [what, change] of variants) {
    const s = JSON.parse(JSON.stringify(spec));
    change(s);
    const bad = path.join(tmp, `bad-${what.replace(/\W+/g, '-')}.safetensors`);
    fs.writeFileSync(bad, formatSafetensors(tensors, { ...metadata, G: JSON.stringify(s) }));
    const t0 = Date.now();
    assertClean(sample(['--weights', bad, '--no-cache']), bad);
    assert.ok(Date.now() - t0 < 30_000, `${what}: took ${Date.now() - t0} ms`);
  }
});

test('a file starting with 0x80 holding a 300 KB pickle LONG4 is refused quickly', () => {
  const n = 300_000;
  const buf = Buffer.alloc(2 + 5 + n + 1, 0x5a);
  buf.set([0x80, 0x02, 0x8b], 0);
  buf.writeInt32LE(n, 3);
  buf[buf.length - 1] = 0x2e;
  const file = path.join(tmp, 'long4.bin');
  fs.writeFileSync(file, buf);
  const t0 = Date.now();
  assertClean(sample(['--weights', file, '--no-cache']), file);
  assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
});

test('BIGGAN_MAX_IMAGE_PIXELS must be a positive integer; an image over the limit is named', () => {
  const data = path.join(tmp, 'imgs');
  fs.mkdirSync(path.join(data, 'a'), { recursive: true });
  // a 2x2 PNG: over a limit of 3 pixels
  fs.writeFileSync(path.join(data, 'a', 'x.png'), Buffer.from('89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000000f4944415478da63f8cfc0f01f0002ff01ff9b6b1b4a0000000049454e44ae426082', 'hex'));
  const common = ['train', '--data', data, '--out', path.join(tmp, 'run-img'), '--resolution', '32', '--ch', '4', '--batch', '2', '--steps', '1', '--cache', path.join(tmp, 'c.bgd')];
  const r = biggan(common, { BIGGAN_MAX_IMAGE_PIXELS: 'lots' });
  assertClean(r, 'BIGGAN_MAX_IMAGE_PIXELS');
  const r2 = biggan(common, { BIGGAN_MAX_IMAGE_PIXELS: '3' });
  assertClean(r2, 'x.png');
  assert.match(r2.stderr, /pixel limit/);
});
