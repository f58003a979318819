import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PT_REF } from './fixture-paths.js';
import { biggan, isCleanError } from './cli-helpers.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { readPng } from '../src/image/png-read.js';
import { maxAbsDiff } from './array-diff.js';

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-cli-'));


const HF_SETS: [string, number][] = [
  ['t0.4_onehot', 0.4],
  ['t1.0_mixed', 1.0],
  ['t0.123_interp', 0.123],
  ['t0.58_fpedge', 0.58],
];

for (const weights of ['pytorch_model.bin', 'model.safetensors']) {
  test(`sample: BigGAN-deep fixture sets through the CLI (${weights})`, () => {
    for (const [set, t] of HF_SETS) {
      const out = path.join(tmp, `hf-${set}.npy`);
      const dir = path.join(HF, 'sets', set);
      const r = biggan(['sample', '--weights', path.join(HF, weights), '--z', path.join(dir, 'z.npy'), '--class-vector', path.join(dir, 'class_vector.npy'), '--truncation', String(t), '--batch', '3', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const ours = readNpy(out);
      const ref = readNpy(path.join(dir, 'output.npy'));
      assert.deepEqual(ours.shape, ref.shape);
      const d = maxAbsDiff(ours.data as Float32Array, ref.data as Float32Array);
      assert.ok(d <= 1e-4, `${set}: max |ours - output.npy| = ${d}`);
    }
  });
}

for (const weights of ['G.pth', 'G.safetensors']) {
  test(`sample: BigGAN-PyTorch fixture through the CLI with class ids (${weights})`, () => {
    const out = path.join(tmp, `ajb-${weights}.npy`);
    const r = biggan(['sample', '--weights', path.join(AJB, weights), '--config', path.join(AJB, 'constructor_args.json'), '--z', path.join(AJB, 'z.npy'), '--classes', path.join(AJB, 'y.npy'), '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const d = maxAbsDiff(readNpy(out).data as Float32Array, readNpy(path.join(AJB, 'G_out.npy')).data as Float32Array);
    assert.ok(d <= 5e-5, `max |ours - G_out.npy| = ${d}`);
  });
}

test('sample: a labelled PNG sheet with ImageNet names and a seeded, reproducible draw', () => {
  const a = path.join(tmp, 'a.png');
  const b = path.join(tmp, 'b.png');
  const args = ['sample', '--weights', path.join(HF, 'model.safetensors'), '--classes', 'golden retriever,980', '-n', '3', '--truncation', '0.5', '--seed', '7'];
  assert.equal(biggan([...args, '--out', a]).status, 0);
  assert.equal(biggan([...args, '--out', b]).status, 0);
  const pa = readPng(a);
  assert.ok(pa.width >= 3 * 128 && pa.height > 128, `sheet ${pa.width}x${pa.height}`);
  assert.deepEqual(fs.readFileSync(a), fs.readFileSync(b));
});

test('sample: --interpolate writes a rows x steps sheet', () => {
  const out = path.join(tmp, 'interp.npy');
  const r = biggan(['sample', '--weights', path.join(AJB, 'G.pth'), '--config', path.join(AJB, 'constructor_args.json'), '--interpolate', 'class', '--classes', '1,207,511,999', '--steps', '5', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const a = readNpy(out);
  assert.deepEqual(a.shape, [10, 3, 128, 128]);
  // endpoints of row 0 are the pure classes: interior images differ from both
  const img = (i: number) => (a.data as Float32Array).subarray(i * 3 * 128 * 128, (i + 1) * 3 * 128 * 128);
  assert.ok(maxAbsDiff(img(0), img(4)) > 1e-3);
});

test('discriminate: BigGAN-PyTorch D on the fixture images', () => {
  const out = path.join(tmp, 'd.npy');
  const r = biggan(['discriminate', '--weights', path.join(AJB, 'D.pth'), '--config', path.join(AJB, 'constructor_args.json'), '--images', path.join(AJB, 'G_out.npy'), '--classes', path.join(AJB, 'y.npy'), '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const d = maxAbsDiff(readNpy(out).data as Float32Array, readNpy(path.join(AJB, 'D_out.npy')).data as Float32Array);
  assert.ok(d <= 2.5e-6, `max |ours - D_out.npy| = ${d}`);
});

test('export-onnx: the standalone file reproduces the fixture outputs on onnxruntime', async () => {
  const file = path.join(tmp, 'g.onnx');
  const r = biggan(['export-onnx', '--weights', path.join(HF, 'pytorch_model.bin'), '--batch', '4', '--out', file]);
  assert.equal(r.status, 0, r.stderr);
  const session = await ort.InferenceSession.create(file);
  assert.deepEqual([...session.inputNames].sort(), ['class_vector', 'truncation', 'z']);
  const dir = path.join(HF, 'sets', 't0.4_onehot');
  const z = readNpy(path.join(dir, 'z.npy')).data as Float32Array;
  const cv = readNpy(path.join(dir, 'class_vector.npy')).data as Float32Array;
  const out = await session.run({
    z: new ort.Tensor('float32', z, [4, 128]),
    class_vector: new ort.Tensor('float32', cv, [4, 1000]),
    truncation: new ort.Tensor('float64', new Float64Array([0.4]), [1]),
  });
  const d = maxAbsDiff(out.image.data as Float32Array, readNpy(path.join(dir, 'output.npy')).data as Float32Array);
  assert.ok(d <= 1e-4, `exported model: max diff ${d}`);
  await session.release();
});

test('bad input: one-line errors, non-zero exit, nothing written', () => {
  const out = path.join(tmp, 'never.png');
  const trunc = path.join(tmp, 'trunc.bin');
  fs.writeFileSync(trunc, fs.readFileSync(path.join(HF, 'pytorch_model.bin')).subarray(0, 4096));
  const nan = path.join(tmp, 'nan.npy');
  writeNpy(nan, { dtype: 'float32', shape: [1, 128], data: new Float32Array(128).fill(NaN) });
  const hf = path.join(HF, 'pytorch_model.bin');
  const cases: [string, string[], RegExp][] = [
    ['missing weights', ['sample', '--weights', path.join(tmp, 'nope.bin'), '--out', out], /does not exist/],
    ['truncated checkpoint', ['sample', '--weights', trunc, '--out', out], /truncated or corrupt/],
    ['truncation out of range', ['sample', '--weights', hf, '--truncation', '1.5', '--out', out], /truncation/],
    ['latent size mismatch', ['sample', '--weights', hf, '--z', path.join(AJB, 'z.npy'), '--out', out], /\[N, 128\]/],
    ['NaN latents', ['sample', '--weights', hf, '--z', nan, '--out', out], /NaN/],
    ['unknown class name', ['sample', '--weights', hf, '--classes', 'unicorn', '--out', out], /unknown class/],
    ['ambiguous class name', ['sample', '--weights', hf, '--classes', 'crane', '--out', out], /ambiguous/],
    ['class id out of range', ['sample', '--weights', hf, '--classes', '1000', '--out', out], /out of range/],
    ['bad output extension', ['sample', '--weights', hf, '--out', path.join(tmp, 'x.jpg')], /\.png or \.npy/],
    ['unknown flag', ['sample', '--weights', hf, '--out', out, '--frobnicate'], /unknown option/],
    ['non-numeric flag', ['sample', '--weights', hf, '--out', out, '-n', 'many'], /positive integer/],
    ['generator given to discriminate', ['discriminate', '--weights', hf, '--images', path.join(AJB, 'G_out.npy'), '--classes', path.join(AJB, 'y.npy'), '--out', path.join(tmp, 'd2.npy')], /no discriminator/],
    ['wrong config kind', ['sample', '--weights', hf, '--config', path.join(AJB, 'constructor_args.json'), '--out', out], /config/],
  ];
  for (const [what, args, pattern] of cases) {
    const r = biggan(args);
    assert.ok(isCleanError(r), `${what}: status ${r.status}, stderr:\n${r.stderr}`);
    assert.match(r.stderr, pattern, what);
  }
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp')), []);
});

test('sample: the optimized-graph cache gives the same images, and a changed weights file is rebuilt', () => {
  const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  const weights = path.join(tmp, 'copy.safetensors');
  fs.copyFileSync(path.join(HF, 'model.safetensors'), weights);
  fs.copyFileSync(path.join(HF, 'config.json'), path.join(tmp, 'config.json'));
  const run = (out: string, extra: string[] = []) => {
    const r = biggan(['sample', '--weights', weights, '-n', '2', '--seed', '3', '--truncation', '0.7', '--out', out, ...extra], { BIGGAN_CACHE_DIR: cacheDir });
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(out);
  };
  const cold = run(path.join(tmp, 'c1.npy'));
  const entry = fs.readdirSync(cacheDir);
  const model = entry.find((f) => f.endsWith('.ort.onnx'));
  const side = entry.find((f) => f.endsWith('.weights'));
  assert.ok(model && side, `cache entry with its weights file written: ${entry.join(', ')}`);
  // the weights live in the side file, which sessions map, not inside the protobuf
  assert.ok(fs.statSync(path.join(cacheDir, model)).size < fs.statSync(path.join(cacheDir, side)).size);
  const warm = run(path.join(tmp, 'c2.npy'));
  // an entry whose weights file is gone is rebuilt, not loaded
  fs.rmSync(path.join(cacheDir, side));
  assert.deepEqual(run(path.join(tmp, 'c2b.npy')), cold);
  assert.ok(fs.readdirSync(cacheDir).some((f) => f.endsWith('.weights')), 'rebuilt entry has its weights file');
  const uncached = run(path.join(tmp, 'c3.npy'), ['--no-cache']);
  assert.deepEqual(warm, cold);
  assert.deepEqual(uncached, cold);
  // new weights under the same name: a different model, so a different result
  const later = new Date(Date.now() + 5000);
  fs.copyFileSync(path.join(PT_REF, 'hf-biggan-deep-128-w8', 'model.safetensors'), weights);
  const buf = fs.readFileSync(weights);
  const f32 = new Float32Array(buf.buffer, buf.byteOffset + buf.length - 4096, 1024);
  for (let i = 0; i < f32.length; i++) f32[i] *= 1.5;
  fs.writeFileSync(weights, buf);
  fs.utimesSync(weights, later, later);
  assert.notDeepEqual(run(path.join(tmp, 'c4.npy')), cold);
});

test('classes: lists and searches the ImageNet classes that --classes accepts', () => {
  const all = biggan(['classes']);
  assert.equal(all.status, 0, all.stderr);
  const lines = all.stdout.trim().split('\n');
  assert.equal(lines.length, 1000);
  assert.equal(lines[207], '207\tn02099601\tgolden retriever');
  const hits = biggan(['classes', 'Retriever']).stdout.trim().split('\n');
  assert.deepEqual(hits.map((l) => Number(l.split('\t')[0])), [205, 206, 207, 208, 209]);
  assert.equal(biggan(['classes', 'n01443537']).stdout.split('\t')[0], '1');
  const none = biggan(['classes', 'zzz']);
  assert.ok(isCleanError(none), none.stderr);
});
