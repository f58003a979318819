import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { UserError } from '../src/errors.js';
import { writeNpy } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz.js';
import { FeatureStats } from '../src/metrics/feature-stats.js';
import { writeStatsFile } from '../src/metrics/stats-file.js';
import { loadGenerator } from '../src/models/checkpoint.js';
import type { GeneratorModel } from '../src/models/interfaces.js';
import { Rng } from '../src/random/rng.js';
import { Sampler } from '../src/sample/sampler.js';
import { ClassIdStream } from '../src/eval/class-balance.js';
import { generatedBatches } from '../src/eval/generated-images.js';
import { imageBatches, openImageInput } from '../src/eval/image-input.js';
import { checkSampleCount, makeMetricPlan, parseMetricList } from '../src/eval/metric-plan.js';
import { PeriodicEvaluator } from '../src/eval/periodic-eval.js';
import { mergeShards, readReferenceStats, readShard, writeShard } from '../src/eval/stats-shards.js';
import { parseSweepSpec, sweepTable, thresholdsForModel } from '../src/eval/truncation-sweep.js';
import { clampNegativeFid, fidNote } from '../src/eval/evaluate.js';
import { PT_REF } from './fixture-paths.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-eval-units-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function userError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    assert.match(err.message, re);
    return true;
  });
}

async function userErrorAsync(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, re);
    return true;
  });
}

function writePngFile(file: string, w: number, h: number, seed: number): void {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    png.data[4 * i] = (i * 7 + seed * 31) & 255;
    png.data[4 * i + 1] = (i * 13 + seed) & 255;
    png.data[4 * i + 2] = (seed * 50) & 255;
    png.data[4 * i + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

test('sweep spec: inclusive ranges without float drift, lists, and one-line errors', () => {
  const r = parseSweepSpec('0.1:2.0:0.1');
  assert.equal(r.length, 20);
  assert.equal(r[0], 0.1);
  assert.equal(r[2], 0.3);
  assert.equal(r[19], 2);
  assert.deepEqual(parseSweepSpec('1, 0.25,0.5,1'), [0.25, 0.5, 1]);
  assert.deepEqual(parseSweepSpec('0.5:0.5:0.1'), [0.5]);
  for (const [spec, re] of [['1:0.5:0.1', /stop is below start/], ['0.1:1', /three parts/], ['a:1:0.1', /not a number/], ['0:1:0.5', /positive/], ['0.1:1:0', /step must be positive/], ['0.1:1000:0.0001', /at most/]] as const) {
    userError(() => parseSweepSpec(spec), re);
  }
});

test('BigGAN-deep sweeps keep (0, 1]; BigGAN keeps everything', () => {
  const deep = { usesTruncation: true } as GeneratorModel;
  const big = { usesTruncation: false } as GeneratorModel;
  const t = thresholdsForModel([0.5, 1, 1.5, 2], deep);
  assert.deepEqual(t.values, [0.5, 1]);
  assert.match(t.note!, /\(0, 1\].*2 value\(s\) above 1 dropped/);
  assert.deepEqual(thresholdsForModel([0.5, 2], big).values, [0.5, 2]);
  userError(() => thresholdsForModel([1.5, 2], deep), /must be in \(0, 1\]/);
});

test('class-balanced ids: every full round holds each class once, seeded', () => {
  const C = 10;
  const ids = new ClassIdStream(C, 'balanced', new Rng(3)).next(25);
  const count = (a: Int32Array, upto: number): number[] => {
    const c = new Array<number>(C).fill(0);
    for (let i = 0; i < upto; i++) c[a[i]!]!++;
    return c;
  };
  assert.deepEqual(count(ids, 20), new Array(C).fill(2));
  const tail = new Set(ids.subarray(20));
  assert.equal(tail.size, 5, 'a partial round takes distinct classes');
  // streaming in pieces gives the same sequence
  const s = new ClassIdStream(C, 'balanced', new Rng(3));
  assert.deepEqual([...s.next(7), ...s.next(18)], [...ids]);
  const u = new ClassIdStream(C, 'uniform', new Rng(3)).next(25);
  assert.notDeepEqual([...u], [...ids]);
  assert.ok([...u].every((v) => v >= 0 && v < C));
});

test('metric plan: defaults, requirements and sample counts named in errors', () => {
  assert.deepEqual(makeMetricPlan({ hasStats: false, hasRealImages: false }).metrics, ['is']);
  assert.deepEqual(makeMetricPlan({ hasStats: true, hasRealImages: false }).metrics, ['is', 'fid']);
  assert.deepEqual(parseMetricList('FID, kid,fid'), ['fid', 'kid']);
  userError(() => parseMetricList('fid,lpips'), /unknown metric 'lpips'/);
  userError(() => makeMetricPlan({ metrics: ['fid'], hasStats: false, hasRealImages: false }), /--stats STATS\.npz/);
  userError(() => makeMetricPlan({ metrics: ['kid'], hasStats: true, hasRealImages: false }), /--real PATH/);
  const plan = makeMetricPlan({ metrics: ['is', 'fid', 'kid'], hasStats: true, hasRealImages: true, kidSubsetSize: 50 });
  userError(() => checkSampleCount(plan, 20, '-n'), /-n has 20, but KID with subsets of 50 needs at least 50/);
  userError(() => checkSampleCount(makeMetricPlan({ metrics: ['fid'], hasStats: true, hasRealImages: false }), 1, '-n'), /at least 2 samples for the covariance/);
  checkSampleCount(plan, 50, '-n');
});

test('npy inputs: uint8 NHWC and float NCHW give the same bytes; bad arrays are one-line errors', async () => {
  const n = 3, h = 5, w = 4;
  const u8 = new Uint8Array(n * h * w * 3).map((_, i) => (i * 37) & 255);
  const f32 = new Float32Array(n * 3 * h * w);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    f32[((i * 3 + c) * h + y) * w + x] = u8[((i * h + y) * w + x) * 3 + c]! / 127.5 - 1;
  }
  const a = path.join(tmp, 'a.npy'), b = path.join(tmp, 'b.npy');
  writeNpy(a, { dtype: 'uint8', shape: [n, h, w, 3], data: u8 });
  writeNpy(b, { dtype: 'float32', shape: [n, 3, h, w], data: f32 });
  const ia = openImageInput(a), ib = openImageInput(`${b}:${path.join(tmp, 'labels.npy')}`);
  assert.equal(ia.count, 3);
  for (let i = 0; i < n; i++) assert.deepEqual((await ia.load(i)).data, (await ib.load(i)).data);
  const batches = [];
  for await (const bt of imageBatches(ia, 2)) batches.push(bt);
  assert.deepEqual(batches.map((x) => x.images.shape), [[2, 3, h, w], [1, 3, h, w]]);
  assert.equal(openImageInput(a, { limit: 2 }).count, 2);

  const nan = path.join(tmp, 'nan.npy');
  writeNpy(nan, { dtype: 'float32', shape: [1, 3, 2, 2], data: new Float32Array(12).fill(NaN) });
  userError(() => openImageInput(nan), /NaN/);
  const big = path.join(tmp, 'big.npy');
  writeNpy(big, { dtype: 'float32', shape: [1, 3, 2, 2], data: new Float32Array(12).fill(200) });
  userError(() => openImageInput(big), /\[-1, 1\]/);
  const ints = path.join(tmp, 'ints.npy');
  writeNpy(ints, { dtype: 'int32', shape: [1, 2, 2, 3], data: new Int32Array(12) });
  userError(() => openImageInput(ints), /int32/);
  userError(() => openImageInput(path.join(tmp, 'missing')), /does not exist/);
});

test('image folders: recursive, mixed sizes batched apart, unreadable files stop or are skipped', async () => {
  const dir = path.join(tmp, 'imgs');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  writePngFile(path.join(dir, 'a.png'), 8, 8, 1);
  writePngFile(path.join(dir, 'b.png'), 8, 8, 2);
  writePngFile(path.join(dir, 'sub', 'c.png'), 6, 10, 3);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  const input = openImageInput(dir);
  assert.equal(input.count, 3);
  const shapes = [];
  for await (const b of imageBatches(input, 8)) shapes.push(b.images.shape);
  assert.deepEqual(shapes, [[2, 3, 8, 8], [1, 3, 10, 6]]);
  assert.match(input.sha256(), /^[0-9a-f]{64}$/);

  fs.writeFileSync(path.join(dir, 'broken.png'), Buffer.from('not really a png'));
  const withBad = openImageInput(dir);
  await userErrorAsync(async () => { for await (const _ of imageBatches(withBad, 8)) { /* drain */ } }, /unreadable image .*broken\.png.*--skip-bad/);
  const skipped: string[] = [];
  let total = 0;
  for await (const b of imageBatches(withBad, 8, { skipBad: true, onSkip: (name) => skipped.push(name) })) total += b.images.shape[0]!;
  assert.equal(total, 3);
  assert.equal(skipped.length, 1);
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  userError(() => openImageInput(empty), /no PNG, JPEG or WebP images/);
});

test('generated images: seeded, and the first k images do not depend on n', async () => {
  const { model } = loadGenerator(path.join(PT_REF, 'ajbrock-biggan-128-ch10', 'G.pth'));
  const sampler = Sampler.of(model);
  try {
    const collect = async (n: number, seed: number): Promise<{ bytes: Uint8Array; ids: number[] }> => {
      const parts: Uint8Array[] = [];
      const ids: number[] = [];
      for await (const b of generatedBatches(model, sampler, { n, seed, classSampling: 'balanced', batch: 2 })) {
        parts.push(b.images.data as Uint8Array);
        ids.push(...b.classIds);
        assert.equal(b.images.dtype, 'uint8');
      }
      return { bytes: Uint8Array.from(parts.flatMap((p) => [...p])), ids };
    };
    const three = await collect(3, 5), four = await collect(4, 5), other = await collect(3, 6);
    const per = 3 * 128 * 128;
    assert.equal(three.bytes.length, 3 * per);
    assert.deepEqual(four.bytes.subarray(0, 3 * per), three.bytes);
    assert.deepEqual(four.ids.slice(0, 3), three.ids);
    assert.notDeepEqual(other.bytes, three.bytes);
  } finally {
    await sampler.release();
  }
});

test('shards: merging equals the whole; mismatched or mu/sigma-only files are refused', () => {
  const d = 64, rng = new Rng(11);
  const rows = (n: number): Float32Array => Float32Array.from({ length: n * d }, () => rng.normal() * 0.1 + 0.3);
  const x1 = rows(5), x2 = rows(7);
  const whole = new FeatureStats(d).add({ rows: 5, cols: d, data: x1 }).add({ rows: 7, cols: d, data: x2 });
  const meta = { pipeline: 'pytorch-fid', inceptionSha256: 'abc', sources: ['part'] };
  const s1 = path.join(tmp, 's1.npz'), s2 = path.join(tmp, 's2.npz');
  writeShard(s1, new FeatureStats(d).add({ rows: 5, cols: d, data: x1 }), meta);
  writeShard(s2, new FeatureStats(d).add({ rows: 7, cols: d, data: x2 }), meta);
  const merged = mergeShards([s1, s2]);
  assert.equal(merged.stats.count, 12);
  assert.deepEqual(merged.meta!.sources, ['part', 'part']);
  const a = merged.stats.toMeanCov(), b = whole.toMeanCov();
  let dm = 0, ds = 0;
  for (let i = 0; i < d; i++) dm = Math.max(dm, Math.abs(a.mu[i]! - b.mu[i]!));
  for (let i = 0; i < d * d; i++) ds = Math.max(ds, Math.abs(a.sigma.data[i]! - b.sigma.data[i]!));
  assert.ok(dm < 1e-15 && ds < 1e-15, `merged vs whole: mu ${dm}, sigma ${ds}`);
  assert.equal(readShard(s1).stats.count, 5);
  userError(() => readReferenceStats(s1), /64-dimensional statistics/);

  const s3 = path.join(tmp, 's3.npz');
  writeShard(s3, new FeatureStats(d).add({ rows: 5, cols: d, data: x1 }), { ...meta, pipeline: 'torch-fidelity' });
  userError(() => mergeShards([s1, s3]), /pipeline torch-fidelity.*pipeline pytorch-fid/);
  const plain = path.join(tmp, 'plain.npz');
  writeStatsFile(plain, b);
  userError(() => mergeShards([s1, plain]), /only mu\/sigma.*--shard-out/);
  const small = path.join(tmp, 'small.npz');
  writeNpz(small, { mu: { dtype: 'float64', shape: [64], data: new Float64Array(64) }, sigma: { dtype: 'float64', shape: [64, 64], data: new Float64Array(64 * 64) } });
  userError(() => readReferenceStats(small), /64-dimensional statistics.*2048.*--dims 64/);
});

test('a FID below 0 by rounding is reported as 0, the computed value kept and noted', () => {
  assert.deepEqual(clampNegativeFid({ fid: -3e-13, is_mean: 2 }), { fid: 0, fid_raw: -3e-13, is_mean: 2 });
  assert.match(fidNote(clampNegativeFid({ fid: -3e-13 }))!, /^FID came out as -3\.00e-13, below 0 only by floating-point cancellation.*reported as 0/);
  assert.deepEqual(clampNegativeFid({ fid: 1.5 }), { fid: 1.5 });
  assert.deepEqual(clampNegativeFid({ fid: 0 }), { fid: 0 });
  assert.deepEqual(clampNegativeFid({ is_mean: 1, is_std: 0 }), { is_mean: 1, is_std: 0 });
  assert.equal(fidNote({ fid: 1.5 }), null);
});

test('sweep table: one aligned row per threshold, columns for the metrics present', () => {
  const t = sweepTable([
    { truncation: 0.5, metrics: { is_mean: 50.5, is_std: 1.25, fid: 12.3456 }, constantFeatures: false },
    { truncation: 1, metrics: { is_mean: 40, is_std: 1, fid: 9.5 }, constantFeatures: false },
  ]);
  const lines = t.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /truncation\s+IS\s+FID/);
  assert.match(lines[2]!, /0\.5\s+50\.500 ± 1\.250\s+12\.346/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, 'columns are aligned');
});

test('periodic evaluator (the training hook): same seed, same score; IS only without statistics', async () => {
  const { model } = loadGenerator(path.join(PT_REF, 'ajbrock-biggan-128-ch10', 'G.pth'));
  const ev = PeriodicEvaluator.create({ inception: 'procedural', n: 10, batch: 10 });
  try {
    const a = await ev.evaluate(model);
    assert.deepEqual(Object.keys(a).sort(), ['is_mean', 'is_std']);
    assert.ok(a.is_mean! >= 1);
    assert.deepEqual(await ev.evaluate(model), a);
  } finally {
    await ev.release();
  }
  userError(() => PeriodicEvaluator.create({ inception: 'procedural', stats: path.join(tmp, 'missing.npz') }), /does not exist/);
});
