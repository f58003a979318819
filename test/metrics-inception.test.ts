/**
 * FID Inception-v3 against the metrics fixtures (pytorch-fid v0.3.0 and
 * torch-fidelity v0.4.0 run with the procedural weights): weights bit-exact,
 * both preprocessing pipelines, pool3 / logits / block features, and loading a
 * weights file by key name.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METRICS_REF } from './fixture-paths.js';
import { readNpy } from '../src/io/npy.js';
import type { NdArray } from '../src/io/ndarray.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { readStateDict } from '../src/io/state-dict-file.js';
import { UserError } from '../src/errors.js';
import { InceptionV3 } from '../src/metrics/inception/inception-v3.js';
import { proceduralInceptionStateDict, proceduralKind, proceduralScaleOffset } from '../src/metrics/inception/procedural-weights.js';
import { INCEPTION_WEIGHTS_ENV, loadInceptionState, loadInceptionV3, resolveInceptionWeightsFile } from '../src/metrics/inception/inception-weights.js';
import { parseInceptionPipeline, preResizeValues, resizeForInception, normalizeForInception, preprocessForInception, DEFAULT_INCEPTION_PIPELINE } from '../src/metrics/inception/preprocess.js';
import { InceptionFeatureExtractor, InceptionFeatures } from '../src/metrics/inception/feature-extractor.js';
import { maxAbsDiff } from './array-diff.js';

const ref = (name: string): NdArray => readNpy(path.join(METRICS_REF, `${name}.npy`));
const manifest = JSON.parse(fs.readFileSync(path.join(METRICS_REF, 'manifest.json'), 'utf8')) as {
  entries: { key: string; shape: number[]; k: number | null; kind: string; scale?: number; offset?: number; stride?: number[]; padding?: number[] }[];
};
const checks = JSON.parse(fs.readFileSync(path.join(METRICS_REF, 'weights_check.json'), 'utf8')) as {
  seed: number;
  sha256_all_float32_le_in_k_order: string;
  tensors: { k: number; key: string; n: number; first5_bits: string[]; last: number; bits_sum_mod_2_32: number }[];
};
const floatEntries = manifest.entries.filter((e) => e.k !== null);


function assertClose(ours: ArrayLike<number>, name: string, atol: number): void {
  const d = maxAbsDiff(ours, ref(name).data as Float32Array);
  assert.ok(d <= atol, `${name}: max abs diff ${d} > ${atol}`);
  diffs.push(`${name} ${d.toExponential(2)}`);
}
const diffs: string[] = [];

// ---- weights ----

test('module state-dict order, shapes and conv geometry equal the manifest', () => {
  const named = new InceptionV3().namedParams();
  assert.deepEqual(
    named.map(([k]) => k),
    floatEntries.map((e) => e.key),
  );
  named.forEach(([k, p], i) => assert.deepEqual(p.shape, floatEntries[i].shape, k));
  const model = new InceptionV3() as unknown as Record<string, unknown>;
  for (const e of floatEntries.filter((x) => x.kind === 'conv_weight')) {
    const parts = e.key.split('.').slice(0, -2); // drop 'conv.weight'
    const conv = parts.reduce<unknown>((m, p) => (m as Record<string, unknown>)[p], model) as { stride: number; pad: number[] };
    assert.deepEqual([conv.stride, conv.stride], e.stride, `${e.key} stride`);
    assert.deepEqual(conv.pad, e.padding, `${e.key} padding`);
  }
});

test('procedural weights are bit-exact (per-tensor bit sums, first values, SHA-256)', () => {
  const state = proceduralInceptionStateDict();
  assert.equal(checks.tensors.length, 472);
  const sha = crypto.createHash('sha256');
  let k = 0;
  let total = 0;
  for (const [key, t] of state) {
    const c = checks.tensors[k];
    const e = floatEntries[k];
    assert.equal(key, c.key);
    assert.equal(proceduralKind(key), e.kind, key);
    const so = proceduralScaleOffset(proceduralKind(key), t.shape);
    assert.equal(so.scale, e.scale, `${key} scale`);
    assert.equal(so.offset, e.offset, `${key} offset`);
    const data = t.data as Float32Array;
    assert.equal(data.length, c.n, key);
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    let sum = 0;
    for (let i = 0; i < bits.length; i++) sum = (sum + bits[i]) >>> 0;
    assert.equal(sum, c.bits_sum_mod_2_32, `${key} bits sum`);
    assert.deepEqual([...bits.subarray(0, 5)].map((b) => '0x' + b.toString(16).padStart(8, '0')), c.first5_bits.slice(0, Math.min(5, data.length)), key);
    assert.equal(data[data.length - 1], c.last, `${key} last`);
    sha.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    total += data.length;
    k++;
  }
  assert.equal(k, 472);
  assert.equal(total, 23_885_392);
  assert.equal(sha.digest('hex'), checks.sha256_all_float32_le_in_k_order);
});

test('a weights file loads by key name (shuffled order, num_batches_tracked absent or present)', () => {
  const state = proceduralInceptionStateDict();
  const entries = [...state.entries()];
  // deterministic shuffle (LCG Fisher-Yates): the loader must not depend on order
  let s = 12345;
  for (let i = entries.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inception-'));
  try {
    const file = path.join(dir, 'shuffled.safetensors');
    writeSafetensors(file, entries);
    const fileState = readStateDict(file);
    assert.notDeepEqual([...fileState.keys()], [...state.keys()]);
    const model = loadInceptionState(new InceptionV3(), fileState, file);
    for (const [key, p] of model.namedParams()) assert.deepEqual(p.data, state.get(key)!.data, key);
    // via the public entry point, with torch's int64 counters present
    const withCounter = [...entries, ['Mixed_5b.branch1x1.bn.num_batches_tracked', { dtype: 'int64', shape: [], data: new BigInt64Array([0n]) }] as const];
    writeSafetensors(file, withCounter as [string, NdArray][]);
    const m2 = loadInceptionV3({ file });
    assert.deepEqual(m2.fc.bias.data, state.get('fc.bias')!.data);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('weights errors name the key, and a missing file says where to get it', () => {
  const state = proceduralInceptionStateDict();
  const missing = new Map(state);
  missing.delete('Mixed_6c.branch7x7dbl_3.bn.running_var');
  assert.throws(() => loadInceptionState(new InceptionV3(), missing, 'f.pth'), (e: unknown) => e instanceof UserError && /Mixed_6c\.branch7x7dbl_3\.bn\.running_var/.test(e.message));
  const wrong = new Map(state);
  wrong.set('Mixed_7c.branch1x1.conv.weight', { dtype: 'float32', shape: [320, 2048], data: new Float32Array(320 * 2048) });
  assert.throws(() => loadInceptionState(new InceptionV3(), wrong, 'f.pth'), (e: unknown) => e instanceof UserError && /Mixed_7c\.branch1x1\.conv\.weight/.test(e.message));
  const extra = new Map(state);
  extra.set('AuxLogits.fc.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
  assert.throws(() => loadInceptionState(new InceptionV3(), extra, 'f.pth'), (e: unknown) => e instanceof UserError && /AuxLogits\.fc\.weight/.test(e.message));

  const saved = process.env[INCEPTION_WEIGHTS_ENV];
  delete process.env[INCEPTION_WEIGHTS_ENV];
  try {
    assert.throws(() => resolveInceptionWeightsFile(), (e: unknown) => e instanceof UserError && /pt_inception-2015-12-05-6726825d\.pth/.test(e.message) && /--inception/.test(e.message) && /BIGGAN_INCEPTION/.test(e.message));
    assert.throws(() => resolveInceptionWeightsFile('/nonexistent/inception.pth'), UserError);
  } finally {
    if (saved !== undefined) process.env[INCEPTION_WEIGHTS_ENV] = saved;
  }
});

// ---- preprocessing ----

test('pipelines: default is pytorch-fid; names parse', () => {
  assert.equal(DEFAULT_INCEPTION_PIPELINE, 'pytorch-fid');
  assert.equal(parseInceptionPipeline('torch-fidelity'), 'torch-fidelity');
  assert.throws(() => parseInceptionPipeline('tf'), UserError);
});

test('preprocessing reproduces both references\' resized tensors', () => {
  const img64 = ref('images_64');
  const odd = ref('images_odd');
  const first = (a: NdArray): Uint8Array => (a.data as Uint8Array).subarray(0, 3 * a.shape[2] * a.shape[3]);
  assertClose(preResizeValues('pytorch-fid', first(img64)), 'pfid_pre_resize_img0', 0);
  assertClose(resizeForInception('pytorch-fid', first(img64), 3, 64, 64), 'pfid_post_resize_img0', 5e-5);
  assertClose(resizeForInception('pytorch-fid', first(odd), 3, 180, 420), 'pfid_post_resize_odd', 5e-5);
  assertClose(resizeForInception('torch-fidelity', first(img64), 3, 64, 64), 'tfid_post_resize_img0', 1e-4);
  // the float32 rounding order is emulated, so the tensors are in fact equal bit for bit
  assert.equal(maxAbsDiff(resizeForInception('pytorch-fid', first(img64), 3, 64, 64), ref('pfid_post_resize_img0').data as Float32Array), 0);
  assert.equal(maxAbsDiff(resizeForInception('pytorch-fid', first(odd), 3, 180, 420), ref('pfid_post_resize_odd').data as Float32Array), 0);
  assert.equal(maxAbsDiff(resizeForInception('torch-fidelity', first(img64), 3, 64, 64), ref('tfid_post_resize_img0').data as Float32Array), 0);
});

test('preprocessing at 299: the resize is the identity; network input = normalised bytes', () => {
  const img = ref('images_299');
  const bytes = img.data as Uint8Array;
  const per = 3 * 299 * 299;
  for (const pipeline of ['pytorch-fid', 'torch-fidelity'] as const) {
    const expected = preResizeValues(pipeline, bytes);
    normalizeForInception(pipeline, expected);
    assert.deepEqual(preprocessForInception(pipeline, bytes, [2, 3, 299, 299]), expected);
    assert.deepEqual(resizeForInception(pipeline, bytes.subarray(per, 2 * per), 3, 299, 299), preResizeValues(pipeline, bytes.subarray(per, 2 * per)));
    // written at an image offset into a caller's buffer
    const into = new Float32Array(3 * per).fill(7);
    preprocessForInception(pipeline, bytes, [2, 3, 299, 299], into, 1);
    assert.deepEqual(into.subarray(per), expected);
    assert.equal(into[per - 1], 7);
  }
});

// ---- the network ----

let pfid: InceptionFeatureExtractor;
let tfid: InceptionFeatureExtractor;
const outputs = new Map<string, InceptionFeatures>();

before(async () => {
  // one model and one session cache (batch sizes 4, 2, 1) for both pipelines
  pfid = InceptionFeatureExtractor.load({ procedural: true }, { pipeline: 'pytorch-fid', batchSize: 4, threads: 2 });
  tfid = pfid.withPipeline('torch-fidelity');
  for (const set of ['64', '299', 'odd']) {
    const images = ref(`images_${set}`);
    outputs.set(`pfid_${set}`, await pfid.extract(images, { blocks: set === '64' }));
    outputs.set(`tfid_${set}`, await tfid.extract(images, { logits: true }));
  }
});

after(async () => {
  await pfid?.release();
  if (diffs.length) console.log(`max abs diffs: ${diffs.join(', ')}`);
});

test('pytorch-fid pipeline: pool3 and block 0-2 means match', () => {
  for (const set of ['64', '299', 'odd']) {
    const f = outputs.get(`pfid_${set}`)!;
    assert.equal(f.pipeline, 'pytorch-fid');
    assertClose(f.pool3, `pfid_pool3_${set}`, 1e-5);
  }
  const blocks = outputs.get('pfid_64')!.blockMeans!;
  blocks.forEach((b, i) => assertClose(b, `pfid_blocks_64_block${i}`, 1e-5));
});

test('torch-fidelity pipeline: pool3, logits and logits_unbiased match', () => {
  for (const set of ['64', '299', 'odd']) {
    const f = outputs.get(`tfid_${set}`)!;
    assert.equal(f.pipeline, 'torch-fidelity');
    assertClose(f.pool3, `tfid_pool3_${set}`, 1e-5);
    assertClose(f.logits!, `tfid_logits_${set}`, 1e-5);
    assertClose(f.logitsUnbiased!, `tfid_logits_unbiased_${set}`, 1e-5);
  }
});

test('the two pipelines give measurably different features', () => {
  const d = maxAbsDiff(outputs.get('pfid_64')!.pool3, outputs.get('tfid_64')!.pool3);
  assert.ok(d > 1e-3, `pytorch-fid vs torch-fidelity pool3 differ by only ${d}`);
});

test('concurrent extract calls on one extractor keep their inputs apart (the kept input buffer is taken while in use)', async () => {
  const [a, b, c] = await Promise.all([pfid.extract(ref('images_299')), pfid.extract(ref('images_odd')), pfid.extract(ref('images_64'))]);
  assert.deepEqual(a.pool3, outputs.get('pfid_299')!.pool3);
  assert.deepEqual(b.pool3, outputs.get('pfid_odd')!.pool3);
  assert.deepEqual(c.pool3, outputs.get('pfid_64')!.pool3);
  // and sequential calls after them still reuse one buffer correctly
  assert.deepEqual((await pfid.extract(ref('images_odd'))).pool3, outputs.get('pfid_odd')!.pool3);
});
