/**
 * The GAN-landscape architectures (SNDCGAN, ResNet19, ResNet CIFAR) behind the registry:
 * parameter and weight-layer counts against LANDSCAPE.md §1.5 (the study's unconditional
 * models, every D normalisation), output shapes and ranges on onnxruntime, the ResNet
 * blocks against Table 6 written out with plain ops (float64 reference interpreter),
 * class conditioning, initialisation, the weights orthogonal regularisation touches, and
 * checkpoint specs that round-trip (and are checked on reading).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, Feed } from '../src/engine/runtime.js';
import { evalContext, Module, trainContext } from '../src/nn/module.js';
import { BatchNorm2d, ClassTable } from '../src/nn/batchnorm.js';
import { Rng } from '../src/random/rng.js';
import { ARCHITECTURE_NAMES, architecture } from '../src/models/architectures.js';
import type { ArchitectureOptions } from '../src/models/architecture-entry.js';
import type { DiscriminatorModel, GeneratorModel } from '../src/models/interfaces.js';
import { ResNetDBlock, ResNetGBlock } from '../src/models/landscape/resnet-block.js';
import { dSpectralNorm, type DNorm, type DNormLayer } from '../src/models/landscape/d-layers.js';
import type { GBatchNorm } from '../src/models/landscape/g-layers.js';
import { Conv2d } from '../src/nn/plain-layers.js';
import { loadDiscriminator, loadGenerator, readCheckpoint, saveCheckpoint } from '../src/models/checkpoint.js';
import { validateDiscriminatorSpec, validateGeneratorSpec } from '../src/models/model-spec.js';
import { orthoTargets } from '../src/train/orthogonal-regularization.js';
import { evaluate } from './reference-interpreter.js';
import { maxAbs } from './array-diff.js';
import { assertUserError } from './assert-user-error.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-landscape-'));

/** The study's networks: each architecture's default widths, z 128, unconditional. */
function studyOptions(arch: string, resolution: number, dNorm: DNorm, extra: Partial<ArchitectureOptions> = {}): ArchitectureOptions {
  const d = architecture(arch).defaults(resolution);
  return {
    resolution, gCh: d.gCh, dCh: d.dCh, dimZ: d.dimZ, numClasses: 1, conditional: false, dNorm, bnEps: d.bnEps, snEps: 1e-6,
    sharedDim: 128, hier: true, gAttn: [], dAttn: [], ...extra,
  };
}

/** Trainable weight matrices and kernels (what LANDSCAPE.md counts as weight layers). */
const weightLayers = (m: Module): number => m.namedParams().filter(([, p]) => p.trainable && p.shape.length >= 2).length;

test('the registry holds the BigGAN family and the three GAN-landscape architectures', () => {
  assert.deepEqual([...ARCHITECTURE_NAMES], ['biggan', 'biggan-deep', 'sndcgan', 'resnet19', 'resnet-cifar']);
  assertUserError(() => architecture('dcgan', '--arch'), /--arch must be one of biggan, biggan-deep, sndcgan, resnet19, resnet-cifar, got "dcgan"/);
});

// LANDSCAPE.md §1.5: [architecture, resolution, D normalisations, G params, G layers, D params, D layers]
const COUNTS: [string, number, DNorm[], number, number, number, number][] = [
  ['sndcgan', 32, ['none', 'spectral'], 3_828_739, 5, 5_860_865, 8],
  ['sndcgan', 128, ['none', 'spectral'], 19_926_019, 5, 5_983_745, 8],
  ['resnet19', 128, ['none', 'spectral'], 13_786_115, 17, 15_086_529, 19],
  ['resnet19', 128, ['batch', 'layer'], 13_786_115, 17, 15_092_423, 19],
  ['resnet-cifar', 32, ['none', 'spectral'], 5_849_603, 11, 1_483_137, 13],
  ['resnet-cifar', 32, ['batch', 'layer'], 5_849_603, 11, 1_484_935, 13],
];

test('parameter and weight-layer counts equal LANDSCAPE.md §1.5 (the study: unconditional, every D normalisation)', () => {
  for (const [arch, R, norms, gParams, gLayers, dParams, dLayers] of COUNTS) {
    for (const dNorm of norms) {
      const a = architecture(arch);
      const o = studyOptions(arch, R, dNorm);
      const G = a.buildGenerator(o);
      const D = a.buildDiscriminator(o);
      const what = `${arch} ${R}x${R} (D ${dNorm})`;
      assert.equal(G.parameterCount(), gParams, `${what}: G parameters`);
      assert.equal(weightLayers(G), gLayers, `${what}: G weight layers`);
      assert.equal(D.parameterCount(), dParams, `${what}: D parameters`);
      assert.equal(weightLayers(D), dLayers, `${what}: D weight layers`);
    }
  }
});

test('the architectures refuse what the study does not define: resolutions, D normalisations, options', () => {
  assert.deepEqual([...architecture('sndcgan').resolutions], [32, 128]);
  assert.deepEqual([...architecture('resnet19').resolutions], [128]);
  assert.deepEqual([...architecture('resnet-cifar').resolutions], [32]);
  assert.deepEqual([...architecture('sndcgan').dNorms], ['spectral', 'none']);
  assert.deepEqual([...architecture('resnet19').dNorms].sort(), ['batch', 'layer', 'none', 'spectral']);
  assert.deepEqual([...architecture('biggan').dNorms], ['spectral']);
  for (const arch of ['sndcgan', 'resnet19', 'resnet-cifar']) assert.deepEqual([...architecture(arch).unusedOptions].sort(), ['dAttn', 'gAttn', 'hier', 'sharedDim']);
});

/** Runs G (eval mode, ids) and D (train mode) on onnxruntime; returns images and logits. */
async function runBoth(G: GeneratorModel, D: DiscriminatorModel, n: number, seed: number): Promise<{ images: Float32Array; logits: Float32Array }> {
  G.nameParams('G');
  D.nameParams('D');
  const g = new Graph();
  const z = g.input('z', [n, G.zDim]);
  const y = g.input('y', [n], 'int64');
  const images = G.forward(evalContext(), { z, classes: { ids: y } });
  assert.deepEqual(images.shape, [n, 3, G.resolution, G.resolution]);
  const logits = D.forward(trainContext(), images, y);
  assert.deepEqual(logits.shape, [n, 1]);
  const model = exportOnnx(g, { outputs: { images, logits }, paramInputs: 'none' });
  const cg = await CompiledGraph.create(model, { threads: 1 });
  const rng = new Rng(seed);
  const feeds: Record<string, Feed> = {
    z: Float32Array.from({ length: n * G.zDim }, () => 2 * rng.uniform() - 1),
    y: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % G.numClasses)),
  };
  try {
    const r = await cg.run(feeds);
    return { images: r.images as Float32Array, logits: r.logits as Float32Array };
  } finally {
    await cg.release();
  }
}

/** Small widths: the same tables, cheap to run. */
function built(arch: string, R: number, dNorm: DNorm, extra: Partial<ArchitectureOptions> = {}, seed = 1): { G: GeneratorModel; D: DiscriminatorModel } {
  const a = architecture(arch);
  const o = studyOptions(arch, R, dNorm, { gCh: 4, dCh: 4, dimZ: 16, ...extra });
  const G = a.buildGenerator(o);
  const D = a.buildDiscriminator(o);
  const rng = new Rng(seed);
  a.initialize(G, rng);
  a.initialize(D, rng);
  return { G, D };
}

test('forward passes: G makes [N, 3, R, R] images in [-1, 1], D one logit per image, for every architecture, resolution and D norm', async () => {
  for (const [arch, R, norms] of COUNTS) {
    for (const dNorm of norms) {
      const { G, D } = built(arch, R, dNorm);
      const { images, logits } = await runBoth(G, D, 3, 7);
      const what = `${arch} ${R} ${dNorm}`;
      assert.equal(images.length, 3 * 3 * R * R, what);
      assert.ok(images.every((v) => v >= -1 && v <= 1), `${what}: images outside [-1, 1]`);
      assert.ok(maxAbs(images) > 0, `${what}: blank images`);
      assert.ok(logits.every(Number.isFinite) && new Set(logits).size > 1, `${what}: logits ${[...logits]}`);
    }
  }
});

test('class conditioning: conditional BN tables in G and a projection term in D; unconditional models ignore the class', async () => {
  for (const arch of ['sndcgan', 'resnet-cifar']) {
    const cond = built(arch, 32, 'spectral', { numClasses: 3, conditional: true });
    const plain = built(arch, 32, 'spectral');
    const tables = cond.G.namedModules().filter(([, m]) => m instanceof ClassTable);
    assert.ok(tables.length > 0, `${arch}: conditional G has class tables`);
    // the class tables take the place of the study's BN gains and biases, and start at 0
    const tableValues = tables.reduce((sum, [, m]) => sum + (m as ClassTable).weight.data.length, 0);
    const affineValues = plain.G.namedModules().reduce((sum, [, m]) => sum + (m instanceof BatchNorm2d ? m.gain.data.length + m.bias.data.length : 0), 0);
    assert.equal(tableValues, 3 * affineValues, `${arch}: a gain and a bias table row per class`);
    assert.equal(cond.G.parameterCount() - plain.G.parameterCount(), tableValues - affineValues, `${arch}: G's parameters`);
    assert.ok(tables.every(([, m]) => (m as ClassTable).weight.data.every((v) => v === 0)), `${arch}: class tables start at 0`);
    // D: the projection embedding [classes, features] is all D has beyond the study's model
    const embed = cond.D.namedParams().filter(([name, p]) => name.startsWith('embed.') && p.trainable);
    assert.equal(embed.length, 1, `${arch}: conditional D has one projection embedding`);
    assert.equal(embed[0][1].shape[0], 3);
    assert.equal(cond.D.parameterCount() - plain.D.parameterCount(), embed[0][1].data.length, `${arch}: D's extra parameters`);
    // same images, different classes: the projection changes the logits
    const { logits: l0 } = await runD(cond.D, 0);
    const { logits: l1 } = await runD(cond.D, 1);
    assert.ok(maxAbs(l0.map((v, i) => v - l1[i])) > 1e-6, `${arch}: D ignores the class`);
    const u0 = await runD(plain.D, 0);
    const u1 = await runD(plain.D, 1 % plain.D.numClasses);
    assert.deepEqual([...u0.logits], [...u1.logits]);
    // G with non-zero tables draws differently per class
    const rng = new Rng(3);
    for (const [, m] of tables) rng.fillNormal((m as ClassTable).weight.data, 0.5);
    const a = await runG(cond.G, 0);
    const b = await runG(cond.G, 2);
    assert.ok(maxAbs(a.map((v, i) => v - b[i])) > 1e-4, `${arch}: G ignores the class`);
  }
});

async function runD(D: DiscriminatorModel, cls: number): Promise<{ logits: Float32Array }> {
  const g = new Graph();
  const x = g.input('x', [2, 3, D.resolution, D.resolution]);
  const y = g.input('y', [2], 'int64');
  const logits = D.forward(evalContext(), x, y);
  const cg = await CompiledGraph.create(exportOnnx(g, { outputs: { logits }, paramInputs: 'none' }), { threads: 1 });
  const rng = new Rng(11);
  try {
    const r = await cg.run({ x: Float32Array.from({ length: 2 * 3 * D.resolution ** 2 }, () => 2 * rng.uniform() - 1), y: BigInt64Array.of(BigInt(cls), BigInt(cls)) });
    return { logits: r.logits as Float32Array };
  } finally {
    await cg.release();
  }
}

async function runG(G: GeneratorModel, cls: number): Promise<Float32Array> {
  const g = new Graph();
  const z = g.input('z', [2, G.zDim]);
  const y = g.input('y', [2], 'int64');
  const images = G.forward(trainContext(), { z, classes: { ids: y } });
  const cg = await CompiledGraph.create(exportOnnx(g, { outputs: { images }, paramInputs: 'none' }), { threads: 1 });
  const rng = new Rng(12);
  try {
    return (await cg.run({ z: Float32Array.from({ length: 2 * G.zDim }, () => 2 * rng.uniform() - 1), y: BigInt64Array.of(BigInt(cls), BigInt(cls)) })).images as Float32Array;
  } finally {
    await cg.release();
  }
}

/** Fills every trainable parameter with N(0, std) (BN gains around 1) so no path hides behind a zero. */
function randomize(m: Module, rng: Rng, std = 0.3): void {
  for (const [name, p] of m.namedParams()) {
    if (!p.trainable) continue;
    rng.fillNormal(p.data, std);
    if (/gain$/.test(name)) p.data.forEach((v, i) => (p.data[i] = 1 + v));
  }
}

/** Training-mode BN or LN written out: (x - mean) / sqrt(var + eps) · gain + bias, statistics over `axes`. */
function normalized(x: Tensor, gain: Tensor, bias: Tensor, axes: number[], eps: number): Tensor {
  const mean = op.reduceMean(x, axes, true);
  const variance = op.reduceMean(op.square(op.sub(x, mean)), axes, true);
  const shape = [1, x.shape[1], 1, 1];
  return op.add(op.mul(op.div(op.sub(x, mean), op.sqrt(op.add(variance, eps))), op.reshape(gain, shape)), op.reshape(bias, shape));
}

test('the ResNet blocks follow Table 6: G unpools (zero insertion) before its first conv, D pools after its second, 3x3 conv shortcuts', () => {
  const rng = new Rng(5);
  const g = new Graph();
  const x = g.input('x', [2, 3, 4, 4]);
  const conv = (t: Tensor, w: Tensor, b: Tensor): Tensor => op.conv2d(t, w, b, { pad: 1 });
  const P = (p: Param): Tensor => g.param(p);

  const gb = new ResNetGBlock(3, 5, true, 1e-5, null).nameParams('gb');
  randomize(gb, rng);
  const bnG = (bn: GBatchNorm, t: Tensor): Tensor => normalized(t, P((bn as BatchNorm2d).gain), P((bn as BatchNorm2d).bias), [0, 2, 3], 1e-5);
  const gOut = gb.forward(trainContext(), x, null);
  let h = conv(op.unpoolZeros(op.relu(bnG(gb.bn1, x))), P(gb.conv1.weight), P(gb.conv1.bias));
  h = conv(op.relu(bnG(gb.bn2, h)), P(gb.conv2.weight), P(gb.conv2.bias));
  const gRef = op.add(h, conv(op.unpoolZeros(x), P(gb.shortcut.weight), P(gb.shortcut.bias)));

  const checks: [string, Tensor, Tensor][] = [['G block (up)', gOut, gRef]];
  for (const [norm, axes] of [['layer', [1, 2, 3]], ['batch', [0, 2, 3]]] as const) {
    const db = new ResNetDBlock(3, 5, true, norm, dSpectralNorm(1e-6)).nameParams(`db_${norm}`);
    randomize(db, rng);
    const eps = norm === 'layer' ? 1e-12 : 1e-5;
    const nrm = (m: DNormLayer | undefined, t: Tensor): Tensor => normalized(t, P(m!.gain), P(m!.bias), [...axes], eps);
    // plain convs: no spectral norm under batch / layer norm
    const [c1, c2, sc] = [db.conv1, db.conv2, db.shortcut] as Conv2d[];
    const dOut = db.forward(trainContext(), x);
    let hd = conv(op.relu(nrm(db.norm1, x)), P(c1.weight), P(c1.bias));
    hd = op.avgPool2d(conv(op.relu(nrm(db.norm2, hd)), P(c2.weight), P(c2.bias)), 2);
    checks.push([`D block (down, ${norm} norm)`, dOut, op.add(hd, op.avgPool2d(conv(x, P(sc.weight), P(sc.bias)), 2))]);
  }
  const xv = new Rng(6).fillNormal(new Float32Array(2 * 3 * 4 * 4));
  for (const [what, got, want] of checks) {
    assert.deepEqual(got.shape, want.shape, what);
    const [a, b] = evaluate(g, [got, want], new Map([[x, xv]]));
    assert.ok(maxAbs(b.data) > 0.1, `${what}: reference is degenerate`);
    assert.ok(maxAbs(a.data.map((v, i) => v - b.data[i])) < 1e-9 * maxAbs(b.data), `${what} differs from Table 6`);
  }
});

test('initialisation: weights N(0, 0.02) (compare_gan), biases 0, BN gains 1, class tables 0', () => {
  const a = architecture('resnet-cifar');
  const G = a.buildGenerator(studyOptions('resnet-cifar', 32, 'none', { numClasses: 4, conditional: true }));
  a.initialize(G, new Rng(9));
  for (const [name, p] of G.namedParams()) {
    if (!p.trainable) continue;
    if (/gain\.weight$|bias\.weight$/.test(name)) assert.ok(p.data.every((v) => v === 0), `${name}: a class table`);
    else if (p.shape.length >= 2) {
      const mean = p.data.reduce((s, v) => s + v, 0) / p.data.length;
      const std = Math.sqrt(p.data.reduce((s, v) => s + (v - mean) ** 2, 0) / p.data.length);
      if (p.data.length > 10_000) assert.ok(Math.abs(std - 0.02) < 0.001 && Math.abs(mean) < 0.001, `${name}: mean ${mean}, std ${std}`);
    } else if (/bias$/.test(name)) assert.ok(p.data.every((v) => v === 0), name);
  }
});

test('orthogonal regularisation touches every weight matrix of a landscape G but its class tables', () => {
  const a = architecture('sndcgan');
  const cond = a.buildGenerator(studyOptions('sndcgan', 32, 'spectral', { numClasses: 4, conditional: true, gCh: 4 }));
  const targets = new Set(orthoTargets(cond));
  const tables = cond.namedModules().flatMap(([, m]) => (m instanceof ClassTable ? [m.weight] : []));
  assert.equal(tables.length, 8, 'gain and bias tables of 4 BNs');
  assert.ok(tables.every((p) => !targets.has(p)));
  assert.deepEqual(
    [...targets].map((p) => cond.namedParams().find(([, q]) => q === p)![0]),
    ['linear.weight', 'deconvs.0.weight', 'deconvs.1.weight', 'deconvs.2.weight', 'to_rgb.weight'],
  );
  const plain = a.buildGenerator(studyOptions('sndcgan', 32, 'spectral', { gCh: 4 }));
  assert.equal(orthoTargets(plain).length, 5);
});

test('checkpoints: every new architecture round-trips through its spec (G and D, conditional or not); bad specs are one-line errors', () => {
  const cases: [string, number, DNorm, boolean][] = [
    ['sndcgan', 32, 'none', false],
    ['sndcgan', 128, 'spectral', true],
    ['resnet19', 128, 'layer', false],
    ['resnet-cifar', 32, 'batch', true],
  ];
  for (const [arch, R, dNorm, conditional] of cases) {
    const { G, D } = built(arch, R, dNorm, conditional ? { numClasses: 5, conditional } : {}, 4);
    const file = path.join(tmp, `${arch}-${R}-${dNorm}.safetensors`);
    saveCheckpoint(file, { G, D, classNames: conditional ? ['a', 'b', 'c', 'd', 'e'] : [] });
    const ck = readCheckpoint(file)!;
    assert.equal(ck.G!.arch, arch);
    const g2 = loadGenerator(file).model;
    const d2 = loadDiscriminator(file).model;
    assert.equal(g2.kind, arch);
    assert.equal(g2.numClasses, conditional ? 5 : 1);
    for (const [orig, copy] of [[G, g2], [D, d2]] as const) {
      const a = orig.namedParams();
      const b = new Map(copy.namedParams());
      assert.equal(a.length, b.size, `${arch}: state-dict size`);
      for (const [name, p] of a) assert.deepEqual(b.get(name)!.data, p.data, `${arch} ${name}`);
    }
  }
  const G = { arch: 'sndcgan', role: 'G', config: { resolution: 32, ch: 4, zDim: 16, numClasses: 1, conditional: false, bnEps: 2e-5 } };
  assert.equal(validateGeneratorSpec(G, 'f').arch, 'sndcgan');
  assertUserError(() => validateGeneratorSpec({ ...G, config: { ...G.config, resolution: 64 } }, 'f'), /f: metadata|resolution must be one of 32, 128/);
  assertUserError(() => validateGeneratorSpec({ ...G, config: { ...G.config, numClasses: 3 } }, 'f'), /an unconditional model has numClasses 1, got 3/);
  assertUserError(() => validateGeneratorSpec({ ...G, arch: 'resnet50' }, 'f'), /arch must be one of/);
  const D = { arch: 'sndcgan', role: 'D', config: { resolution: 32, ch: 4, numClasses: 1, conditional: false, norm: 'batch', snEps: 1e-6 } };
  assertUserError(() => validateDiscriminatorSpec(D, 'f'), /norm batch is not available for this architecture \(have spectral, none\)/);
  assert.equal(validateDiscriminatorSpec({ ...D, arch: 'resnet19', config: { ...D.config, resolution: 128 } }, 'f').arch, 'resnet19');
});
