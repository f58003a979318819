/**
 * The explorer's platform-neutral parts and the site export, without a browser: URL fragments,
 * latents in URLs, breeding, the BN row selection the page computes (against the graph's own
 * float64 lookup run in onnxruntime), half-precision weights, model.json and export-web's folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PT_REF } from './fixture-paths.js';
import { biggan, isCleanError } from './cli-helpers.js';
import { decodeLatents, encodeLatents, formatFragment, imageInputs, parseFragment } from '../src/explore/explorer-state.js';
import { crossover, latentBound, mutate, tidyMix } from '../src/explore/breeding.js';
import { parseSiteModel } from '../src/explore/site-model.js';
import { statRowSelection } from '../src/nn/stat-row-selection.js';
import { selectStatRows, statRowsFromInputs } from '../src/nn/truncation-batchnorm.js';
import { Graph } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { halfPrecisionWeights } from '../src/web/fp16-weights.js';
import { siteModel } from '../src/web/site-export.js';
import { sampleInputs, type GeneratorInfo } from '../src/sample/sample-inputs.js';
import { UserError } from '../src/errors.js';

const DEEP: GeneratorInfo = { kind: 'biggan-deep', resolution: 128, zDim: 128, numClasses: 1000, usesTruncation: true };
const AJB: GeneratorInfo = { kind: 'biggan', resolution: 32, zDim: 120, numClasses: 10, usesTruncation: false, classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] };
const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');

test('fragments: parse, format, and the inputs are biggan sample\'s', () => {
  const s = parseFragment('#seed=3&class=golden%20retriever&truncation=0.4', DEEP);
  assert.deepEqual(s, { seed: 3, classes: [{ id: 207, weight: 1 }], truncation: 0.4 });
  assert.equal(formatFragment(s), '#seed=3&class=207&truncation=0.4');
  const cli = sampleInputs(DEEP, { n: 1, seed: 3, classes: [207], truncation: 0.4 });
  const page = imageInputs(DEEP, s);
  assert.deepEqual(page.z, cli.z);
  assert.deepEqual(page.classVector, cli.classVectors);
  assert.equal(page.truncation, 0.4);

  const mix = parseFragment('seed=1&mix=207:0.7,n04552348:0.3', DEEP); // a wnid in a mix
  assert.deepEqual(mix.classes, [{ id: 207, weight: 0.7 }, { id: 895, weight: 0.3 }]);
  assert.equal(formatFragment(mix), '#seed=1&mix=207:0.7,895:0.3');
  const v = imageInputs(DEEP, mix).classVector;
  assert.equal(v[207], Math.fround(0.7));
  assert.equal(v[895], Math.fround(0.3));

  // no class: the seed's random class, as `biggan sample --seed S -n 1`
  assert.deepEqual(imageInputs(AJB, { seed: 9 }).classVector, sampleInputs(AJB, { n: 1, seed: 9 }).classVectors);
  // class names of our own checkpoints
  assert.deepEqual(parseFragment('#class=cat', AJB).classes, [{ id: 3, weight: 1 }]);
  assert.deepEqual(parseFragment('#backend=webgpu&threads=2', DEEP), { seed: 0, backend: 'webgpu', threads: 2 });
});

test('fragments: bad states are one-line UserErrors naming the problem', () => {
  const bad: [string, RegExp][] = [
    ['#seed=-1', /seed in the URL must be an integer/],
    ['#seed=1.5', /seed in the URL must be an integer/],
    ['#class=nope', /unknown class "nope"/],
    ['#class=1000', /class id 1000 out of range/],
    ['#class=1&mix=2:1', /either class or mix/],
    ['#mix=207', /must be class:weight/],
    ['#mix=207:x', /must be a number/],
    ['#truncation=1.5', /\(0, 1\] for BigGAN-deep/],
    ['#truncation=0', /positive number/],
    ['#z=AAAA', /holds 3 bytes; this model takes 128 float32 values/],
    ['#z=!!', /not base64url/],
    ['#backend=cuda', /wasm or webgpu/],
    ['#threads=0', /threads in the URL/],
    ['#sede=1', /unknown URL key "sede"/],
  ];
  for (const [frag, re] of bad) assert.throws(() => parseFragment(frag, DEEP), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), frag);
  const nan = encodeLatents(new Float32Array(128).fill(NaN));
  assert.throws(() => decodeLatents(nan, 128), /non-finite/);
});

test('latents survive the URL exactly', () => {
  const z = sampleInputs(DEEP, { n: 1, seed: 5, truncation: 0.3 }).z;
  const text = encodeLatents(z);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeLatents(text, 128), z);
  const s = parseFragment(formatFragment({ seed: 5, z, classes: [{ id: 1, weight: 0.5 }, { id: 2, weight: 0.5 }], truncation: 0.3 }), DEEP);
  assert.deepEqual(s.z, z);
});

test('breeding: seeded, bounded by the truncation, classes kept short and rounded', () => {
  const parent = imageInputs(DEEP, { seed: 2, classes: [{ id: 207, weight: 1 }], truncation: 0.5 });
  const opts = { strength: 0.5, classDrift: 0.3, seed: 7, truncation: 0.5, style: 'scaled' as const };
  const a = mutate(parent, opts);
  assert.deepEqual(a, mutate(parent, opts), 'same seed, same child');
  assert.notDeepEqual(a.z, mutate(parent, { ...opts, seed: 8 }).z);
  const bound = latentBound(0.5, 'scaled')!;
  assert.ok(a.z.every((v) => Math.abs(v) <= bound));
  assert.deepEqual(mutate(parent, { ...opts, strength: 0, classDrift: 0 }).z, parent.z, 'strength 0 keeps z');
  const ids = [...a.classVector.keys()].filter((i) => a.classVector[i] !== 0);
  assert.ok(ids.includes(207) && ids.length <= 2);
  assert.ok(Math.abs(a.classVector.reduce((x, y) => x + y, 0) - 1) < 1e-6);

  const b = imageInputs(DEEP, { seed: 3, classes: [{ id: 980, weight: 1 }], truncation: 0.5 });
  const c = crossover(parent, b, 0.5, 1);
  assert.ok(c.z.every((v, i) => v === parent.z[i] || v === b.z[i]), 'each z entry from a parent');
  assert.equal(c.classVector[207], 0.5);
  assert.equal(c.classVector[980], 0.5);
  assert.deepEqual(crossover(parent, b, 1, 1).z, parent.z);

  const wide = new Float32Array(10).map((_, i) => i + 1);
  const t = tidyMix(wide);
  assert.equal([...t].filter((x) => x).length, 4, 'at most four classes');
  assert.ok(Math.abs(t.reduce((x, y) => x + y, 0) - 55) < 1e-2, 'total kept');
});

test('the BN rows the page computes are the graph\'s float64 lookup, for every truncation step and between', async () => {
  const nStats = 51;
  const ts = [0.02, 0.04, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 0.013, 0.37, 0.555, 0.999, 0.3333];
  for (let k = 1; k <= 50; k++) ts.push(k / 50, k * 0.02);
  // the graph's lookup vs the inputs form, run by onnxruntime: pick rows from a table whose rows differ
  const g = new Graph();
  const t = g.input('truncation', [1], 'float64');
  const rowsIn = g.input('bn_rows', [2], 'int64');
  const wIn = g.input('bn_row_weights', [2], 'float32');
  const table = g.constant({ dtype: 'float32', shape: [nStats, 3], data: Float32Array.from({ length: nStats * 3 }, (_, i) => Math.sin(i * 0.37) * 10 + i) });
  const pick = (rows: ReturnType<typeof selectStatRows>): ReturnType<typeof op.add> => {
    const lo = op.reshape(op.gather(table, rows.lower, 0), [3]);
    const hi = op.reshape(op.gather(table, rows.upper, 0), [3]);
    const blend = op.add(op.mul(lo, rows.wLower), op.mul(hi, rows.wUpper));
    return rows.exact ? op.where(rows.exact, lo, blend) : blend;
  };
  const fromGraph = pick(selectStatRows(t, nStats));
  const fromInputs = pick(statRowsFromInputs({ rows: rowsIn, weights: wIn }));
  const session = await ort.InferenceSession.create(exportOnnx(g, { outputs: { a: fromGraph, b: fromInputs } }).bytes);
  for (const tv of ts) {
    const sel = statRowSelection(tv, nStats);
    const out = await session.run({
      truncation: new ort.Tensor('float64', Float64Array.of(tv), [1]),
      bn_rows: new ort.Tensor('int64', BigInt64Array.from(sel.rows, (r) => BigInt(r)), [2]),
      bn_row_weights: new ort.Tensor('float32', Float32Array.from(sel.weights), [2]),
    });
    assert.deepEqual(out.b.data, out.a.data, `truncation ${tv}`);
  }
  await session.release();
});

test('fp16 weights: large initializers stored as float16, the model half the size, images close', async () => {
  const fp32 = await siteModel({ weights: path.join(HF, 'model.safetensors') });
  const fp16 = await siteModel({ weights: path.join(HF, 'model.safetensors'), fp16: true });
  assert.equal(fp16.model.fp16, true);
  assert.ok(fp16.bytes.length < 0.6 * fp32.bytes.length, `${fp16.bytes.length} vs ${fp32.bytes.length} bytes`);
  assert.notEqual(fp16.model.file, fp32.model.file, 'content-hashed names differ');
  assert.ok(halfPrecisionWeights(fp32.bytes).converted > 10);
  const run = async (bytes: Uint8Array): Promise<Float32Array> => {
    const s = await ort.InferenceSession.create(bytes);
    const inp = imageInputs(DEEP, { seed: 4, classes: [{ id: 207, weight: 1 }], truncation: 0.4 });
    const sel = statRowSelection(0.4, 51);
    const out = await s.run({
      z: new ort.Tensor('float32', inp.z, [1, 128]),
      class_vector: new ort.Tensor('float32', inp.classVector, [1, 1000]),
      bn_rows: new ort.Tensor('int64', BigInt64Array.from(sel.rows, (r) => BigInt(r)), [2]),
      bn_row_weights: new ort.Tensor('float32', Float32Array.from(sel.weights), [2]),
    });
    await s.release();
    return out.image.data as Float32Array;
  };
  const a = await run(fp32.bytes);
  const b = await run(fp16.bytes);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  assert.ok(d > 0 && d < 0.05, `max |fp16 - fp32| = ${d}`);
});

test('model.json is validated field by field', () => {
  const good = { format: 'biggan-ts-web-model', version: 1, kind: 'biggan', resolution: 32, zDim: 120, numClasses: 2, usesTruncation: false, file: 'generator-abc.onnx', bytes: 10, sha256: 'a'.repeat(64), fp16: false, source: 'G.pth', title: 'BigGAN 32×32', classNames: ['a', 'b'] };
  assert.equal(parseSiteModel(good).numClasses, 2);
  assert.throws(() => parseSiteModel({ ...good, file: '../x.onnx' }), /field "file"/);
  assert.throws(() => parseSiteModel({ ...good, classNames: ['a'] }), /1 names for 2 classes/);
  assert.throws(() => parseSiteModel({ ...good, usesTruncation: true }), /truncationStatRows/);
  assert.throws(() => parseSiteModel({ ...good, version: 2 }), /version 2 is not supported/);
  assert.throws(() => parseSiteModel([]), /not a JSON object/);
});

test('export-web: all or nothing, never over a folder that is not an exported site', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-export-web-'));
  try {
    const mine = path.join(tmp, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
    const r = biggan(['export-web', '--weights', path.join(HF, 'model.safetensors'), '--out', mine]);
    assert.ok(isCleanError(r), r.stderr);
    assert.match(r.stderr, /not an exported site/);
    assert.equal(fs.readFileSync(path.join(mine, 'notes.txt'), 'utf8'), 'keep me');

    const site = path.join(tmp, 'site');
    assert.equal(biggan(['export-web', '--weights', path.join(HF, 'model.safetensors'), '--out', site]).status, 0);
    const first = JSON.parse(fs.readFileSync(path.join(site, 'model.json'), 'utf8'));
    assert.ok(fs.existsSync(path.join(site, 'index.html')) && fs.existsSync(path.join(site, first.file)) && fs.existsSync(path.join(site, 'ort')));
    // a second export (fp16) replaces the first in place
    assert.equal(biggan(['export-web', '--weights', path.join(HF, 'model.safetensors'), '--out', site, '--fp16']).status, 0);
    const second = JSON.parse(fs.readFileSync(path.join(site, 'model.json'), 'utf8'));
    assert.equal(second.fp16, true);
    assert.ok(!fs.existsSync(path.join(site, first.file)), 'the old model is gone');
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['mine', 'site'], 'no staging folders left');

    const corrupt = path.join(tmp, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, Buffer.from('not a checkpoint at all'));
    const bad = biggan(['export-web', '--weights', corrupt, '--out', path.join(tmp, 'never')]);
    assert.ok(isCleanError(bad), bad.stderr);
    assert.ok(!fs.existsSync(path.join(tmp, 'never')));
    const flag = biggan(['export-web', '--weights', path.join(HF, 'model.safetensors'), '--out', site, '--fp17']);
    assert.ok(flag.status === 2 && /unknown option '--fp17'/.test(flag.stderr) && !/\n\s+at /.test(flag.stderr), flag.stderr);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
