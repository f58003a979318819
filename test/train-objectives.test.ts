/**
 * The study's losses and penalties (src/train/losses.ts, src/train/penalties/):
 *  - every loss's value on known logits against its formula, and its gradient against float64
 *    finite differences;
 *  - every penalty's gradient w.r.t. D's weights — double backprop through a tiny BigGAN D for
 *    WGAN-GP and DRAGAN — from the graph (float64 reference interpreter and onnxruntime float32)
 *    against float64 central finite differences of the penalty itself, along random directions
 *    (as test/train-r1.test.ts does for R1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import { grad } from '../src/engine/autodiff.js';
import { trainContext } from '../src/nn/module.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { Rng } from '../src/random/rng.js';
import { parseDiscriminatorArgs } from '../src/models/biggan-config.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import { LOSSES, LOSS_NAMES } from '../src/train/losses.js';
import { PENALTIES, weightKernels, type Penalty } from '../src/train/penalties/penalties.js';
import { slopePenalty } from '../src/train/penalties/gradient-slope.js';
import { evaluate, RefValue } from './reference-interpreter.js';
import { runOrt } from './ort-eval.js';
import { checkDirectionalDerivatives } from './directional-check.js';

const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const mean = (a: number[], f: (x: number) => number): number => a.reduce((s, x) => s + f(x), 0) / a.length;

const EXPECTED: Record<string, { d: (r: number[], f: number[]) => number; g: (f: number[]) => number }> = {
  hinge: { d: (r, f) => mean(r, (x) => Math.max(0, 1 - x)) + mean(f, (x) => Math.max(0, 1 + x)), g: (f) => -mean(f, (x) => x) },
  ns: { d: (r, f) => mean(r, (x) => softplus(-x)) + mean(f, softplus), g: (f) => mean(f, (x) => softplus(-x)) },
  minimax: { d: (r, f) => mean(r, (x) => softplus(-x)) + mean(f, softplus), g: (f) => -mean(f, softplus) },
  wgan: { d: (r, f) => -mean(r, (x) => x) + mean(f, (x) => x), g: (f) => -mean(f, (x) => x) },
  ls: { d: (r, f) => 0.5 * mean(r, (x) => (sig(x) - 1) ** 2) + 0.5 * mean(f, (x) => sig(x) ** 2), g: (f) => 0.5 * mean(f, (x) => (sig(x) - 1) ** 2) },
};

test('losses: values on known logits match the study\'s formulas, gradients match finite differences', () => {
  const real = [2.5, -0.3, 0.7, -1.9, 0.05];
  const fake = [-2.2, 0.4, 1.3, -0.6, 3.1];
  assert.deepEqual(LOSS_NAMES.sort(), Object.keys(EXPECTED).sort());
  for (const name of LOSS_NAMES) {
    const g = new Graph();
    const lr = g.input('lr', [5, 1]);
    const lf = g.input('lf', [5, 1]);
    const d = LOSSES[name].discriminator(lf, lr);
    const gl = LOSSES[name].generator(lf);
    const [dlr, dlf] = grad(d.total, [lr, lf]);
    const [glf] = grad(gl, [lf]);
    const at = (r: number[], f: number[]): RefValue[] => evaluate(g, [d.total, gl, dlr, dlf, glf], new Map([[lr, r], [lf, f]]));
    const v = at(real, fake);
    assert.ok(Math.abs(v[0].data[0] - EXPECTED[name].d(real, fake)) < 1e-12, `${name}: D loss`);
    assert.ok(Math.abs(v[1].data[0] - EXPECTED[name].g(fake)) < 1e-12, `${name}: G loss`);
    const h = 1e-6;
    for (let i = 0; i < 5; i++) {
      const bump = (a: number[], s: number): number[] => a.map((x, j) => (j === i ? x + s : x));
      const fdR = (EXPECTED[name].d(bump(real, h), fake) - EXPECTED[name].d(bump(real, -h), fake)) / (2 * h);
      const fdF = (EXPECTED[name].d(real, bump(fake, h)) - EXPECTED[name].d(real, bump(fake, -h))) / (2 * h);
      const fdG = (EXPECTED[name].g(bump(fake, h)) - EXPECTED[name].g(bump(fake, -h))) / (2 * h);
      assert.ok(Math.abs(v[2].data[i] - fdR) < 1e-7, `${name}: dD/dl_r[${i}] ${v[2].data[i]} vs ${fdR}`);
      assert.ok(Math.abs(v[3].data[i] - fdF) < 1e-7, `${name}: dD/dl_f[${i}]`);
      assert.ok(Math.abs(v[4].data[i] - fdG) < 1e-7, `${name}: dG/dl_f[${i}]`);
    }
  }
});

const CLASSES = 4;
const B = 2;
const SHAPE = [B, 3, 32, 32];
const N = B * 3 * 32 * 32;

function tinyD(seed: number): BigGANDiscriminator {
  const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: 32, D_ch: 2, n_classes: CLASSES, D_attn: '16' }));
  initOrthogonal(D, new Rng(seed));
  initSpectralVectors(D);
  for (const a of D.attention) if (a) a.gamma.data.fill(0.7);
  return D;
}



/** The penalty of D as the D step builds it, for fixed real, fake, labels and noise. */
function penaltyGraph(penalty: Penalty, D: BigGANDiscriminator, wrt: Param[]) {
  const g = new Graph();
  const real = g.input('real', SHAPE);
  const fake = g.input('fake', SHAPE);
  const y = g.input('y', [B], 'int64');
  const noiseShape = penalty.noiseShape(SHAPE);
  const noise = g.input('noise', noiseShape ?? [1]);
  let value: Tensor;
  if (penalty.points) {
    const points = penalty.points({ real, fake, noise });
    value = slopePenalty(D.forward(trainContext(), points, y), points);
  } else {
    const ctx = trainContext();
    D.forward(ctx, real, y); // the weights as the D step sees them
    value = penalty.weights!(weightKernels(D).map((p) => g.param(p)));
  }
  const grads = grad(value, wrt.map((p) => g.param(p)));
  return { g, real, fake, y, noise, value, grads, noiseLength: (noiseShape ?? [1]).reduce((a, b) => a * b, 1) };
}

for (const name of ['wgan-gp', 'dragan', 'l2'] as const) {
  test(`penalty ${name}: dP/dθ (double backprop where it has one) vs float64 finite differences`, async () => {
    const penalty: Penalty = PENALTIES[name];
    const D = tinyD(3).nameParams('D');
    const byName = new Map(D.namedParams());
    const names = ['blocks.0.conv1.w.weight', 'blocks.1.conv2.w.weight', 'attention.1.phi.w.weight', 'linear.w.weight', 'embed.w.weight'];
    const wrt = names.map((n) => byName.get(n)!);
    const pg = penaltyGraph(penalty, D, wrt);
    const rng = new Rng(5);
    const realData = rng.fillNormal(new Float32Array(N), 0.5).map((v) => Math.max(-1, Math.min(1, v)));
    const fakeData = rng.fillNormal(new Float32Array(N), 0.5);
    const noiseData = Float32Array.from({ length: pg.noiseLength }, () => rng.uniform());
    const labels = BigInt64Array.from({ length: B }, (_, i) => BigInt((i * 3) % CLASSES));
    const ort = await runOrt(pg.g, Object.fromEntries([['p', pg.value], ...pg.grads.map((t, i) => [`d${i}`, t] as const)]), { real: realData, fake: fakeData, noise: noiseData, y: labels });

    const stops = pg.g.nodes.filter((n) => n.op === 'Identity' && n.attrs._stopGradient).map((n) => n.outputs[0]);
    const baseFeeds = new Map<Tensor, ArrayLike<number> | BigInt64Array>([[pg.real, realData], [pg.fake, fakeData], [pg.noise, noiseData], [pg.y, labels]]);
    const pinned = new Map<Tensor, RefValue>();
    evaluate(pg.g, stops, baseFeeds).forEach((v, i) => pinned.set(stops[i], v));
    const ref = evaluate(pg.g, [pg.value, ...pg.grads], baseFeeds, pinned);
    const value = ref[0].data[0];
    assert.ok(value > 1e-6, `${name} is not trivially zero (${value})`);
    assert.ok(Math.abs(ort.p[0] - value) <= 1e-4 * value, `${name}: onnxruntime ${ort.p[0]} vs float64 ${value}`);

    const results = checkDirectionalDerivatives({
      g: pg.g, value: pg.value, valueAt: value, wrt, names, feeds: baseFeeds, pinned,
      grads64: ref.slice(1), grads32: wrt.map((_, j) => ort[`d${j}`]), label: `penalty ${name}`,
    });
    for (const { what, scale } of results) {
      // l2 is over weight kernels only: class embeddings are not among them
      if (name === 'l2' && what === 'embed.w.weight') assert.equal(scale, 0, 'l2 leaves the class embedding alone');
      else assert.ok(scale > 0, `${name}: the penalty depends on ${what}`);
    }
  });
}

test('penalty points: WGAN-GP interpolates, DRAGAN perturbs within ±σ/2 and clips to [-1, 1]', () => {
  const g = new Graph();
  const real = g.input('real', [2, 1, 1, 2]);
  const fake = g.input('fake', [2, 1, 1, 2]);
  const alpha = g.input('alpha', [2, 1, 1, 1]);
  const u = g.input('u', [2, 1, 1, 2]);
  const gp = PENALTIES['wgan-gp'].points({ real, fake, noise: alpha });
  const dr = PENALTIES.dragan.points({ real, fake, noise: u });
  const r = [0.2, -0.4, 0.9, 1];
  const [gpv, drv] = evaluate(g, [gp, dr], new Map([[real, r], [fake, [1, 1, -1, -1]], [alpha, [0.25, 0.5]], [u, [0, 1, 0.5, 0.99]]]));
  assert.deepEqual([...gpv.data].map((v) => +v.toFixed(12)), [0.4, -0.05, -0.05, 0]);
  const m = r.reduce((a, b) => a + b) / 4;
  const std = Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
  const want = [0.2 - 0.5 * std, -0.4 + 0.5 * std, 0.9, Math.min(1, 1 + 0.49 * std)];
  [...drv.data].forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `dragan point ${i}: ${v} vs ${want[i]}`));
});
