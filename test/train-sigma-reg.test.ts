/**
 * σ0 regularisation of G (β_σ Σ (σ0(W) − target)², σ0 = the forward's spectral-norm σ):
 *  - the term's gradient w.r.t. one SN weight (both flavours of SN) against float64
 *    central finite differences through the reference interpreter, the power-iteration
 *    vectors held fixed (stopGradient), as the gradient means them;
 *  - a few G steps with a large strength pull every layer's σ0 towards the target, in the
 *    fixed and the ratio (r · σ1 from JavaScript) forms; the step reports the term.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import { grad } from '../src/engine/autodiff.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, Feed } from '../src/engine/runtime.js';
import { ForwardContext, Module, trainContext } from '../src/nn/module.js';
import { SNConfig, SNConv2d } from '../src/nn/spectral-norm.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { Rng } from '../src/random/rng.js';
import { parseDiscriminatorArgs, parseGeneratorArgs } from '../src/models/biggan-config.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { secondSingularValue, sigmaRegPenalty, sigmaRegWeights } from '../src/train/sigma-regularization.js';
import { topSingularValues } from '../src/train/run/singular-values.js';
import { GanHyper, GanTrainer } from '../src/train/train-step.js';
import { evaluate, RefValue } from './reference-interpreter.js';

for (const flavour of ['ajbrock', 'torch'] as const) {
  test(`σ0 regulariser (${flavour} SN): d/dW of (σ0(W) − t)² vs float64 finite differences`, async () => {
    const sn: SNConfig = { flavour, eps: 1e-12 };
    const conv = new SNConv2d(3, 4, 3, sn);
    initOrthogonal(conv as Module, new Rng(2));
    conv.w.weight.data = conv.w.weight.data.map((v, i) => v * (1 + 0.3 * Math.sin(i)));
    const g = new Graph();
    const x = g.input('x', [1, 3, 4, 4]);
    const ctx: ForwardContext = { ...trainContext(), sigmas: new Map() };
    conv.forward(ctx, x);
    const sigma = ctx.sigmas!.get(conv.w.weight)!;
    assert.ok(sigma, 'the forward recorded σ');
    const target = g.input('target', [1]);
    const penalty = sigmaRegPenalty([sigma], target);
    const W = g.param(conv.w.weight);
    const [dW] = grad(penalty, [W]);
    const t = Float32Array.of(0.5);

    const model = exportOnnx(g, { outputs: { penalty, dW }, paramInputs: 'all' });
    const feeds: Record<string, Feed> = { target: t };
    for (const inp of model.inputs) if (inp.param) feeds[inp.name] = inp.param.data;
    const cg = await CompiledGraph.create(model, { threads: 1 });
    const ort = (await cg.run(feeds)) as Record<string, Float32Array>;
    await cg.release();

    const stops = g.nodes.filter((n) => n.op === 'Identity' && n.attrs._stopGradient).map((n) => n.outputs[0]);
    const base = new Map<Tensor, ArrayLike<number>>([[target, t]]);
    const pinned = new Map<Tensor, RefValue>();
    if (stops.length) evaluate(g, stops, base).forEach((v, i) => pinned.set(stops[i], v));
    const w0 = Float64Array.from(conv.w.weight.data);
    const H = 1e-6;
    const at = (i: number, d: number): number => {
      const w = Float64Array.from(w0);
      w[i] += d;
      return evaluate(g, [penalty], new Map([...base, [W, w]]), pinned)[0].data[0];
    };
    const fd = Array.from(w0, (_, i) => (at(i, H) - at(i, -H)) / (2 * H));
    const ref = evaluate(g, [dW], base, pinned)[0].data;
    const scale = Math.max(...fd.map(Math.abs));
    assert.ok(scale > 1e-3, `non-trivial gradient (${scale})`);
    for (let i = 0; i < fd.length; i++) {
      assert.ok(Math.abs(ref[i] - fd[i]) <= 1e-7 * scale, `float64 graph dW[${i}] ${ref[i]} vs ${fd[i]}`);
      assert.ok(Math.abs(ort.dW[i] - fd[i]) <= 1e-4 * scale, `onnxruntime dW[${i}] ${ort.dW[i]} vs ${fd[i]}`);
    }
  });
}

const HYPER: GanHyper = {
  gLr: 1e-2,
  dLr: 1e-4,
  betas: [0, 0.999],
  adamEps: 1e-6,
  numDSteps: 1,
  orthoBeta: 0,
  orthoVariant: 'none',
  emaDecay: 0.999,
  emaStart: 0,
};

function tinyNets(): { G: BigGANGenerator; D: BigGANDiscriminator } {
  const G = new BigGANGenerator(parseGeneratorArgs({ resolution: 32, G_ch: 2, dim_z: 8, n_classes: 4, G_attn: '0', G_shared: true, shared_dim: 8, hier: true }));
  const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: 32, D_ch: 2, n_classes: 4, D_attn: '0' }));
  for (const m of [G, D] as Module[]) {
    initOrthogonal(m, new Rng(5));
    initSpectralVectors(m);
  }
  return { G, D };
}

const sigma0 = (p: Param): number => topSingularValues(p.data, p.shape[0], p.data.length / p.shape[0], { k: 1 }).values[0];

for (const form of ['target', 'ratio'] as const) {
  test(`σ0 regulariser (${form} form): a few G steps with a large strength pull σ0 of every SN weight of G towards the target`, async () => {
    const { G, D } = tinyNets();
    const weights = sigmaRegWeights(G);
    assert.ok(weights.length > 5, `G has SN weights (${weights.length})`);
    const targetOf = (p: Param): number => (form === 'target' ? 2 : 1.5 * secondSingularValue(p));
    const targets = new Map(weights.map((p) => [p, targetOf(p)]));
    const dist0 = weights.map((p) => Math.abs(sigma0(p) - targets.get(p)!));
    const trainer = new GanTrainer({
      G,
      D,
      batch: 2,
      hyper: { ...HYPER, sigmaReg: form === 'target' ? { target: 2 } : { ratio: 1.5 }, sigmaRegStrength: 100 },
      graphs: 'per-step',
    });
    if (form === 'ratio') trainer.setSigma1(new Map(weights.map((p) => [p, secondSingularValue(p)])));
    const rng = new Rng(3);
    const reported: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { zs, yFakes } = trainer.sampleNoise(rng);
      reported.push((await trainer.generatorStep({ z: zs[0], yFake: yFakes[0] })).result.sigmaReg!);
    }
    await trainer.release();
    const dist1 = weights.map((p) => Math.abs(sigma0(p) - targets.get(p)!));
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    console.log(`${form}: mean |σ0 − target| ${mean(dist0).toFixed(4)} → ${mean(dist1).toFixed(4)}; reported term ${reported.map((v) => v.toFixed(3)).join(' ')}`);
    assert.ok(reported.every(Number.isFinite) && reported[reported.length - 1] < reported[0], 'the reported term falls');
    assert.ok(mean(dist1) < 0.7 * mean(dist0), 'σ0 moves towards the target');
    assert.ok(weights.filter((p, i) => dist1[i] < dist0[i]).length >= 0.9 * weights.length, 'nearly every layer moves towards it');
  });
}
