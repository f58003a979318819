/**
 * The R1 gradient penalty on a tiny BigGAN D (32x32, 8 channels, self-attention after
 * every block, attention gamma non-zero so the max-pool path counts):
 *  - dR1/dθ from the double-backprop graph (onnxruntime float32, and the same graph in
 *    float64 through the reference interpreter) against float64 central finite
 *    differences of R1 itself, computed by the reference interpreter. Finite
 *    differences are taken along a few random directions in parameter space
 *    (⟨∇R1, v⟩ vs (R1(θ+hv) − R1(θ−hv)) / 2h): two interpreter evaluations per check
 *    instead of two per parameter element, yet every element of the chosen tensors is
 *    exercised. R1 is piecewise smooth (ReLU masks and max-pool argmaxes make ∂D/∂x
 *    piecewise constant in their switching), so h is kept small (1e-6) to stay inside
 *    one piece; the tolerance adds the float64 rounding of R1 over 2h.
 *  - the training step with r1Gamma > 0: its D gradient minus the r1Gamma = 0 gradient
 *    equals γ/2 · dR1/dθ, and the step reports R1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import { grad } from '../src/engine/autodiff.js';
import { Module, trainContext } from '../src/nn/module.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { Rng } from '../src/random/rng.js';
import { parseDiscriminatorArgs, parseGeneratorArgs } from '../src/models/biggan-config.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { r1Penalty } from '../src/train/r1-penalty.js';
import { GanHyper, GanTrainer } from '../src/train/train-step.js';
import { evaluate, RefValue } from './reference-interpreter.js';
import { runOrt } from './ort-eval.js';
import { checkDirectionalDerivatives } from './directional-check.js';

const CLASSES = 4;
const B = 2;
const IMG = 3 * 32 * 32;

function tinyD(seed: number): BigGANDiscriminator {
  const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: 32, D_ch: 2, n_classes: CLASSES, D_attn: '16' }));
  initOrthogonal(D, new Rng(seed));
  initSpectralVectors(D);
  for (const a of D.attention) if (a) a.gamma.data.fill(0.7);
  return D;
}

const images = (seed: number): Float32Array => new Rng(seed).fillNormal(new Float32Array(B * IMG), 0.5);
const labels = BigInt64Array.from({ length: B }, (_, i) => BigInt((i * 3) % CLASSES));

/** R1 of D on x and its gradient w.r.t. `wrt`, in one graph as the training step builds it. */
function r1Graph(D: BigGANDiscriminator, wrt: Param[]) {
  const g = new Graph();
  const x = g.input('x', [B, 3, 32, 32]);
  const y = g.input('y', [B], 'int64');
  const r1 = r1Penalty(D.forward(trainContext(), x, y), x);
  const grads = grad(r1, wrt.map((p) => g.param(p)));
  return { g, x, y, r1, grads };
}



test('R1 penalty: dR1/dθ through conv, relu, avg-pool, self-attention (max-pool, softmax), SN and projection vs float64 finite differences', async () => {
  const D = tinyD(3).nameParams('D');
  const byName = new Map(D.namedParams());
  const names = ['blocks.0.conv1.w.weight', 'blocks.1.conv2.w.weight', 'attention.1.phi.w.weight', 'attention.2.g.w.weight', 'attention.3.gamma', 'linear.w.weight', 'embed.w.weight'];
  const wrt = names.map((n) => {
    const p = byName.get(n);
    assert.ok(p && p.trainable, `D has a trainable ${n}`);
    return p;
  });
  const { g, x, y, r1, grads } = r1Graph(D, wrt);
  const xData = images(5);
  const ort = await runOrt(g, Object.fromEntries([['r1', r1], ...grads.map((t, i) => [`d${i}`, t] as const)]), { x: xData, y: labels });

  // float64: stop-gradient values (the SN power iteration) pinned, as the gradient assumes
  const stops = g.nodes.filter((n) => n.op === 'Identity' && n.attrs._stopGradient).map((n) => n.outputs[0]);
  const baseFeeds = new Map<Tensor, ArrayLike<number> | BigInt64Array>([
    [x, xData],
    [y, labels],
  ]);
  const pinned = new Map<Tensor, RefValue>();
  evaluate(g, stops, baseFeeds).forEach((v, i) => pinned.set(stops[i], v));
  const ref = evaluate(g, [r1, ...grads], baseFeeds, pinned);
  const r1Value = ref[0].data[0];
  assert.ok(r1Value > 1e-6, `R1 is not trivially zero (${r1Value})`);
  assert.ok(Math.abs(ort.r1[0] - r1Value) <= 1e-4 * r1Value, `R1 onnxruntime ${ort.r1[0]} vs float64 ${r1Value}`);

  checkDirectionalDerivatives({
    g, value: r1, valueAt: r1Value, wrt, names, feeds: baseFeeds, pinned,
    grads64: ref.slice(1), grads32: wrt.map((_, j) => ort[`d${j}`]), label: 'R1',
  });
});

const HYPER: GanHyper = {
  gLr: 1e-4,
  dLr: 4e-4,
  betas: [0, 0.999],
  adamEps: 1e-6,
  numDSteps: 1,
  orthoBeta: 0,
  orthoVariant: 'none',
  emaDecay: 0.999,
  emaStart: 0,
};

test('training step with r1Gamma > 0: D gradient = hinge gradient + γ/2 · dR1/dθ, R1 reported, and a full iteration runs', async () => {
  const G = new BigGANGenerator(parseGeneratorArgs({ resolution: 32, G_ch: 2, dim_z: 8, n_classes: CLASSES, G_attn: '0', G_shared: true, shared_dim: 8, hier: true }));
  initOrthogonal(G, new Rng(1));
  initSpectralVectors(G as Module);
  const D = tinyD(4);
  const gamma = 10;
  const xReal = images(6);
  const z = new Rng(8).fillNormal(new Float32Array(B * 8));
  const snapshot = new Map([...G.namedParams(), ...D.namedParams()].map(([, p]) => [p, Float32Array.from(p.data)] as const));
  const restore = (): void => snapshot.forEach((v, p) => (p.data = Float32Array.from(v)));
  const stepWith = async (r1Gamma: number) => {
    restore();
    const trainer = new GanTrainer({ G, D, batch: B, hyper: { ...HYPER, r1Gamma }, graphs: 'per-step' });
    try {
      return await trainer.discriminatorStep({ xReal, yReal: labels, z, yFake: labels }, { trace: true });
    } finally {
      await trainer.release();
    }
  };
  const off = await stepWith(0);
  const on = await stepWith(gamma);
  assert.equal(off.result.r1, undefined, 'no R1 reported when off');
  assert.ok(on.result.r1 !== undefined && on.result.r1 > 0, `R1 reported: ${on.result.r1}`);
  assert.equal(on.result.lossReal, off.result.lossReal);

  // dR1/dθ on the state before the step (same weights, same SN vectors as the step's forward)
  restore();
  const dTrainable = D.namedParams().map(([, p]) => p).filter((p) => p.trainable);
  const { g, r1, grads } = r1Graph(D, dTrainable);
  const ref = await runOrt(g, Object.fromEntries([['r1', r1], ...grads.map((t, i) => [`d${i}`, t] as const)]), { x: xReal, y: labels });
  assert.ok(Math.abs(ref.r1[0] - on.result.r1!) <= 1e-5 * ref.r1[0], `R1 of the step ${on.result.r1} vs standalone ${ref.r1[0]}`);
  let worst = 0;
  let scale = 0;
  dTrainable.forEach((p, i) => {
    const a = on.trace!.grads.get(p)!;
    const b = off.trace!.grads.get(p)!;
    const want = ref[`d${i}`];
    for (let j = 0; j < want.length; j++) {
      worst = Math.max(worst, Math.abs(a[j] - b[j] - (gamma / 2) * want[j]));
      scale = Math.max(scale, Math.abs((gamma / 2) * want[j]), Math.abs(b[j]));
    }
  });
  console.log(`R1 ${on.result.r1?.toExponential(4)}; max |Δgrad − γ/2·dR1/dθ| ${worst.toExponential(3)} (scale ${scale.toExponential(3)})`);
  assert.ok(scale > 0 && worst <= 2e-4 * scale, `D gradient difference vs γ/2 · dR1/dθ: ${worst} (scale ${scale})`);

  // a full iteration in one graph with R1 on
  restore();
  const trainer = new GanTrainer({ G, D, batch: B, hyper: { ...HYPER, r1Gamma: gamma } });
  const r = await trainer.iteration({ xReal, yReal: labels, ...trainer.sampleNoise(new Rng(9)) });
  assert.ok(r.dSteps.every((s) => s.r1 !== undefined && Number.isFinite(s.r1)) && Number.isFinite(r.gLoss));
  await trainer.release();
});
