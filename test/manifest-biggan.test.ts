import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Graph } from '../src/engine/graph.js';
import { evalContext, Module } from '../src/nn/module.js';
import { readStateDict } from '../src/io/state-dict-file.js';
import { NdArray } from '../src/io/ndarray.js';
import { UserError } from '../src/errors.js';
import { parseDiscriminatorArgs, parseGeneratorArgs, splitConstructorArgs } from '../src/models/biggan-config.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import {
  bgpKeyToOurs,
  bgpStateDict,
  detectBigGANPyTorch,
  inferDiscriminatorArgs,
  generatorFromStateDict,
  inferGeneratorArgs,
  loadBigGANDiscriminator,
  loadBigGANGenerator,
  loadBigGANPyTorch,
  ourNameToBgp,
} from '../src/models/layouts/biggan-pytorch.js';
import { PT_REF } from './fixture-paths.js';

const MANIFESTS = path.join(PT_REF, 'manifests');
const CH10 = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const CIFAR = path.join(PT_REF, 'ajbrock-biggan-32-train-step');

interface Manifest {
  constructor_args: Record<string, unknown>;
  keys: [string, number[], string][];
  num_parameters: number;
  num_buffer_elements: number;
}
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

/** Our model's keys, in BGP names and order, against a list of [key, shape]. */
function assertKeysEqual(model: Module, keys: ReadonlyArray<readonly [string, readonly number[], ...string[]]>, what: string): void {
  const ours = [...bgpStateDict(model)].map(([k, p]) => [k, p.shape] as const);
  assert.equal(ours.length, keys.length, `${what}: ${ours.length} keys vs ${keys.length}`);
  ours.forEach(([k, shape], i) => {
    assert.equal(k, keys[i][0], `${what}: key ${i}`);
    assert.deepEqual([...shape], [...keys[i][1]], `${what}: shape of ${k}`);
  });
}

function bufferElements(model: Module): number {
  return model.parameterCount(false) - model.parameterCount(true);
}

test('full-size 128 G (ch 96): keys in order, shapes, parameter and buffer counts equal the manifest', () => {
  const man = readJson(path.join(MANIFESTS, 'ajbrock-biggan-128-G-ch96.json')) as Manifest;
  const G = new BigGANGenerator(parseGeneratorArgs(man.constructor_args));
  assertKeysEqual(G, man.keys, 'G ch96');
  assert.equal(G.parameterCount(), man.num_parameters);
  assert.equal(G.parameterCount(), 70_433_988);
  assert.equal(bufferElements(G), man.num_buffer_elements);
});

test('full-size 128 D (ch 96): keys in order, shapes, parameter and buffer counts equal the manifest', () => {
  const man = readJson(path.join(MANIFESTS, 'ajbrock-biggan-128-D-ch96.json')) as Manifest;
  const D = new BigGANDiscriminator(parseDiscriminatorArgs(man.constructor_args));
  assertKeysEqual(D, man.keys, 'D ch96');
  assert.equal(D.parameterCount(), man.num_parameters);
  assert.equal(D.parameterCount(), 87_982_370);
  assert.equal(bufferElements(D), man.num_buffer_elements);
});

test('256 and 512 parameter counts agree with ARCHITECTURES.md §7', () => {
  const G = (res: number, dimZ: number, attn: string) =>
    new BigGANGenerator(parseGeneratorArgs({ resolution: res, G_ch: 96, dim_z: dimZ, hier: true, shared_dim: 128, G_attn: attn }));
  const D = (res: number) => new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: res, D_ch: 96 }));
  assert.equal(G(256, 140, '128').parameterCount(), 82_097_604);
  assert.equal(D(256).parameterCount(), 99_225_890); // BGP shortcut rule
  assert.equal(G(512, 160, '64').parameterCount(), 82_468_068);
  assert.equal(G(512, 128, '64').parameterCount(), 82_296_804); // TF-Hub 16-d chunks
  // compare_gan's 98,801,378 lacks the learned shortcuts of the two same-width downsampling blocks (§1 #12)
  assert.equal(D(512).parameterCount(), 98_801_378 + 599_904);
});

test('the ch 10 fixture files: keys in order and shapes; detection; args read back from the keys', () => {
  const args = splitConstructorArgs(readJson(path.join(CH10, 'constructor_args.json')), 'constructor_args.json');
  const fixture = readJson(path.join(CH10, 'fixture.json')) as { G_state_dict: [string, number[]][]; D_state_dict: [string, number[]][] };
  const gCfg = parseGeneratorArgs(args.G);
  const dCfg = parseDiscriminatorArgs(args.D);
  const G = new BigGANGenerator(gCfg);
  const D = new BigGANDiscriminator(dCfg);
  assertKeysEqual(G, fixture.G_state_dict, 'G ch10');
  assertKeysEqual(D, fixture.D_state_dict, 'D ch10');
  assert.equal(G.parameterCount(), 1_144_284);
  assert.equal(D.parameterCount(), 1_099_532);
  const gState = readStateDict(path.join(CH10, 'G.safetensors'));
  const dState = readStateDict(path.join(CH10, 'D.safetensors'));
  assert.deepEqual(detectBigGANPyTorch(gState.keys()), { role: 'generator', variant: 'biggan-pytorch' });
  assert.deepEqual(detectBigGANPyTorch(dState.keys()), { role: 'discriminator', variant: 'biggan-pytorch' });
  assert.equal(detectBigGANPyTorch(['embeddings.weight', 'generator.gen_z.weight_orig']), null);
  const eps = { BN_eps: 1e-5, SN_eps: 1e-6 };
  assert.deepEqual(parseGeneratorArgs(inferGeneratorArgs(gState, eps, 'G')), gCfg);
  assert.deepEqual(parseDiscriminatorArgs(inferDiscriminatorArgs(dState, eps, 'D')), dCfg);
  // name mapping both ways
  const isSN = (module: string) => gState.has(`${module}.u0`);
  for (const [name] of G.namedParams()) assert.equal(bgpKeyToOurs(ourNameToBgp(name), isSN), name);
});

test('the 32x32 CIFAR config (train-step fixture) loads and its keys match exactly', () => {
  const fixture = readJson(path.join(CIFAR, 'fixture.json')) as {
    full_upstream_config: Record<string, unknown>;
    G_state_dict: [string, number[]][];
    D_state_dict: [string, number[]][];
    num_parameters: { G: number; D: number };
  };
  const args = splitConstructorArgs(fixture.full_upstream_config, 'fixture.json');
  const gCfg = parseGeneratorArgs(args.G);
  assert.equal(gCfg.zDim, 128);
  assert.deepEqual(gCfg.attention, [16]);
  const G = new BigGANGenerator(gCfg);
  const D = new BigGANDiscriminator(parseDiscriminatorArgs(args.D));
  // D_arch[32] labels every block 16: attention after all four; G: one, after block 1
  assert.deepEqual(D.attention.map((a) => a !== undefined), [true, true, true, true]);
  assert.deepEqual(G.attention.map((a) => a !== undefined), [false, true, false]);
  assert.deepEqual(D.blocks.map((b) => b.shortcut !== undefined), [true, true, false, false]);
  assert.equal(G.zChunk, 32);
  for (const [model, file, keys, count] of [
    [G, 'G.safetensors', fixture.G_state_dict, fixture.num_parameters.G],
    [D, 'D.safetensors', fixture.D_state_dict, fixture.num_parameters.D],
  ] as const) {
    const state = readStateDict(path.join(CIFAR, 'initial', file));
    assertKeysEqual(model, keys, file);
    assert.deepEqual([...bgpStateDict(model).keys()], [...state.keys()], `${file}: key order`);
    assert.equal(model.parameterCount(), count);
    loadBigGANPyTorch(model, state, file);
    const loaded = bgpStateDict(model);
    for (const [key, t] of state) assert.deepEqual(loaded.get(key)!.data, t.data, `${file}: ${key} loaded`);
  }
});

function expectUserError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return true;
  });
}

test('load errors name the key and the expected vs found shape; TF-Hub converter output (no sv0) loads', () => {
  const args = splitConstructorArgs(readJson(path.join(CH10, 'constructor_args.json')), 'constructor_args.json');
  const G = new BigGANGenerator(parseGeneratorArgs(args.G));
  const state = readStateDict(path.join(CH10, 'G.safetensors'));

  const missing = new Map(state);
  missing.delete('blocks.2.0.conv2.weight');
  expectUserError(() => loadBigGANPyTorch(G, missing, 'G.safetensors'), 'G.safetensors', 'missing blocks.2.0.conv2.weight [40, 40, 3, 3]');

  const reshaped = new Map(state);
  const w = state.get('blocks.1.0.conv_sc.weight')!;
  reshaped.set('blocks.1.0.conv_sc.weight', { ...w, shape: [80, 160, 1, 1].reverse() } as NdArray);
  expectUserError(() => loadBigGANPyTorch(G, reshaped, 'G.pth'), 'blocks.1.0.conv_sc.weight: expected [80, 160, 1, 1], found [1, 1, 160, 80]');

  const extra = new Map(state);
  extra.set('blocks.0.0.conv1.u1', state.get('blocks.0.0.conv1.u0')!);
  expectUserError(() => loadBigGANPyTorch(G, extra, 'G.pth'), 'unexpected blocks.0.0.conv1.u1');

  // nothing was changed by the failed loads
  assert.ok(G.linear.w.weight.data.every((v) => v === 0));

  const noSigma = new Map([...state].filter(([k]) => !k.endsWith('.sv0')));
  assert.deepEqual(detectBigGANPyTorch(noSigma.keys()), { role: 'generator', variant: 'tfhub-converted' });
  const report = loadBigGANPyTorch(G, noSigma, 'converted.pth');
  assert.equal(report.variant, 'tfhub-converted');
  assert.equal(report.missingSigmas.length, state.size - noSigma.size);
  assert.ok(report.missingSigmas.every((n) => n.endsWith('.w.sn_sigma')));
  // a partial set of sv0 keys is a damaged file, not a converter output
  const partial = new Map(state);
  partial.delete('linear.sv0');
  expectUserError(() => loadBigGANPyTorch(G, partial, 'G.pth'), 'missing linear.sv0 [1]');
});

test('whole-file loaders: arguments read from the keys or given; wrong role refused; our own names accepted', () => {
  const argsFile = path.join(CH10, 'constructor_args.json');
  const args = splitConstructorArgs(readJson(argsFile), 'constructor_args.json');
  const G = loadBigGANGenerator(path.join(CH10, 'G.pth'));
  assert.deepEqual(G.config, parseGeneratorArgs(args.G));
  const D = loadBigGANDiscriminator(path.join(CH10, 'D.safetensors'), { args: argsFile });
  assert.deepEqual(D.config, parseDiscriminatorArgs(args.D));
  expectUserError(() => loadBigGANGenerator(path.join(CH10, 'D.pth')), 'D.pth is a BigGAN-PyTorch discriminator; expected a BigGAN generator');
  const ours = new Map([...G.stateDict()].map(([k, p]) => [k, { dtype: 'float32', shape: p.shape, data: p.data } as NdArray]));
  const again = generatorFromStateDict(ours, 'ours.safetensors', { args: args.G });
  assert.deepEqual(again.linear.w.weight.data, G.linear.w.weight.data);
  expectUserError(() => generatorFromStateDict(ours, 'ours.safetensors'), 'needs its constructor arguments');
  // converter output: no sv0, the converter's epsilons unless told otherwise
  const noSigma = new Map([...readStateDict(path.join(CH10, 'G.pth'))].filter(([k]) => !k.endsWith('.sv0')));
  const converted = generatorFromStateDict(noSigma, 'converted.pth');
  assert.equal(converted.config.bnEps, 1e-4);
  assert.equal(converted.config.snEps, 1e-4);
  assert.equal(converted.config.outputBnEps, 1e-5);
});

test('constructor-argument validation rejects what the port does not implement', () => {
  expectUserError(() => parseGeneratorArgs({ resolution: 1024 }), 'resolution', '1024');
  expectUserError(() => parseGeneratorArgs({ num_G_SVs: 2 }), 'num_G_SVs');
  expectUserError(() => parseGeneratorArgs({ num_G_SV_itrs: 3 }), 'num_G_SV_itrs');
  expectUserError(() => parseGeneratorArgs({ G_attn: '6x4' }), 'G_attn');
  expectUserError(() => parseGeneratorArgs({ hier: true, G_shared: false }), 'hier without G_shared');
  expectUserError(() => parseGeneratorArgs({ norm_style: 'in' }), 'norm_style');
  expectUserError(() => parseGeneratorArgs({ G_param: 'SVD' }), 'G_param');
  expectUserError(() => parseGeneratorArgs({ mybn: true }), 'mybn');
  expectUserError(() => parseGeneratorArgs({ G_ch: 9.5 }), 'G_ch');
  expectUserError(() => parseGeneratorArgs({ G_activation: 'tanh' }), 'G_activation');
  expectUserError(() => parseDiscriminatorArgs({ output_dim: 2 }), 'output_dim');
  expectUserError(() => parseDiscriminatorArgs({ D_attn: [64] }), 'D_attn');
  // upstream rounds dim_z down to a multiple of the slots (64x64, 5 slots: 128 -> 125)
  assert.equal(parseGeneratorArgs({ resolution: 64, dim_z: 128, hier: true }).zDim, 125);
  assert.equal(parseGeneratorArgs({ resolution: 64, dim_z: 128, hier: false }).zDim, 128);
});

test('every resolution and variant builds a forward graph with the right shapes', () => {
  const variants = [
    { hier: true, G_shared: true },
    { hier: false, G_shared: true },
    { hier: false, G_shared: false },
  ];
  for (const resolution of [32, 64, 128, 256, 512] as const) {
    for (const v of variants) {
      const cfg = parseGeneratorArgs({ resolution, G_ch: 8, dim_z: 120, shared_dim: 16, n_classes: 5, G_attn: '16_64', ...v });
      const G = new BigGANGenerator(cfg);
      const g = new Graph();
      const ctx = evalContext();
      const img = G.forward(ctx, { z: g.input('z', [2, cfg.zDim]), classes: { ids: g.input('y', [2], 'int64') } });
      assert.deepEqual(img.shape, [2, 3, resolution, resolution]);
      const img2 = G.forward(ctx, { z: g.input('z2', [2, cfg.zDim]), classes: { vector: g.input('v', [2, 5]) } });
      assert.deepEqual(img2.shape, [2, 3, resolution, resolution]);
      assert.equal(ctx.updates.size, 0, 'eval forwards leave u0/sv0 and BN statistics alone');
      const keys = bgpStateDict(G);
      assert.equal(keys.has('shared.weight'), v.G_shared);
      assert.equal(keys.has('blocks.0.0.bn1.gain.u0'), v.G_shared); // per-class tables are plain nn.Embedding upstream
    }
    const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution, D_ch: 8, n_classes: 5, D_attn: '64', D_wide: resolution !== 64 }));
    const g = new Graph();
    const ctx = evalContext();
    const logits = D.forward(ctx, g.input('x', [2, 3, resolution, resolution]), g.input('y', [2], 'int64'));
    assert.deepEqual(logits.shape, [2, 1]);
    assert.equal(ctx.updates.size, 0, 'eval forwards leave u0/sv0 alone');
  }
});
