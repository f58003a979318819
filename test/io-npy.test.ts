import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { NdArray } from '../src/io/ndarray.js';
import { formatNpy, parseNpy, readNpy, writeNpy } from '../src/io/npy.js';
import { readNpz, writeNpz } from '../src/io/npz.js';
import { PT_REF, METRICS_REF } from './fixture-paths.js';
import { assertUserError } from './assert-user-error.js';

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-io-npy-'));
}

const SETS: Record<string, { n: number; t: number }> = {
  't0.4_onehot': { n: 4, t: 0.4 },
  't1.0_mixed': { n: 4, t: 1.0 },
  't0.123_interp': { n: 2, t: 0.123 },
  't0.58_fpedge': { n: 2, t: 0.58 },
};

test('fixture npy files read with the right dtypes and shapes', () => {
  for (const [set, { n, t }] of Object.entries(SETS)) {
    const dir = path.join(HF, 'sets', set);
    const z = readNpy(path.join(dir, 'z.npy'));
    assert.equal(z.dtype, 'float32');
    assert.deepEqual(z.shape, [n, 128]);
    assert.ok(z.data instanceof Float32Array);
    // z is already truncated: truncnorm(-2, 2) * truncation.
    for (const v of z.data as Float32Array) assert.ok(Math.abs(v) <= 2 * t + 1e-6);
    const cv = readNpy(path.join(dir, 'class_vector.npy'));
    assert.equal(cv.dtype, 'float32');
    assert.deepEqual(cv.shape, [n, 1000]);
    const tr = readNpy(path.join(dir, 'truncation.npy'));
    assert.equal(tr.dtype, 'float64');
    assert.deepEqual(tr.shape, [1]);
    assert.equal((tr.data as Float64Array)[0], t);
    const out = readNpy(path.join(dir, 'output.npy'));
    assert.deepEqual(out.shape, [n, 3, 128, 128]);
  }
  const y = readNpy(path.join(AJB, 'y.npy'));
  assert.equal(y.dtype, 'int64');
  assert.deepEqual(y.shape, [4]);
  assert.ok(y.data instanceof BigInt64Array);
  for (const v of y.data as BigInt64Array) assert.ok(v >= 0n && v < 1000n);
});

test('formatNpy reproduces numpy.save bytes exactly', () => {
  const files = [
    path.join(HF, 'sets', 't0.4_onehot', 'z.npy'),
    path.join(HF, 'sets', 't0.4_onehot', 'truncation.npy'),
    path.join(AJB, 'y.npy'),
    path.join(AJB, 'z.npy'),
  ];
  const metrics = fs.existsSync(METRICS_REF) ? fs.readdirSync(METRICS_REF).filter((f) => f.endsWith('.npy')).slice(0, 6) : [];
  for (const f of [...files, ...metrics.map((m) => path.join(METRICS_REF, m))]) {
    const bytes = fs.readFileSync(f);
    const a = readNpy(f);
    assert.ok(Buffer.from(formatNpy(a)).equals(bytes), `re-encoding ${f} differs`);
  }
});

test('npy round trip of every dtype, 0-d, empty and misaligned buffers', () => {
  const dir = tmpDir();
  const arrays: NdArray[] = [
    { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, NaN, Infinity, -0]) },
    { dtype: 'float64', shape: [], data: Float64Array.from([Math.PI]) },
    { dtype: 'int64', shape: [3], data: BigInt64Array.from([-1n, 2n ** 62n, 0n]) },
    { dtype: 'int32', shape: [1, 2, 1], data: Int32Array.from([-7, 2 ** 31 - 1]) },
    { dtype: 'uint8', shape: [4], data: Uint8Array.from([0, 1, 254, 255]) },
    { dtype: 'bool', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    { dtype: 'float16', shape: [2], data: Uint16Array.from([0x3c00, 0xfbff]) },
    { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) },
  ];
  arrays.forEach((a, i) => {
    const f = path.join(dir, `a${i}.npy`);
    writeNpy(f, a);
    const b = readNpy(f);
    assert.equal(b.dtype, a.dtype);
    assert.deepEqual(b.shape, a.shape);
    assert.deepEqual(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength));
    // Same bytes at an odd offset: must still decode (copied into aligned memory).
    const enc = formatNpy(a);
    const shifted = new Uint8Array(enc.length + 1);
    shifted.set(enc, 1);
    const c = parseNpy(shifted.subarray(1), 'shifted');
    assert.deepEqual(Array.from(c.data as ArrayLike<number | bigint>), Array.from(a.data as ArrayLike<number | bigint>));
  });
  assert.deepEqual(fs.readdirSync(dir).sort(), arrays.map((_, i) => `a${i}.npy`).sort(), 'no temp files left');
  assertUserError(() => formatNpy({ dtype: 'bfloat16', shape: [1], data: new Uint16Array(1) }), /bfloat16/);
  assertUserError(() => formatNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) }), /needs 3 elements/);
  fs.rmSync(dir, { recursive: true });
});

/** Builds an .npy buffer with an arbitrary header dict and version. */
function craftNpy(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const hl = total - prefix;
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, hl, true);
  else dv.setUint32(8, hl, true);
  out.set(new TextEncoder().encode(dict.padEnd(hl - 1, ' ') + '\n'), prefix);
  out.set(data, total);
  return out;
}

test('npy versions 2.0/3.0 and rejected variants', () => {
  const data = new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer);
  for (const major of [2, 3]) {
    const a = parseNpy(craftNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data, major), 'v');
    assert.deepEqual(a.shape, [2, 2]);
    assert.deepEqual(Array.from(a.data as Float32Array), [1, 2, 3, 4]);
  }
  const f = 'crafted.npy';
  assertUserError(() => parseNpy(craftNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data), f), /Fortran-order/, f);
  assertUserError(() => parseNpy(craftNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", data), f), /big-endian/, f);
  assertUserError(() => parseNpy(craftNpy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", data), f), /object arrays/, f);
  assertUserError(() => parseNpy(craftNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", data), f), /structured/, f);
  assertUserError(() => parseNpy(craftNpy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data), f), /unsupported dtype/, f);
  assertUserError(() => parseNpy(craftNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", data), f), /truncated/, f);
  assertUserError(() => parseNpy(new TextEncoder().encode('hello world'), f), /not a \.npy file/, f);
  assertUserError(() => readNpy(path.join(os.tmpdir(), 'definitely-missing-biggan.npy')), /does not exist/);
});

test('truncated fixture npy gives a one-line UserError', () => {
  const dir = tmpDir();
  const src = fs.readFileSync(path.join(HF, 'sets', 't0.4_onehot', 'z.npy'));
  for (const cut of [5, 60, src.length - 3]) {
    const f = path.join(dir, `cut${cut}.npy`);
    fs.writeFileSync(f, src.subarray(0, cut));
    assertUserError(() => readNpy(f), /truncated|not a \.npy/, f);
  }
  fs.rmSync(dir, { recursive: true });
});

test('npz round trip (stored by writeNpz, deflated by another writer)', () => {
  const dir = tmpDir();
  const mu: NdArray = { dtype: 'float64', shape: [3], data: Float64Array.from([0.5, -1, 2]) };
  const sigma: NdArray = { dtype: 'float64', shape: [3, 3], data: Float64Array.from([1, 0, 0, 0, 2, 0, 0, 0, 3]) };
  const f = path.join(dir, 'stats.npz');
  writeNpz(f, { mu, sigma });
  const back = readNpz(f);
  assert.deepEqual([...back.keys()], ['mu', 'sigma']);
  assert.deepEqual(Array.from(back.get('mu')!.data as Float64Array), [0.5, -1, 2]);
  assert.deepEqual(back.get('sigma')!.shape, [3, 3]);
  assert.deepEqual(Array.from(back.get('sigma')!.data as Float64Array), Array.from(sigma.data as Float64Array));
  assert.deepEqual(fs.readdirSync(dir), ['stats.npz']);

  // np.savez_compressed-style archive: deflated members.
  const g = path.join(dir, 'compressed.npz');
  fs.writeFileSync(g, zipSync({ 'mu.npy': formatNpy(mu), 'sigma.npy': formatNpy(sigma) }, { level: 9 }));
  const c = readNpz(g);
  assert.deepEqual(Array.from(c.get('sigma')!.data as Float64Array), Array.from(sigma.data as Float64Array));

  const bytes = fs.readFileSync(f);
  const t = path.join(dir, 'truncated.npz');
  fs.writeFileSync(t, bytes.subarray(0, bytes.length - 30));
  assertUserError(() => readNpz(t), /truncated or corrupt/, t);
  fs.rmSync(dir, { recursive: true });
});
