import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import type { NdArray } from '../src/io/ndarray.js';
import { formatSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { readStateDict } from '../src/io/state-dict-file.js';
import { PT_REF } from './fixture-paths.js';
import { assertUserError } from './assert-user-error.js';

const FIXTURES = [
  'ajbrock-biggan-128-ch10/G.safetensors',
  'ajbrock-biggan-128-ch10/D.safetensors',
  'hf-biggan-deep-128-w8/model.safetensors',
  'ajbrock-biggan-32-train-step/final/G_adam.safetensors',
  'ajbrock-biggan-32-train-step/Dstep0/D_grads.safetensors',
].map((f) => path.join(PT_REF, f));

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-io-st-'));
}

const raw = (a: NdArray): Buffer => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);

/** Header keys in file order, read independently of the implementation under test. */
function headerKeys(file: string): string[] {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const json = b.subarray(8, 8 + n).toString('utf8');
  return [...json.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]!);
}

test('fixture safetensors files read in header order with metadata', () => {
  for (const f of FIXTURES) {
    const { tensors, metadata } = readSafetensors(f);
    assert.deepEqual([...tensors.keys()], headerKeys(f), f);
    assert.equal(metadata.format, 'pt');
    for (const t of tensors.values()) assert.equal(t.dtype, 'float32');
  }
  const g = readSafetensors(FIXTURES[0]!).tensors;
  assert.deepEqual(g.get('shared.weight')!.shape, [1000, 128]);
  assert.deepEqual(g.get('blocks.3.1.gamma')!.shape, []);
  assert.equal(g.get('blocks.3.1.gamma')!.data.length, 1);
});

test('re-writing a fixture with its metadata is byte-identical', () => {
  const dir = tmpDir();
  for (const f of FIXTURES) {
    const bytes = fs.readFileSync(f);
    const { tensors, metadata } = readSafetensors(f);
    assert.ok(Buffer.from(formatSafetensors(tensors, metadata)).equals(bytes), `formatSafetensors(${f}) differs`);
    const out = path.join(dir, path.basename(f));
    writeSafetensors(out, tensors, metadata);
    assert.ok(fs.readFileSync(out).equals(bytes), `writeSafetensors(${f}) differs`);
  }
  fs.rmSync(dir, { recursive: true });
});

test('round trip of every dtype, 0-d and empty tensors, integer-like names in order', () => {
  const dir = tmpDir();
  const list: Array<[string, NdArray]> = [
    ['10', { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, NaN, -0, 3]) }],
    ['2', { dtype: 'float64', shape: [], data: Float64Array.from([1e-300]) }],
    ['a.b', { dtype: 'int64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 5n]) }],
    ['i32', { dtype: 'int32', shape: [1], data: Int32Array.from([-3]) }],
    ['u8', { dtype: 'uint8', shape: [3], data: Uint8Array.from([0, 128, 255]) }],
    ['mask', { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) }],
    ['half', { dtype: 'float16', shape: [1], data: Uint16Array.from([0x3c00]) }],
    ['bf', { dtype: 'bfloat16', shape: [1, 1], data: Uint16Array.from([0x3f80]) }],
    ['empty', { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) }],
    ['ünï', { dtype: 'float32', shape: [1], data: Float32Array.from([7]) }],
  ];
  const f = path.join(dir, 'all.safetensors');
  writeSafetensors(f, list, { note: 'x "quoted" ✓' });
  const { tensors, metadata } = readSafetensors(f);
  assert.deepEqual(metadata, { note: 'x "quoted" ✓' });
  assert.deepEqual([...tensors.keys()], list.map(([k]) => k));
  for (const [k, a] of list) {
    const b = tensors.get(k)!;
    assert.equal(b.dtype, a.dtype, k);
    assert.deepEqual(b.shape, a.shape, k);
    assert.ok(raw(b).equals(raw(a)), k);
  }
  const bytes = fs.readFileSync(f);
  assert.equal((8 + Number(bytes.readBigUInt64LE(0))) % 8, 0, 'data section 8-byte aligned');
  // Without metadata: no __metadata__ entry; reading from a buffer works too.
  const noMeta = formatSafetensors(new Map([['x', list[0]![1]]]));
  assert.ok(!Buffer.from(noMeta).toString('latin1').includes('__metadata__'));
  assert.deepEqual(readSafetensors(noMeta).metadata, {});
  assert.deepEqual(fs.readdirSync(dir), ['all.safetensors']);
  fs.rmSync(dir, { recursive: true });
});

/** A safetensors buffer with a hand-written header (padded) and `dataLen` zero bytes. */
function craft(header: string, dataLen: number): Uint8Array {
  const json = Buffer.from(header.padEnd(Math.ceil(header.length / 8) * 8, ' '));
  const out = Buffer.alloc(8 + json.length + dataLen);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

test('invalid safetensors headers are rejected with clear errors', () => {
  const n = 'x.safetensors';
  const t = (name: string, dtype: string, shape: number[], a: number, b: number): string =>
    `"${name}":{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${a},${b}]}`;
  // The valid baseline parses.
  assert.equal(parseSafetensors(craft(`{${t('a', 'F32', [2], 0, 8)},${t('b', 'I64', [], 8, 16)}}`, 16), n).tensors.size, 2);
  assertUserError(() => parseSafetensors(craft('{"a":', 0), n), /not valid JSON/, n);
  assertUserError(() => parseSafetensors(craft('[1,2]', 0), n), /not a JSON object/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [3], 0, 8)}}`, 8), n), /needs 12 bytes/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'C64', [1], 0, 8)}}`, 8), n), /unsupported dtype C64/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [2], 0, 8)},${t('b', 'F32', [2], 4, 12)}}`, 12), n), /gap or overlap/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [2], 8, 16)}}`, 16), n), /gap or overlap/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [2], 0, 8)}}`, 12), n), /not covered/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [2], 0, 8)}}`, 4), n), /truncated or corrupt/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [2], 0, 8)},${t('a', 'F32', [2], 8, 16)}}`, 16), n), /duplicate/, n);
  assertUserError(() => parseSafetensors(craft(`{"__metadata__":{"k":1},${t('a', 'F32', [2], 0, 8)}}`, 8), n), /__metadata__\.k/, n);
  assertUserError(() => parseSafetensors(craft(`{${t('a', 'F32', [-1], 0, 8)}}`, 8), n), /invalid shape/, n);
  assertUserError(() => parseSafetensors(new Uint8Array(4), n), /truncated or corrupt/, n);
});

test('truncated fixture copies give a one-line truncated error (direct and via readStateDict)', () => {
  const dir = tmpDir();
  const src = fs.readFileSync(FIXTURES[0]!);
  for (const cut of [4, 100, src.length - 1]) {
    const f = path.join(dir, `G-cut${cut}.safetensors`);
    fs.writeFileSync(f, src.subarray(0, cut));
    assertUserError(() => readSafetensors(f), /truncated or corrupt/, f);
    if (cut > 10) assertUserError(() => readStateDict(f), /truncated or corrupt/, f);
  }
  fs.rmSync(dir, { recursive: true });
});

test('failed writes leave nothing behind', () => {
  const dir = tmpDir();
  const good: NdArray = { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) };
  const bad: NdArray = { dtype: 'float32', shape: [3], data: Float32Array.from([1, 2]) };
  assertUserError(() => writeSafetensors(path.join(dir, 'bad.safetensors'), [['g', good], ['b', bad]]), /tensor b/);
  assertUserError(() => writeSafetensors(path.join(dir, 'dup.safetensors'), [['g', good], ['g', good]]), /duplicate/);
  // Destination is a directory: the rename fails after the temp file was written.
  fs.mkdirSync(path.join(dir, 'taken.safetensors'));
  assert.throws(() => writeSafetensors(path.join(dir, 'taken.safetensors'), [['g', good]]), UserError);
  assertUserError(() => writeSafetensors(path.join(dir, 'no', 'such', 'dir.safetensors'), [['g', good]]), /does not exist/);
  assert.deepEqual(fs.readdirSync(dir), ['taken.safetensors']);
  // Overwriting an existing file replaces it whole.
  const f = path.join(dir, 'ok.safetensors');
  fs.writeFileSync(f, 'old contents');
  writeSafetensors(f, new Map([['g', good]]));
  assert.deepEqual(Array.from(readSafetensors(f).tensors.get('g')!.data as Float32Array), [1, 2]);
  fs.rmSync(dir, { recursive: true });
});
