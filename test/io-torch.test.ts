import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { NdArray } from '../src/io/ndarray.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { PyDict, unpickle } from '../src/io/pickle.js';
import { parseTorchFile, readTorchFile, readTorchStateDict } from '../src/io/torch-checkpoint.js';
import { readStateDict } from '../src/io/state-dict-file.js';
import { writeNpz } from '../src/io/npz.js';
import { PT_REF } from './fixture-paths.js';
import { assertUserError } from './assert-user-error.js';

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const STEP = path.join(PT_REF, 'ajbrock-biggan-32-train-step');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-io-torch-'));
}

const raw = (a: NdArray): Buffer => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);

function assertSameTensors(got: Map<string, NdArray>, want: Map<string, NdArray>, what: string): void {
  assert.deepEqual([...got.keys()], [...want.keys()], `${what}: key order`);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    assert.equal(g.dtype, w.dtype, `${what}: ${k} dtype`);
    assert.deepEqual(g.shape, w.shape, `${what}: ${k} shape`);
    assert.ok(raw(g).equals(raw(w)), `${what}: ${k} bytes differ`);
  }
}

const PAIRS: Array<[string, string]> = [
  [path.join(HF, 'pytorch_model.bin'), path.join(HF, 'model.safetensors')],
  [path.join(AJB, 'G.pth'), path.join(AJB, 'G.safetensors')],
  [path.join(AJB, 'D.pth'), path.join(AJB, 'D.safetensors')],
  ...['initial', 'final'].flatMap((dir) =>
    ['G', 'D', 'G_ema'].map((m): [string, string] => [path.join(STEP, dir, `${m}.pth`), path.join(STEP, dir, `${m}.safetensors`)]),
  ),
];

test('every fixture torch state dict equals its safetensors sibling bit for bit', () => {
  for (const [pt, st] of PAIRS) {
    const want = readSafetensors(st).tensors;
    assertSameTensors(readTorchStateDict(pt), want, pt);
    assertSameTensors(readStateDict(pt), want, `readStateDict(${pt})`);
  }
});

test('legacy (pre-1.6) checkpoint equals the corresponding subset', () => {
  const file = path.join(HF, 'pytorch_model.legacy-subset.bin');
  const got = readTorchStateDict(file);
  const all = readSafetensors(path.join(HF, 'model.safetensors')).tensors;
  const want = new Map([...all].filter(([k]) => got.has(k)));
  assert.equal(want.size, got.size, 'every legacy key exists in the full state dict');
  assert.ok(got.has('embeddings.weight') && [...got.keys()].some((k) => k.startsWith('generator.layers.0.')));
  assert.ok([...got.keys()].some((k) => k.startsWith('generator.bn.')));
  assertSameTensors(got, want, file);
  assertSameTensors(readStateDict(file), want, `readStateDict(${file})`);
});

test('optimizer state dicts parse and match the Adam safetensors', () => {
  for (const m of ['G', 'D']) {
    const file = path.join(STEP, 'final', `${m}_optim.pth`);
    const top = readTorchFile(file);
    assert.ok(top instanceof Map);
    const state = top.get('state') as Map<number, Map<string, NdArray>>;
    const groups = top.get('param_groups') as Array<Map<string, unknown>>;
    assert.ok(state instanceof Map && Array.isArray(groups) && groups.length === 1);
    const g = groups[0]!;
    assert.deepEqual(g.get('betas'), [0, 0.999]);
    assert.equal(g.get('amsgrad'), false);
    assert.equal(g.get('foreach'), null);
    assert.equal(typeof g.get('lr'), 'number');
    const params = g.get('params') as number[];
    assert.deepEqual(params, [...state.keys()]);
    // {M}_adam.safetensors lists <param name>.{exp_avg, exp_avg_sq, step} in parameter order.
    const adam = [...readSafetensors(path.join(STEP, 'final', `${m}_adam.safetensors`)).tensors];
    assert.equal(adam.length, 3 * params.length);
    params.forEach((p, i) => {
      const s = state.get(p)!;
      for (let j = 0; j < 3; j++) {
        const [name, want] = adam[3 * i + j]!;
        const field = name.slice(name.lastIndexOf('.') + 1);
        const got = s.get(field)!;
        assert.deepEqual(got.shape, want.shape, name);
        assert.ok(raw(got).equals(raw(want)), name);
      }
    });
  }
});

test('truncated and foreign files give one-line UserErrors', () => {
  const dir = tmpDir();
  const cases: Array<[string, number[]]> = [
    [path.join(AJB, 'G.pth'), [10, 40, 5000, -100, -1]],
    [path.join(HF, 'pytorch_model.legacy-subset.bin'), [8, 20, 600, 7000, -5000, -1]],
  ];
  for (const [src, cuts] of cases) {
    const bytes = fs.readFileSync(src);
    for (const c of cuts) {
      const f = path.join(dir, `cut${c}-${path.basename(src)}`);
      fs.writeFileSync(f, bytes.subarray(0, c < 0 ? bytes.length + c : c));
      assertUserError(() => readTorchFile(f), /truncated or corrupt/, f);
      assertUserError(() => readStateDict(f), /truncated or corrupt/, f);
    }
  }
  const text = path.join(dir, 'notes.pth');
  fs.writeFileSync(text, 'these are not weights\n');
  assertUserError(() => readTorchFile(text), /is not a PyTorch checkpoint/, text);
  assertUserError(() => readStateDict(text), /not a recognised weights file/, text);
  const empty = path.join(dir, 'empty.bin');
  fs.writeFileSync(empty, '');
  assertUserError(() => readStateDict(empty), /is empty/, empty);
  assertUserError(() => readStateDict(path.join(dir, 'missing.pth')), /does not exist/);
  assertUserError(() => readTorchFile(path.join(dir, 'missing.pth')), /does not exist/);
  const zipNoPkl = path.join(dir, 'other.zip');
  fs.writeFileSync(zipNoPkl, zipSync({ 'readme.txt': new TextEncoder().encode('hi') }, { level: 0 }));
  assertUserError(() => readTorchFile(zipNoPkl), /is not a PyTorch checkpoint \(zip archive without a data\.pkl/, zipNoPkl);
  // A corrupted byte inside a stored tensor is caught by the zip CRC.
  const flipped = Buffer.from(fs.readFileSync(path.join(AJB, 'D.pth')));
  flipped[flipped.length >> 1] ^= 0xff;
  const ff = path.join(dir, 'flipped.pth');
  fs.writeFileSync(ff, flipped);
  assertUserError(() => readTorchFile(ff), /truncated or corrupt/, ff);
  fs.rmSync(dir, { recursive: true });
});

test('format detection is by content, not extension', () => {
  const dir = tmpDir();
  const st = path.join(dir, 'weights.pth');
  fs.copyFileSync(path.join(AJB, 'G.safetensors'), st);
  const zipAsSt = path.join(dir, 'weights.safetensors');
  fs.copyFileSync(path.join(AJB, 'G.pth'), zipAsSt);
  const want = readSafetensors(path.join(AJB, 'G.safetensors')).tensors;
  assertSameTensors(readStateDict(st), want, st);
  assertSameTensors(readStateDict(zipAsSt), want, zipAsSt);
  const npz = path.join(dir, 'weights.bin');
  writeNpz(npz, { 'a.weight': want.get('linear.bias')! });
  assert.deepEqual([...readStateDict(npz).keys()], ['a.weight']);
  fs.rmSync(dir, { recursive: true });
});

/** Minimal pickle writer for crafting test checkpoints (protocol 2 opcodes). */
class PickleWriter {
  private readonly parts: number[] = [0x80, 2];
  op(...b: number[]): this { this.parts.push(...b); return this; }
  global(mod: string, name: string): this { return this.op(0x63, ...Buffer.from(`${mod}\n${name}\n`)); }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return this.op(0x58, ...n, ...b);
  }
  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.op(0x4a, ...b);
  }
  mark(): this { return this.op(0x28); }
  tuple(): this { return this.op(0x74); }
  emptyTuple(): this { return this.op(0x29); }
  emptyDict(): this { return this.op(0x7d); }
  setitems(): this { return this.op(0x75); }
  reduce(): this { return this.op(0x52); }
  binpersid(): this { return this.op(0x51); }
  false(): this { return this.op(0x89); }
  stop(): Uint8Array { this.parts.push(0x2e); return Uint8Array.from(this.parts); }
  intTuple(v: number[]): this { this.mark(); for (const x of v) this.int(x); return this.tuple(); }
  /** torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
  tensor(storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[], view?: [string, number, number]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel);
    if (view) this.mark().str(view[0]).int(view[1]).int(view[2]).tuple();
    this.tuple().binpersid();
    this.int(offset).intTuple(size).intTuple(stride).false();
    this.global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }
}

function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, stem = 'archive'): Uint8Array {
  const files: Record<string, Uint8Array> = { [`${stem}/data.pkl`]: pkl };
  for (const [k, v] of Object.entries(storages)) files[`${stem}/data/${k}`] = v;
  files[`${stem}/version`] = new TextEncoder().encode('3\n');
  return zipSync(files, { level: 0 });
}

test('crafted checkpoint: offsets, strides, 0-d, dtypes and nested state_dict', () => {
  const f32 = new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer);
  const i64 = new Uint8Array(BigInt64Array.from([10n, -20n, 30n]).buffer);
  const f16 = new Uint8Array(Uint16Array.from([0x3c00, 0x4000]).buffer);
  const b = Uint8Array.from([1, 0, 1]);
  const w = new PickleWriter().emptyDict().mark();
  w.str('epoch').int(7);
  w.str('state_dict').global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  w.str('transposed').tensor('FloatStorage', '0', 6, 0, [3, 2], [1, 3]);
  w.str('tail').tensor('FloatStorage', '0', 6, 4, [2], [1]);
  w.str('scalar').tensor('FloatStorage', '0', 6, 2, [], []);
  w.str('every_other').tensor('FloatStorage', '0', 6, 1, [2, 1], [3, 1]);
  w.str('long').tensor('LongStorage', '1', 3, 0, [3], [1]);
  w.str('half').tensor('HalfStorage', '2', 2, 0, [1, 2], [2, 1]);
  w.str('mask').tensor('BoolStorage', '3', 3, 0, [3], [1]);
  w.str('empty').tensor('FloatStorage', '0', 6, 0, [0, 3], [3, 1]);
  w.setitems().setitems();
  const buf = torchZip(w.stop(), { 0: f32, 1: i64, 2: f16, 3: b });
  const dir = tmpDir();
  const file = path.join(dir, 'ckpt.pth');
  fs.writeFileSync(file, buf);
  const top = readTorchFile(file) as Map<string, unknown>;
  assert.equal(top.get('epoch'), 7);
  const sd = readTorchStateDict(file);
  assert.deepEqual([...sd.keys()], ['transposed', 'tail', 'scalar', 'every_other', 'long', 'half', 'mask', 'empty']);
  const vals = (k: string): unknown[] => Array.from(sd.get(k)!.data as ArrayLike<unknown>);
  assert.deepEqual(sd.get('transposed')!.shape, [3, 2]);
  assert.deepEqual(vals('transposed'), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(vals('tail'), [4, 5]);
  assert.deepEqual(sd.get('scalar')!.shape, []);
  assert.deepEqual(vals('scalar'), [2]);
  assert.deepEqual(vals('every_other'), [1, 4]);
  assert.equal(sd.get('long')!.dtype, 'int64');
  assert.deepEqual(vals('long'), [10n, -20n, 30n]);
  assert.equal(sd.get('half')!.dtype, 'float16');
  assert.deepEqual(vals('half'), [0x3c00, 0x4000]);
  assert.equal(sd.get('mask')!.dtype, 'bool');
  assert.deepEqual(vals('mask'), [1, 0, 1]);
  assert.deepEqual(sd.get('empty')!.shape, [0, 3]);
  // A view reaching past its storage is corruption, not a crash.
  const bad = new PickleWriter().emptyDict().mark().str('x').tensor('FloatStorage', '0', 6, 5, [2], [1]).setitems().stop();
  fs.writeFileSync(file, torchZip(bad, { 0: f32 }));
  assertUserError(() => readTorchFile(file), /truncated or corrupt \(tensor view/, file);
  // Two candidate state dicts are ambiguous.
  const two = new PickleWriter().emptyDict().mark();
  for (const k of ['model', 'G']) two.str(k).emptyDict().mark().str('w').tensor('FloatStorage', '0', 6, 0, [6], [1]).setitems();
  fs.writeFileSync(file, torchZip(two.setitems().stop(), { 0: f32 }));
  assertUserError(() => readTorchStateDict(file), /several state dicts \(model, G\)/, file);
  fs.rmSync(dir, { recursive: true });
});

test('crafted legacy checkpoint: storage views, parameters, two storages', () => {
  const magic = new PickleWriter().op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).stop();
  const proto = new PickleWriter().op(0x4d, 0xe9, 0x03).stop();
  const sys = new PickleWriter().emptyDict().mark().str('protocol_version').int(1001).str('little_endian').op(0x88).setitems().stop();
  const obj = new PickleWriter().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  // 'view': elements 3..4 of root storage 'k1' through a legacy view at element offset 2.
  obj.str('view').tensor('FloatStorage', 'k1', 6, 1, [2], [1], ['k1v', 2, 4]);
  obj.str('whole').tensor('FloatStorage', 'k1', 6, 0, [2, 3], [3, 1]);
  obj.str('param').global('torch._utils', '_rebuild_parameter').mark();
  obj.tensor('LongStorage', 'k2', 2, 0, [2], [1]).op(0x88).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  const objBytes = obj.setitems().stop();
  const keys = new PickleWriter().op(0x5d).mark().str('k1').str('k2').op(0x65).stop();
  const count = (n: number): Uint8Array => new Uint8Array(BigInt64Array.from([BigInt(n)]).buffer);
  const parts = [magic, proto, sys, objBytes, keys,
    count(6), new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer),
    count(2), new Uint8Array(BigInt64Array.from([7n, -8n]).buffer)];
  const buf = Buffer.concat(parts);
  const sd = readStateDictFromBytes(buf, 'legacy.pt');
  assert.deepEqual([...sd.keys()], ['view', 'whole', 'param']);
  assert.deepEqual(Array.from(sd.get('view')!.data as Float32Array), [3, 4]);
  assert.deepEqual(sd.get('whole')!.shape, [2, 3]);
  assert.deepEqual(Array.from(sd.get('param')!.data as BigInt64Array), [7n, -8n]);
  // Cut inside the last storage: truncated.
  assertUserError(() => parseTorchFile(buf.subarray(0, buf.length - 4), 'legacy.pt'), /legacy\.pt is truncated or corrupt/);
});

function readStateDictFromBytes(buf: Uint8Array, name: string): Map<string, NdArray> {
  const dir = tmpDir();
  const f = path.join(dir, name);
  fs.writeFileSync(f, buf);
  try {
    return readStateDict(f);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

test('malicious pickles are refused and nothing runs', () => {
  const dir = tmpDir();
  const marker = path.join(dir, 'pwned');
  const payload = `touch ${marker}`;
  // GLOBAL os.system + REDUCE, as a bare pickle and inside a torch zip.
  const evil = new PickleWriter().global('os', 'system').mark().str(payload).tuple().reduce().stop();
  assertUserError(() => unpickle(evil, { name: 'evil.pkl' }), /refusing to load evil\.pkl: pickle references os\.system, which is not a tensor\/state-dict type/);
  const file = path.join(dir, 'evil.pth');
  fs.writeFileSync(file, torchZip(evil, {}));
  assertUserError(() => readTorchFile(file), /refusing to load .*os\.system/, file);
  assertUserError(() => readStateDict(file), /refusing to load .*os\.system/, file);
  // Protocol 4 STACK_GLOBAL of builtins.eval.
  const sg = Uint8Array.from([0x80, 4, 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 4, ...Buffer.from('eval'), 0x93,
    0x8c, 1, ...Buffer.from('1'), 0x85, 0x52, 0x2e]);
  assertUserError(() => unpickle(sg, { name: 'sg.pkl' }), /pickle references builtins\.eval/);
  // Allowlisted module, disallowed name.
  const ga = new PickleWriter().global('torch._utils', 'getattr').stop();
  assertUserError(() => unpickle(ga, { name: 'ga.pkl' }), /torch\._utils\.getattr/);
  assert.ok(!fs.existsSync(marker), 'payload must not run');
  fs.rmSync(dir, { recursive: true });
});

// Generated with CPython's pickle.dumps(v, protocol=p) for
// v = {'s': 'héllo', 'i': [0, 255, 256, 65535, 65536, -1, -2**31, 2**31, 2**70, -2**70], 'f': [1.5, -0.0, 1e300],
//      'b': b'\x00\xffxy', 't': (1, (2, 3), ()), 'n': None, 'T': True, 'F': False, 'set': {7}, 'fs': frozenset([8]),
//      'od': OrderedDict([('z', 1), ('a', 2)]), 'ba': bytearray(b'q')}
const PICKLES: string[] = [
  '286470300a56730a70310a5668e96c6c6f0a70320a7356690a70330a286c70340a49300a61493235350a61493235360a614936353533350a614936353533360a61492d310a61492d323134373438333634380a614c323134373438333634384c0a614c313138303539313632303731373431313330333432344c0a614c2d313138303539313632303731373431313330333432344c0a617356660a70350a286c70360a46312e350a61462d302e300a614631652b3330300a617356620a70370a635f636f646563730a656e636f64650a70380a28565c7530303030ff78790a70390a566c6174696e310a7031300a747031310a527031320a7356740a7031330a2849310a2849320a49330a747031340a2874747031350a73566e0a7031360a4e7356540a7031370a4930310a7356460a7031380a4930300a73567365740a7031390a635f5f6275696c74696e5f5f0a7365740a7032300a28286c7032310a49370a61747032320a527032330a735666730a7032340a635f5f6275696c74696e5f5f0a66726f7a656e7365740a7032350a28286c7032360a49380a61747032370a527032380a73566f640a7032390a63636f6c6c656374696f6e730a4f726465726564446963740a7033300a2874527033310a567a0a7033320a49310a7356610a7033330a49320a73735662610a7033340a635f5f6275696c74696e5f5f0a6279746561727261790a7033350a2867380a2856710a7033360a6731300a747033370a527033380a747033390a527034300a732e',
  '7d7100285801000000737101580600000068c3a96c6c6f710258010000006971035d7104284b004bff4d00014dffff4a000001004affffffff4a000000804c323134373438333634384c0a4c313138303539313632303731373431313330333432344c0a4c2d313138303539313632303731373431313330333432344c0a6558010000006671055d710628473ff8000000000000478000000000000000477e37e43c8800759c655801000000627107635f636f646563730a656e636f64650a710828580500000000c3bf7879710958060000006c6174696e31710a74710b52710c580100000074710d284b01284b024b0374710e2974710f58010000006e71104e58010000005471114930310a58010000004671124930300a58030000007365747113635f5f6275696c74696e5f5f0a7365740a7114285d71154b0761747116527117580200000066737118635f5f6275696c74696e5f5f0a66726f7a656e7365740a7119285d711a4b086174711b52711c58020000006f64711d63636f6c6c656374696f6e730a4f726465726564446963740a711e2952711f2858010000007a71204b0158010000006171214b0275580200000062617122635f5f6275696c74696e5f5f0a6279746561727261790a7123286808285801000000717124680a747125527126747127527128752e',
  '80027d7100285801000000737101580600000068c3a96c6c6f710258010000006971035d7104284b004bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a090000000000000000408a090000000000000000c06558010000006671055d710628473ff8000000000000478000000000000000477e37e43c8800759c655801000000627107635f636f646563730a656e636f64650a7108580500000000c3bf7879710958060000006c6174696e31710a86710b52710c580100000074710d4b014b024b0386710e2987710f58010000006e71104e58010000005471118858010000004671128958030000007365747113635f5f6275696c74696e5f5f0a7365740a71145d71154b0761857116527117580200000066737118635f5f6275696c74696e5f5f0a66726f7a656e7365740a71195d711a4b086185711b52711c58020000006f64711d63636f6c6c656374696f6e730a4f726465726564446963740a711e2952711f2858010000007a71204b0158010000006171214b0275580200000062617122635f5f6275696c74696e5f5f0a6279746561727261790a712368085801000000717124680a867125527126857127527128752e',
  '80037d7100285801000000737101580600000068c3a96c6c6f710258010000006971035d7104284b004bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a090000000000000000408a090000000000000000c06558010000006671055d710628473ff8000000000000478000000000000000477e37e43c8800759c655801000000627107430400ff7879710858010000007471094b014b024b0386710a2987710b58010000006e710c4e580100000054710d88580100000046710e895803000000736574710f636275696c74696e730a7365740a71105d71114b0761857112527113580200000066737114636275696c74696e730a66726f7a656e7365740a71155d71164b086185711752711858020000006f64711963636f6c6c656374696f6e730a4f726465726564446963740a711a2952711b2858010000007a711c4b01580100000061711d4b027558020000006261711e636275696c74696e730a6279746561727261790a711f4301717120857121527122752e',
  '8004950c010000000000007d94288c0173948c0668c3a96c6c6f948c0169945d94284b004bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a090000000000000000408a090000000000000000c0658c0166945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c016294430400ff7879948c0174944b014b024b0386942987948c016e944e8c015494888c014694898c03736574948f94284b07908c02667394284b0891948c026f64948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c017a944b018c0161944b02758c026261948c086275696c74696e73948c096279746561727261799493944301719485945294752e',
  '800595f6000000000000007d94288c0173948c0668c3a96c6c6f948c0169945d94284b004bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a090000000000000000408a090000000000000000c0658c0166945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c016294430400ff7879948c0174944b014b024b0386942987948c016e944e8c015494888c014694898c03736574948f94284b07908c02667394284b0891948c026f64948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c017a944b018c0161944b02758c026261949601000000000000007194752e',
];

/** Maps parsed values to plain comparable data (Maps -> entry lists, bytes -> number arrays). */
function plain(v: unknown): unknown {
  if (v instanceof Map) return [...v].map(([k, x]) => [k, plain(x)]);
  if (v instanceof Set) return { set: [...v].map(plain) };
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

test('pickle protocols 0-5 decode the same value', () => {
  const want = plain(new Map<string, unknown>([
    ['s', 'héllo'],
    ['i', [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2n ** 70n, -(2n ** 70n)]],
    ['f', [1.5, -0, 1e300]],
    ['b', Uint8Array.from([0, 255, 120, 121])],
    ['t', [1, [2, 3], []]],
    ['n', null], ['T', true], ['F', false],
    ['set', new Set([7])], ['fs', new Set([8])],
    ['od', new Map([['z', 1], ['a', 2]])],
    ['ba', Uint8Array.from([113])],
  ]));
  PICKLES.forEach((hex, proto) => {
    const buf = Buffer.from(hex, 'hex');
    const { value, end } = unpickle(buf, { name: `p${proto}` });
    assert.equal(end, buf.length);
    assert.ok(value instanceof PyDict);
    assert.deepEqual(plain(value), want, `protocol ${proto}`);
    assert.ok(Object.isFrozen((value as Map<string, unknown>).get('t')), 'tuples are frozen');
    // Every strict prefix is reported as truncated/corrupt, never as a crash.
    for (const cut of [1, buf.length >> 1, buf.length - 1]) {
      assertUserError(() => unpickle(buf.subarray(0, cut), { name: `p${proto}` }), /truncated or corrupt/);
    }
  });
});

test('parseTorchFile on raw non-checkpoint bytes', () => {
  assertUserError(() => parseTorchFile(new Uint8Array([1, 2, 3]), 'x.bin'), /x\.bin is not a PyTorch checkpoint/);
  const plainPickle = new PickleWriter().emptyDict().stop();
  assertUserError(() => parseTorchFile(plainPickle, 'p.pkl'), /not a PyTorch checkpoint/);
});
