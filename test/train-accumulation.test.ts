/**
 * Gradient accumulation (BigGAN-PyTorch num_D_accumulations / num_G_accumulations) on a
 * tiny BigGAN (32x32, ch 8, batch 2):
 *  - one accumulated D step over two micro-batches against an independent reconstruction:
 *    the existing single D step (traced) run on each micro-batch in turn, with D's weights
 *    and Adam state put back between them but the SN vectors and BN statistics left
 *    advanced (as the accumulated run advances them), gives g1, g2 = ∇(loss/2); torch-style
 *    Adam written out here in float32 on g1 + g2 must give the accumulated step's weights
 *    and moments. The same for the G step: loss gradients summed, the ortho term once,
 *    Adam, then the EMA of every G entry.
 *  - K = 1 runs the existing per-step graphs and gives bit-identical results.
 *  - config, noise layout and the trainer's refusal of accumulation with one graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Param } from '../src/engine/graph.js';
import type { Module } from '../src/nn/module.js';
import { Rng } from '../src/random/rng.js';
import { GanHyper, GanTrainer, type DStepInputs, type GStepInputs } from '../src/train/train-step.js';
import type { AdamState } from '../src/train/optimizer-state.js';
import { buildRunModels, type RunModels } from '../src/train/run/build-models.js';
import { hyperOf, mergeForResume, parseStoredConfig, resolveConfig } from '../src/train/run/config.js';
import { iterationNoise } from '../src/train/run/latents.js';
import { syntheticDataset } from '../src/data/synthetic.js';
import { BatchLoader } from '../src/data/batch-loader.js';
import { assertUserError } from './assert-user-error.js';
import { maxAbs, maxAbsDiff } from './array-diff.js';

const B = 2;
const CLASSES = 4;
const IMG = 3 * 32 * 32;
const f = Math.fround;
const HYPER: GanHyper = {
  gLr: 2e-4,
  dLr: 3e-4,
  betas: [0.5, 0.999],
  adamEps: 1e-6,
  numDSteps: 1,
  // large enough that adding the ortho term once or twice is visible in the check
  orthoBeta: 1e-2,
  orthoVariant: 'biggan',
  emaDecay: 0.9,
  emaStart: 0,
};

/**
 * Tiny models (the demo preset at width 8, no attention). Weights moved off their
 * orthogonal init, whose equal singular values make every SN vector a fixed point of the
 * power iteration (so the vectors advance between micro-batches, as in training); G_ema
 * moved off G so the EMA check means something.
 */
function tinyModels(seed: number): RunModels {
  const m = buildRunModels(resolveConfig({ gCh: 8, dCh: 8, dimZ: 16, sharedDim: 8, batch: B, seed }), CLASSES);
  const rng = new Rng(seed + 100);
  for (const net of [m.G, m.D, m.G_ema]) {
    for (const [, p] of net.namedParams()) if (p.trainable && p.shape.length > 1) p.data = p.data.map((v) => f(v + 0.05 * rng.normal()));
  }
  return m;
}

/** Adam moments away from zero (so each update is a smooth function of the gradient), at step 4. */
function warmAdam(a: AdamState, rng: Rng): void {
  for (const { expAvg, expAvgSq } of a.slots.values()) {
    expAvg.data = expAvg.data.map(() => f(1e-3 * rng.normal()));
    expAvgSq.data = expAvgSq.data.map(() => f(1e-4 * (1 + rng.uniform())));
  }
  a.step = 4;
}

/** D micro-batches: reals from the synthetic dataset, fresh latents and fake labels. */
function dBatches(n: number, rng: Rng): DStepInputs[] {
  const loader = new BatchLoader(syntheticDataset({ numClasses: CLASSES, count: 16, resolution: 32 }), { batchSize: B, seed: 1 });
  return Array.from({ length: n }, () => {
    const b = loader.next();
    return { xReal: b.images, yReal: b.labels, z: rng.fillNormal(new Float32Array(B * 16)), yFake: BigInt64Array.from({ length: B }, () => BigInt(rng.int(CLASSES))) };
  });
}
const gBatch = (rng: Rng): GStepInputs => ({ z: rng.fillNormal(new Float32Array(B * 16)), yFake: BigInt64Array.from({ length: B }, () => BigInt(rng.int(CLASSES))) });

const entries = (...ms: Module[]): Param[] => ms.flatMap((m) => m.namedParams().map(([, p]) => p));
const snapshot = (ps: Param[]): Map<Param, Float32Array> => new Map(ps.map((p) => [p, Float32Array.from(p.data)]));
const restore = (s: Map<Param, Float32Array>, only?: Param[]): void => {
  for (const p of only ?? s.keys()) p.data = Float32Array.from(s.get(p)!);
};


/**
 * Every tensor of `ours` within tol · max |want| of `want` (with a floor of floor · the
 * largest max |want| of the group: gradients that are exactly zero in exact arithmetic,
 * e.g. of conv biases feeding a batch-statistics BN, are float32 noise on both sides).
 */
function close(label: string, ours: Map<Param, Float32Array>, want: Map<Param, Float32Array>, tol: number, floor = 0): void {
  assert.equal(ours.size, want.size, `${label}: tensor count`);
  const scale = Math.max(...[...want.values()].map(maxAbs));
  let worst = 0;
  let at = '';
  const failures: string[] = [];
  for (const [p, w] of want) {
    const o = ours.get(p);
    assert.ok(o, `${label}: no ${p.name}`);
    const ref = Math.max(maxAbs(w), floor * scale, 1e-30);
    const rel = maxAbsDiff(o, w) / ref;
    if (rel > worst) [worst, at] = [rel, p.name];
    if (rel > tol) failures.push(`${p.name}: ${rel.toExponential(2)}`);
  }
  console.log(`${label}: worst ${worst.toExponential(2)} of the tensor max (${at || 'all equal'}), ${want.size} tensors`);
  assert.deepEqual(failures, [], `${label} beyond ${tol}: ${failures.slice(0, 5).join('; ')}`);
}

/** torch.optim.Adam (1.13, single tensor, no weight decay) in float32, written out. */
function torchAdam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, [b1, b2]: [number, number], eps: number, t: number) {
  const stepSize = f(lr / (1 - b1 ** t));
  const bc2Sqrt = f(Math.sqrt(1 - b2 ** t));
  const m2 = m.map((x, i) => f(f(x * f(b1)) + f(g[i] * f(1 - b1))));
  const v2 = v.map((x, i) => f(f(x * f(b2)) + f(f(g[i] * f(1 - b2)) * g[i])));
  const p2 = p.map((x, i) => f(x + f(f(-stepSize * m2[i]) / f(f(f(Math.sqrt(v2[i])) / bc2Sqrt) + f(eps)))));
  return { p: p2, m: m2, v: v2 };
}

type ParamArrays = Map<Param, Float32Array>;

/**
 * One torch-style Adam step of `params` on `grads` from the snapshot `s0`, next to the
 * trainer's state after its step: { want, ours } for weights (p), exp_avg (m), exp_avg_sq (v).
 */
function adamExpectation(optim: AdamState, params: Param[], grads: ParamArrays, s0: ParamArrays, lr: number, t: number) {
  const want = { p: new Map() as ParamArrays, m: new Map() as ParamArrays, v: new Map() as ParamArrays };
  const ours = { p: new Map() as ParamArrays, m: new Map() as ParamArrays, v: new Map() as ParamArrays };
  for (const p of params) {
    const slots = optim.slots.get(p)!;
    const r = torchAdam(s0.get(p)!, grads.get(p)!, s0.get(slots.expAvg)!, s0.get(slots.expAvgSq)!, lr, HYPER.betas, HYPER.adamEps, t);
    want.p.set(p, r.p);
    want.m.set(p, r.m);
    want.v.set(p, r.v);
    ours.p.set(p, p.data);
    ours.m.set(p, slots.expAvg.data);
    ours.v.set(p, slots.expAvgSq.data);
  }
  return { want, ours };
}

/** (g1 + g2) of gradients of the unscaled loss halved: the sum of ∇(loss/2) as torch's `.grad +=` forms it. */
const halfSum = (g1: Float32Array, g2: Float32Array): Float32Array => g1.map((x, i) => f(f(x / 2) + f(g2[i] / 2)));

for (const r1Gamma of [0, 2]) {
  test(`accumulated D step (K = 2${r1Gamma ? ', R1 on' : ''}) = torch-style Adam on g1 + g2 of the single D step run on each micro-batch in turn`, async () => {
    const { G, D, G_ema } = tinyModels(5);
    const trainer = new GanTrainer({ G, D, G_ema, hyper: { ...HYPER, r1Gamma }, batch: B, graphs: 'per-step', runtime: { threads: 1 } });
    const rng = new Rng(11);
    warmAdam(trainer.dOptim, rng);
    const micro = dBatches(2, rng);
    const all = [...entries(G, D, G_ema), ...trainer.dOptim.slotParams()];
    const dTrainable = entries(D).filter((p) => p.trainable);
    const s0 = snapshot(all);
    const step0 = trainer.dOptim.step;

    // the reference: the existing D step on micro-batch 1, D's weights and Adam state put back, then micro-batch 2
    const r1 = await trainer.discriminatorStep(micro[0], { trace: true });
    restore(s0, [...dTrainable, ...trainer.dOptim.slotParams()]);
    trainer.dOptim.step = step0;
    const r2 = await trainer.discriminatorStep(micro[1], { trace: true });
    const buffersAfter = snapshot(entries(G, D).filter((p) => !p.trainable));
    const g1 = r1.trace!.grads;
    const g2 = r2.trace!.grads;

    restore(s0);
    trainer.dOptim.step = step0;
    const acc = await trainer.discriminatorStep(micro, { trace: true });
    assert.equal(trainer.dOptim.step, step0 + 1, 'one Adam step');
    assert.ok(trainer.compileStats().some((s) => s.stage.startsWith('acc:d-grad')) && trainer.compileStats().some((s) => s.stage.startsWith('acc:d-apply')));

    const sum = new Map(dTrainable.map((p) => [p, halfSum(g1.get(p)!, g2.get(p)!)]));
    close('D summed gradient', acc.trace!.grads, sum, 1e-5);
    const { want, ours } = adamExpectation(trainer.dOptim, dTrainable, sum, s0, HYPER.dLr, step0 + 1);
    close('D weights after the step', ours.p, want.p, 1e-5);
    close('D exp_avg', ours.m, want.m, 1e-5);
    close('D exp_avg_sq', ours.v, want.v, 1e-5);
    // the updates themselves (not only the weights they were added to)
    const delta = (m: Map<Param, Float32Array>) => new Map([...m].map(([p, v]) => [p, v.map((x, i) => x - s0.get(p)![i])]));
    close('D updates', delta(ours.p), delta(want.p), 2e-3);
    // SN vectors of D and G, G's BN statistics: as after the second micro-batch; G's weights untouched
    close('buffers (SN, BN) after the step', new Map([...buffersAfter.keys()].map((p) => [p, p.data])), buffersAfter, 1e-5);
    for (const p of [...entries(G).filter((q) => q.trainable), ...entries(G_ema)]) assert.deepEqual(p.data, s0.get(p), `${p.name} changed in a D step`);
    const after = acc.trace!.after;
    assert.ok(dTrainable.every((p) => after.has(p)) && [...after].every(([p, v]) => v === p.data && s0.has(p) && !entries(G_ema).includes(p)), 'trace.after: the G and D entries the step changed');

    // reported: mean of the unscaled micro-batch losses, norm of the summed gradient
    // both hinge terms active in both micro-batches: every part of D's gradient is exercised
    assert.ok([r1, r2].every((r) => r.result.lossReal > 0 && r.result.lossFake > 0), `micro-batch losses ${[r1, r2].map((r) => [r.result.lossReal, r.result.lossFake])}`);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    assert.ok(rel(acc.result.lossReal, (r1.result.lossReal + r2.result.lossReal) / 2) < 1e-6, `loss_real ${acc.result.lossReal}`);
    assert.ok(rel(acc.result.lossFake, (r1.result.lossFake + r2.result.lossFake) / 2) < 1e-6, `loss_fake ${acc.result.lossFake}`);
    const norm = Math.sqrt([...sum.values()].reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
    assert.ok(rel(acc.result.gradNorm, norm) < 1e-5, `grad norm ${acc.result.gradNorm} vs ${norm}`);
    const logits = Float32Array.of(...r1.trace!.dFake, ...r2.trace!.dFake, ...r1.trace!.dReal, ...r2.trace!.dReal);
    assert.ok(maxAbsDiff(Float32Array.of(...acc.trace!.dFake, ...acc.trace!.dReal), logits) <= 1e-5 * maxAbs(logits), 'the micro-batches\' logits, in order');
    if (r1Gamma) assert.ok(rel(acc.result.r1!, (r1.result.r1! + r2.result.r1!) / 2) < 1e-6 && acc.result.r1! > 0, `r1 ${acc.result.r1}`);
    else assert.equal(acc.result.r1, undefined);
    console.log(`D losses real ${acc.result.lossReal.toFixed(4)} fake ${acc.result.lossFake.toFixed(4)}, |g1 + g2| ${norm.toFixed(4)}; |g1| ${r1.result.gradNorm.toFixed(4)} |g2| ${r2.result.gradNorm.toFixed(4)}`);
    await trainer.release();
  });
}

for (const sigmaReg of [false, true]) {
  test(`accumulated G step (K = 2${sigmaReg ? ', σ0 regulariser on' : ''}) = loss gradients summed, ortho term once, torch-style Adam, then EMA of every entry`, async () => {
    const { G, D, G_ema } = tinyModels(4);
    const hyper: GanHyper = sigmaReg ? { ...HYPER, sigmaReg: { target: 0.5 }, sigmaRegStrength: 0.1 } : HYPER;
    const trainer = new GanTrainer({ G, D, G_ema, hyper, batch: B, graphs: 'per-step', runtime: { threads: 1 } });
    const rng = new Rng(12);
    warmAdam(trainer.gOptim, rng);
    trainer.itr = 7;
    const micro = [gBatch(rng), gBatch(rng)];
    const all = [...entries(G, D, G_ema), ...trainer.gOptim.slotParams()];
    const gTrainable = entries(G).filter((p) => p.trainable);
    const s0 = snapshot(all);
    const step0 = trainer.gOptim.step;

    const r1 = await trainer.generatorStep(micro[0], { trace: true });
    restore(s0, [...gTrainable, ...trainer.gOptim.slotParams(), ...entries(G_ema)]);
    trainer.gOptim.step = step0;
    const r2 = await trainer.generatorStep(micro[1], { trace: true });
    const buffersAfter = snapshot(entries(G, D).filter((p) => !p.trainable));
    const ortho = r1.trace!.ortho;
    for (const [p, t] of r2.trace!.ortho) assert.deepEqual(t, ortho.get(p), `ortho term of ${p.name} from the same weights`);

    restore(s0);
    trainer.gOptim.step = step0;
    const acc = await trainer.generatorStep(micro, { trace: true });
    assert.equal(trainer.gOptim.step, step0 + 1, 'one Adam step');
    assert.equal(trainer.itr, 7, 'a step alone does not advance itr');

    const lossSum = new Map(gTrainable.map((p) => [p, halfSum(r1.trace!.lossGrads.get(p)!, r2.trace!.lossGrads.get(p)!)]));
    const total = new Map(gTrainable.map((p) => [p, ortho.has(p) ? lossSum.get(p)!.map((x, i) => f(x + ortho.get(p)![i])) : lossSum.get(p)!]));
    // the check below can tell one ortho term from two
    assert.ok([...ortho].some(([p, t]) => maxAbs(t) > 1e-2 * maxAbs(lossSum.get(p)!)), 'ortho term too small to matter');
    close('G summed loss gradient', acc.trace!.lossGrads, lossSum, 1e-5, 1e-4);
    close('G ortho term', acc.trace!.ortho, ortho, 1e-6);
    close('G gradient Adam consumes', acc.trace!.grads, total, 1e-5, 1e-4);

    const { want, ours } = adamExpectation(trainer.gOptim, gTrainable, total, s0, HYPER.gLr, step0 + 1);
    const newG = want.p;
    close('G weights after the step', ours.p, want.p, 1e-5);
    close('G exp_avg', ours.m, want.m, 1e-5);
    close('G exp_avg_sq', ours.v, want.v, 1e-5);
    close('buffers (SN, BN) after the step', new Map([...buffersAfter.keys()].map((p) => [p, p.data])), buffersAfter, 1e-5);
    for (const p of entries(D)) if (p.trainable) assert.deepEqual(p.data, s0.get(p), `${p.name} changed in a G step`);

    // G_ema = G_ema0 · d + G_new · (1 − d) over every entry, buffers included (decay at itr 7, started)
    const d = f(HYPER.emaDecay);
    const od = f(1 - HYPER.emaDecay);
    const gByPath = new Map(G.namedParams());
    const emaWant = new Map<Param, Float32Array>();
    for (const [path, e] of G_ema.namedParams()) {
      const src = gByPath.get(path)!;
      const gNew = newG.get(src) ?? buffersAfter.get(src)!;
      emaWant.set(e, s0.get(e)!.map((x, i) => f(f(x * d) + f(gNew[i] * od))));
    }
    close('G_ema after the step', new Map(entries(G_ema).map((p) => [p, p.data])), emaWant, 1e-5);

    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    assert.ok(rel(acc.result.loss, (r1.result.loss + r2.result.loss) / 2) < 1e-6, `G loss ${acc.result.loss}`);
    const norm = (m: Map<Param, Float32Array>) => Math.sqrt([...m.values()].reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
    assert.ok(rel(acc.result.gradNorm, norm(lossSum)) < 1e-5, `grad norm ${acc.result.gradNorm} vs ${norm(lossSum)}`);
    assert.ok(rel(acc.result.gradNormWithOrtho, norm(total)) < 1e-5, `grad norm with ortho ${acc.result.gradNormWithOrtho} vs ${norm(total)}`);
    if (sigmaReg) assert.ok(rel(acc.result.sigmaReg!, (r1.result.sigmaReg! + r2.result.sigmaReg!) / 2) < 1e-6 && acc.result.sigmaReg! > 0, `σ0 term ${acc.result.sigmaReg}`);
    else assert.equal(acc.result.sigmaReg, undefined);
    console.log(`G loss ${acc.result.loss.toFixed(4)}, |sum| ${norm(lossSum).toFixed(4)}, with ortho ${norm(total).toFixed(4)}`);
    await trainer.release();
  });
}

test('K = 1: the existing per-step graphs, bit-identical results', async () => {
  const run = async (hyper: GanHyper) => {
    const { G, D, G_ema } = tinyModels(5);
    const trainer = new GanTrainer({ G, D, G_ema, hyper: { ...hyper, numDSteps: 2 }, batch: B, graphs: 'per-step', runtime: { threads: 1 } });
    const rng = new Rng(13);
    const results = [];
    for (let i = 0; i < 2; i++) {
      const xReal = rng.fillNormal(new Float32Array(2 * B * IMG), 0.5);
      const yReal = BigInt64Array.from({ length: 2 * B }, () => BigInt(rng.int(CLASSES)));
      results.push(await trainer.iteration({ xReal, yReal, ...trainer.sampleNoise(rng) }));
    }
    const stages = trainer.compileStats().map((s) => s.stage);
    await trainer.release();
    return { results, stages, state: [...entries(G, D, G_ema), ...trainer.gOptim.slotParams(), ...trainer.dOptim.slotParams()].map((p) => p.data) };
  };
  const plain = await run(HYPER);
  const k1 = await run({ ...HYPER, numDAccumulations: 1, numGAccumulations: 1 });
  assert.deepEqual(k1.stages, plain.stages);
  assert.ok(k1.stages.length === 2 && k1.stages.every((s) => !s.startsWith('acc:')), `stages ${k1.stages}`);
  assert.deepEqual(k1.results, plain.results);
  assert.equal(k1.state.length, plain.state.length);
  k1.state.forEach((a, i) => assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(plain.state[i].buffer, plain.state[i].byteOffset, plain.state[i].byteLength)), `state entry ${i}`));
});

test('accumulation settings: config and flags, resume rules, noise layout, one-graph refusal', async () => {
  const c = resolveConfig({ dAccumulations: 3, gAccumulations: 2 });
  assert.equal(c.graphs, 'per-step');
  assert.equal(hyperOf(c).numDAccumulations, 3);
  assert.equal(hyperOf(c).numGAccumulations, 2);
  assert.equal(resolveConfig({}).dAccumulations, 1);
  assert.equal(resolveConfig({}).gAccumulations, 1);
  assertUserError(() => resolveConfig({ dAccumulations: 0 }), /--d-accumulations must be a positive integer, got 0/);
  assertUserError(() => resolveConfig({ gAccumulations: 1.5 }), /--g-accumulations must be a positive integer/);
  assertUserError(() => resolveConfig({ graphs: 'single', dAccumulations: 2 }), /--graphs single .*--d-accumulations 2/);
  assertUserError(() => resolveConfig({ graphs: 'single', gAccumulations: 4 }), /--graphs single .*--g-accumulations 4/);
  assert.doesNotThrow(() => resolveConfig({ graphs: 'single', dAccumulations: 1 }));
  // stored with the run; a resume keeps them (they fix the effective batch and the data each iteration takes)
  assert.throws(() => mergeForResume(c, { dAccumulations: 1 }), /cannot change .*dAccumulations 3 -> 1/);
  assert.equal(mergeForResume(c, { steps: 10 }).config.gAccumulations, 2);
  // a run saved before accumulation existed resumes without it
  const old: Record<string, unknown> = { ...resolveConfig({}) };
  delete old.dAccumulations;
  delete old.gAccumulations;
  const parsed = parseStoredConfig(old, 'old.safetensors');
  assert.equal(parsed.dAccumulations, 1);
  assert.equal(parsed.gAccumulations, 1);

  // noise: every D micro-batch, then every G micro-batch, from the iteration's one stream
  const spec = { seed: 3, batch: 2, zDim: 4, numClasses: 5, dSteps: 2, latent: 'normal' as const, zStd: 1 };
  const plain = iterationNoise(spec, 7);
  assert.deepEqual(iterationNoise({ ...spec, dAccumulations: 1, gAccumulations: 1 }, 7), plain);
  const acc = iterationNoise({ ...spec, dAccumulations: 2, gAccumulations: 3 }, 7);
  assert.equal(acc.zs.length, 2 * 2 + 3);
  assert.equal(acc.yFakes.length, 7);
  assert.deepEqual(acc.zs.slice(0, 3), plain.zs, 'the same sequence of draws');
  assert.equal(new Set(acc.zs.map((z) => z.join())).size, 7);

  // the trainer: accumulation needs per-step graphs; counts must be positive integers
  const { G, D, G_ema } = tinyModels(6);
  assert.throws(() => new GanTrainer({ G, D, G_ema, hyper: { ...HYPER, numDAccumulations: 2 }, batch: B, graphs: 'single' }), /needs graphs 'per-step'/);
  assert.throws(() => new GanTrainer({ G, D, G_ema, hyper: { ...HYPER, numGAccumulations: 0 }, batch: B, graphs: 'per-step' }), /numGAccumulations must be a positive integer/);
  const t = new GanTrainer({ G, D, G_ema, hyper: { ...HYPER, numDSteps: 2, numDAccumulations: 2, numGAccumulations: 3 }, batch: B, graphs: 'per-step' });
  const noise = t.sampleNoise(new Rng(1));
  assert.equal(noise.zs.length, 2 * 2 + 3);
  await assert.rejects(t.iteration({ xReal: new Float32Array(2 * B * IMG), yReal: new BigInt64Array(2 * B), ...noise }), /xReal: expected 24576 values, got 12288/);
});
