/**
 * BigGAN-deep generator against the pytorch-pretrained-BigGAN fixture (channel_width 8,
 * real 128 layer structure): outputs of all input sets, per-layer intermediates, SN
 * sigmas, loading from .bin / .safetensors / legacy .bin, load errors; plus the deep
 * discriminator and a training-mode forward/backward of both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { grad } from '../src/engine/autodiff.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, Feed, Fetched } from '../src/engine/runtime.js';
import { evalContext, trainContext } from '../src/nn/module.js';
import { SpectralWeight } from '../src/nn/spectral-norm.js';
import { readNpy } from '../src/io/npy.js';
import { readStateDict } from '../src/io/state-dict-file.js';
import type { NdArray } from '../src/io/ndarray.js';
import { UserError } from '../src/errors.js';
import { BigGanDeepGenerator, GeneratorTaps } from '../src/models/biggan-deep-generator.js';
import { bigGanDeepFromStateDict, loadBigGanDeepGenerator, pretrainedLayoutOptions, pretrainedStateDict } from '../src/models/layouts/pretrained-biggan-loader.js';
import { BigGanDeepDiscriminator } from '../src/models/biggan-deep-discriminator.js';
import { BigGanDeepConfig, bigGanDeepConfig, validateBigGanDeepConfig } from '../src/models/biggan-deep-config.js';
import { readBigGanDeepConfig } from '../src/models/layouts/pretrained-biggan-config.js';
import { detectPretrainedBigGan, hfKeyToOurs, ourNameToHf } from '../src/models/layouts/pretrained-biggan.js';
import { PT_REF } from './fixture-paths.js';
import { maxAbsDiff } from './array-diff.js';

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const SETS = ['t0.4_onehot', 't1.0_mixed', 't0.123_interp', 't0.58_fpedge'];
const TOL = 1e-4; // fixture README: max |ours - output.npy| <= 1e-4 for a float32 port

const fixtureConfig = (): BigGanDeepConfig => readBigGanDeepConfig(path.join(HF, 'config.json'));


interface SetData {
  z: NdArray;
  classVector: NdArray;
  truncation: NdArray;
  output: NdArray;
}
const readSet = (name: string): SetData => {
  const f = (x: string) => readNpy(path.join(HF, 'sets', name, `${x}.npy`));
  return { z: f('z'), classVector: f('class_vector'), truncation: f('truncation'), output: f('output') };
};

/** Eval graph for batch n, weights baked in; taps become outputs named tap:<name>. */
async function compileGenerator(model: BigGanDeepGenerator, n: number, classes: 'vector' | 'ids', withTaps = false): Promise<CompiledGraph> {
  const g = new Graph();
  const z = g.input('z', [n, model.zDim]);
  const cls = classes === 'vector' ? { vector: g.input('class_vector', [n, model.numClasses]) } : { ids: g.input('class_ids', [n], 'int64') };
  const truncation = g.input('truncation', [1], 'float64');
  const taps: GeneratorTaps = new Map();
  const images = model.forward(evalContext(), { z, classes: cls, truncation }, withTaps ? taps : undefined);
  const outputs: Record<string, Tensor> = { images };
  for (const [k, t] of taps) outputs[`tap:${k}`] = t;
  return CompiledGraph.create(exportOnnx(g, { outputs }));
}

async function runSet(model: BigGanDeepGenerator, s: SetData, withTaps = false): Promise<Record<string, Fetched>> {
  const cg = await compileGenerator(model, s.z.shape[0], 'vector', withTaps);
  const r = await cg.run({ z: s.z.data as Feed, class_vector: s.classVector.data as Feed, truncation: s.truncation.data as Feed });
  await cg.release();
  return r;
}

let binModel: BigGanDeepGenerator | undefined;
const fromBin = (): BigGanDeepGenerator => (binModel ??= loadBigGanDeepGenerator(path.join(HF, 'pytorch_model.bin')));

test('config.json parses; structure and parameter count match the fixture', () => {
  const cfg = fixtureConfig();
  const fixture = JSON.parse(fs.readFileSync(path.join(HF, 'fixture.json'), 'utf8'));
  const model = new BigGanDeepGenerator(cfg);
  assert.equal(model.parameterCount(), fixture.num_parameters);
  assert.equal(model.parameterCount(false), fixture.num_state_dict_elements);
  assert.equal(model.usesTruncation, true);
  const keys = [...pretrainedStateDict(model)].map(([k, p]) => [k, p.shape]);
  assert.deepEqual(keys, fixture.state_dict.map(([k, s]: [string, number[]]) => [k, s]));
});

test('pytorch_model.bin and model.safetensors load to identical tensors; every set matches output.npy', async (t) => {
  const bin = fromBin();
  const st = loadBigGanDeepGenerator(path.join(HF, 'model.safetensors'));
  const stParams = st.stateDict();
  for (const [name, p] of bin.stateDict()) assert.deepEqual(stParams.get(name)!.data, p.data, name);
  for (const [label, model] of [['bin', bin], ['safetensors', st]] as const) {
    for (const name of SETS) {
      const s = readSet(name);
      const r = await runSet(model, s);
      const d = maxAbsDiff(r.images as Float32Array, s.output.data as Float32Array);
      t.diagnostic(`${label} ${name}: max |ours - output.npy| = ${d.toExponential(3)}`);
      assert.ok(d <= TOL, `${label} ${name}: max abs diff ${d} > ${TOL}`);
    }
  }
});

test('intermediates of t0.4_onehot (sample 0) match the forward hooks', async (t) => {
  const s = readSet('t0.4_onehot');
  const r = await runSet(fromBin(), s, true);
  const dir = path.join(HF, 'intermediates', 't0.4_onehot');
  // HF generator.layers index → our tap (attention sits at index 8, later blocks shift by one)
  const tapFor = (file: string): string => {
    const m = /^\d+_(.+)\.npy$/.exec(file)![1];
    if (m === 'class_embedding') return 'class_embedding';
    if (m === 'gen_z_linear_raw') return 'gen_z';
    if (m === 'final_bn') return 'out_bn';
    if (m === 'conv_to_rgb_all_channels') return 'to_rgb';
    if (m === 'layers.8_attention') return 'attention';
    const j = Number(/^layers\.(\d+)_genblock$/.exec(m)![1]);
    return `blocks.${j > 8 ? j - 1 : j}`;
  };
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.npy')).sort();
  assert.equal(files.length, 15);
  for (const f of files) {
    const ref = readNpy(path.join(dir, f));
    const ours = r[`tap:${tapFor(f)}`] as Float32Array;
    assert.ok(ours, `no tap for ${f}`);
    const sample0 = ours.subarray(0, ref.data.length);
    assert.equal(ours.length, ref.data.length * s.z.shape[0], `${f}: size`);
    const refData = ref.data as Float32Array;
    const scale = refData.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    const d = maxAbsDiff(sample0, refData);
    t.diagnostic(`${f}: max abs diff ${d.toExponential(3)} (max |ref| ${scale.toFixed(2)})`);
    assert.ok(d <= TOL * scale, `${f}: max abs diff ${d} > ${TOL} x ${scale}`);
  }
});

test('int64 class ids give the same images as one-hot class vectors', async () => {
  const s = readSet('t0.4_onehot');
  const model = fromBin();
  const cg = await compileGenerator(model, 4, 'ids');
  const r = await cg.run({ z: s.z.data as Feed, class_ids: BigInt64Array.from([0n, 207n, 511n, 999n]), truncation: s.truncation.data as Feed });
  await cg.release();
  assert.ok(maxAbsDiff(r.images as Float32Array, s.output.data as Float32Array) <= TOL);
  const viaVector = await runSet(model, s);
  assert.ok(maxAbsDiff(r.images as Float32Array, viaVector.images as Float32Array) <= 1e-6);
});

test('spectral-norm sigmas equal sn_sigmas.json (float64 from stored u, v; and the graph in float32)', async () => {
  const expected: Record<string, number> = JSON.parse(fs.readFileSync(path.join(HF, 'sn_sigmas.json'), 'utf8')).sigmas;
  const model = fromBin();
  const opts = pretrainedLayoutOptions(model);
  const sns: [string, SpectralWeight][] = [];
  const walk = (v: unknown, p: string): void => {
    if (v instanceof SpectralWeight) sns.push([p, v]);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}.${i}`));
    else if (v && typeof v === 'object' && 'namedParams' in v) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
  };
  walk(model, '');
  assert.equal(sns.length, Object.keys(expected).length);
  const g = new Graph();
  const outputs: Record<string, Tensor> = {};
  const host: Record<string, number> = {};
  for (const [p, sw] of sns) {
    // our module path "x.w" → HF module "y" via the weight's key "y.weight_orig"
    const hf = ourNameToHf(`${p}.weight`, opts)!.replace(/\.weight_orig$/, '');
    assert.ok(hf in expected, `no expected sigma for ${hf}`);
    const W = sw.weight.data;
    const u = sw.sn_u.data;
    const v = sw.sn_v!.data;
    let sigma = 0;
    for (let r = 0; r < u.length; r++) {
      let dot = 0;
      for (let c = 0; c < v.length; c++) dot += W[r * v.length + c] * v[c];
      sigma += u[r] * dot;
    }
    host[hf] = sigma;
    outputs[`sigma:${hf}`] = sw.sigma(g, evalContext());
  }
  const cg = await CompiledGraph.create(exportOnnx(g, { outputs }));
  const r = await cg.run({});
  await cg.release();
  for (const [hf, want] of Object.entries(expected)) {
    assert.ok(Math.abs(host[hf] - want) <= 1e-9 * Math.abs(want), `${hf}: float64 sigma ${host[hf]} vs ${want}`);
    const f32 = (r[`sigma:${hf}`] as Float32Array)[0];
    assert.ok(Math.abs(f32 - want) <= 1e-5 * Math.abs(want), `${hf}: graph sigma ${f32} vs ${want}`);
  }
});

test('the legacy (pre-1.6) subset file holds the same tensors as pytorch_model.bin, and alone is reported as incomplete', () => {
  const full = readStateDict(path.join(HF, 'pytorch_model.bin'));
  const legacyFile = path.join(HF, 'pytorch_model.legacy-subset.bin');
  const legacy = readStateDict(legacyFile);
  assert.ok(legacy.size > 0);
  for (const [k, t] of legacy) {
    const f = full.get(k);
    assert.ok(f, `${k} not in the full file`);
    assert.deepEqual(t.shape, f.shape, k);
    assert.deepEqual(t.data, f.data, k);
  }
  assert.throws(
    () => loadBigGanDeepGenerator(legacyFile, fixtureConfig()),
    (e: Error) => e instanceof UserError && /missing generator\.gen_z\.bias \(expected shape \[2048\]\)/.test(e.message),
  );
});

test('load errors name the key with expected and found shapes; other layouts are refused clearly', () => {
  const cfg = fixtureConfig();
  const state = readStateDict(path.join(HF, 'model.safetensors'));
  const missing = new Map(state);
  missing.delete('generator.layers.3.conv_1.weight_orig');
  assert.throws(
    () => bigGanDeepFromStateDict(missing, cfg, 'x.bin'),
    (e: Error) => e instanceof UserError && e.message.includes('missing generator.layers.3.conv_1.weight_orig (expected shape [32, 32, 3, 3])'),
  );
  const wrong = new Map(state);
  wrong.set('generator.gen_z.weight_orig', { dtype: 'float32', shape: [2048, 250], data: new Float32Array(2048 * 250) });
  assert.throws(
    () => bigGanDeepFromStateDict(wrong, cfg, 'x.bin'),
    (e: Error) => e instanceof UserError && e.message.includes('generator.gen_z.weight_orig: expected shape [2048, 256], found [2048, 250]'),
  );
  // the same file against the real (width 128) config
  assert.throws(
    () => bigGanDeepFromStateDict(state, bigGanDeepConfig(128), 'x.bin'),
    (e: Error) => e instanceof UserError && /embeddings\.weight|gen_z/.test(e.message) && /expected shape \[/.test(e.message),
  );
  const extra = new Map(state);
  extra.set('generator.layers.3.conv_1.weight', state.get('generator.layers.3.conv_1.weight_orig')!);
  assert.throws(() => bigGanDeepFromStateDict(extra, cfg, 'x.bin'), /unexpected key generator\.layers\.3\.conv_1\.weight/);
  const ajbrock = path.join(PT_REF, 'ajbrock-biggan-128-ch10', 'G.pth');
  assert.throws(
    () => loadBigGanDeepGenerator(ajbrock, cfg),
    (e: Error) => e instanceof UserError && /BigGAN-PyTorch/.test(e.message) && /not a BigGAN-deep generator checkpoint/.test(e.message),
  );
  assert.equal(detectPretrainedBigGan(state.keys()), true);
  assert.equal(detectPretrainedBigGan(readStateDict(ajbrock).keys()), false);
});

test('weights round-trip through HF names and through our own names', () => {
  const model = fromBin();
  const asArrays = (m: Map<string, Param>): Map<string, NdArray> =>
    new Map([...m].map(([k, p]) => [k, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(p.data) }]));
  const viaHf = bigGanDeepFromStateDict(asArrays(pretrainedStateDict(model)), model.config, 'hf export');
  const viaOurs = bigGanDeepFromStateDict(asArrays(model.stateDict()), model.config, 'own names');
  for (const other of [viaHf, viaOurs]) {
    const theirs = other.stateDict();
    for (const [name, p] of model.stateDict()) assert.deepEqual(theirs.get(name)!.data, p.data, name);
  }
});

test('layout maps every HF key to ours and back', () => {
  const state = readStateDict(path.join(HF, 'pytorch_model.bin'));
  const opts = { attentionPosition: 8 };
  for (const k of state.keys()) {
    const ours = hfKeyToOurs(k, opts);
    assert.ok(ours, k);
    assert.equal(ourNameToHf(ours, opts), k);
  }
  assert.equal(hfKeyToOurs('generator.layers.9.conv_0.bias', opts), 'blocks.8.conv0.bias');
  assert.equal(hfKeyToOurs('generator.layers.8.snconv1x1_o_conv.weight_v', opts), 'attention.o.w.sn_v');
  assert.equal(hfKeyToOurs('generator.layers.8.snconv1x1_o_conv.bias', opts), null);
});

test('config validation gives one-line UserErrors', () => {
  const good = fixtureConfig();
  const bad = (patch: Record<string, unknown>, re: RegExp): void => {
    assert.throws(() => validateBigGanDeepConfig({ ...good, ...patch }, 'cfg.json'), (e: Error) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'));
  };
  bad({ channel_width: 0 }, /cfg\.json: channel_width must be a positive integer/);
  bad({ output_dim: 256 }, /upsample 4×4 to 128×128, but output_dim is 256/);
  bad({ layers: [] }, /layers must be a non-empty list/);
  bad({ layers: [[true, 16, 16], [false, 8, 8]] }, /layers\[1\] takes 8·ch channels but layers\[0\] gives 16·ch/);
  bad({ layers: [[true, 16, 4]], output_dim: 8 }, /out must be in\/2/);
  bad({ eps: -1 }, /eps must be a positive number/);
  bad({ layers: [[1, 16, 16]] }, /layers\[0\] must be \[upsample/);
  assert.throws(() => validateBigGanDeepConfig({ z_dim: 128 }, 'cfg.json'), /missing fields output_dim, class_embed_dim/);
  assert.throws(() => validateBigGanDeepConfig([1], 'cfg.json'), UserError);
  // attention outside the layer list means none, as upstream
  const noAttn = new BigGanDeepGenerator({ ...good, attention_layer_position: 99 });
  assert.equal(noAttn.attention, undefined);
});

test('deep discriminator: parameter counts of the reference layouts, forward in both SN flavours', async () => {
  assert.equal(new BigGanDeepDiscriminator({ resolution: 128 }).parameterCount(), 34_590_210); // compare_gan test / ARCHITECTURES §7
  assert.equal(new BigGanDeepDiscriminator({ resolution: 256 }).parameterCount(), 38_247_426);
  assert.equal(new BigGanDeepDiscriminator({ resolution: 512 }).parameterCount(), 38_301_122);
  const d128 = new BigGanDeepDiscriminator({ resolution: 128, channelWidth: 8 });
  assert.equal(d128.attentionAfter, 1); // after the 64×64 stage
  assert.equal(d128.attention!.channels, 16);
  for (const flavour of ['ajbrock', 'torch'] as const) {
    const d = new BigGanDeepDiscriminator({ resolution: 32, channelWidth: 4, numClasses: 10, sn: { flavour, eps: 1e-4 } });
    let seed = 1;
    // deterministic weights; torch-flavour u, v must not be orthogonal to W, so they get values too
    for (const [, p] of d.stateDict()) if (p.trainable || p.name.endsWith('sn_v') || p.name.endsWith('sn_u')) for (let i = 0; i < p.data.length; i++) p.data[i] = Math.sin(seed++) * 0.2;
    const g = new Graph();
    const x = g.input('x', [2, 3, 32, 32]);
    const y = g.input('y', [2], 'int64');
    const logits = d.forward(evalContext(), x, y);
    assert.deepEqual(logits.shape, [2, 1]);
    const cg = await CompiledGraph.create(exportOnnx(g, { outputs: { logits } }));
    const r = await cg.run({ x: Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.cos(i)), y: BigInt64Array.from([3n, 7n]) });
    await cg.release();
    assert.ok((r.logits as Float32Array).every(Number.isFinite), flavour);
  }
});

test('training mode: single-row BN (n_stats = 1) G and D forward/backward through onnxruntime', async () => {
  const cfg = bigGanDeepConfig(32, { channelWidth: 8, nStats: 1, numClasses: 10 });
  const G = new BigGanDeepGenerator(cfg);
  assert.equal(G.usesTruncation, false);
  const D = new BigGanDeepDiscriminator({ resolution: 32, channelWidth: 8, numClasses: 10, sn: { flavour: 'torch', eps: 1e-4 } });
  // one graph holds both networks: prefix their parameter names
  G.nameParams('G');
  D.nameParams('D');
  let seed = 1;
  for (const m of [G, D]) for (const [, p] of m.stateDict()) if (p.trainable) for (let i = 0; i < p.data.length; i++) p.data[i] = Math.sin(seed++) * 0.1;
  const g = new Graph();
  const z = g.input('z', [4, 128]);
  const ids = g.input('ids', [4], 'int64');
  const ctx = trainContext();
  const fake = G.forward(ctx, { z, classes: { ids } });
  const loss = op.neg(op.reduceMean(D.forward(ctx, fake, ids), [0, 1]));
  const gParams = [...G.stateDict().values()].filter((p) => p.trainable).map((p) => g.param(p));
  const grads = grad(loss, gParams);
  // every BN's running statistics and every SN vector pair gets an update
  const bnCount = G.blocks.length * 4 + 1;
  assert.equal([...ctx.updates.keys()].filter((p) => p.name.endsWith('running_means')).length, bnCount);
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((t, i) => (outputs[`grad:${gParams[i].name}`] = t));
  const cg = await CompiledGraph.create(exportOnnx(g, { outputs }));
  const r = await cg.run({ z: Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 1.3)), ids: BigInt64Array.from([1n, 2n, 3n, 9n]) });
  await cg.release();
  assert.ok(Number.isFinite((r.loss as Float32Array)[0]));
  const gz = r['grad:G.gen_z.w.weight'] as Float32Array;
  assert.ok(gz.every(Number.isFinite) && gz.some((v) => v !== 0), 'gen_z gradient');
  // eval of the same model needs no truncation input
  const ge = new Graph();
  const img = G.forward(evalContext(), { z: ge.input('z', [1, 128]), classes: { ids: ge.input('ids', [1], 'int64') } });
  assert.deepEqual(img.shape, [1, 3, 32, 32]);
});
