/**
 * The training iteration against BigGAN-PyTorch's one-iteration fixture (32x32, ch 8,
 * batch 8, 2 D steps, ortho, EMA): every stage compared with the tolerances of the
 * fixture README ("max |ours - ref| <= tol * max |ref|" per tensor, per group), from
 * initial/ in one graph, and stage by stage from the stored *_after states with the
 * per-step graphs. Plus: ortho variants and EMA schedule, optimizer-state round trip,
 * and a BigGAN-deep smoke test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Graph, Param } from '../src/engine/graph.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph } from '../src/engine/runtime.js';
import { readNpy } from '../src/io/npy.js';
import { readStateDict } from '../src/io/state-dict-file.js';
import type { NdArray } from '../src/io/ndarray.js';
import { Module } from '../src/nn/module.js';
import { Rng } from '../src/random/rng.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { parseDiscriminatorArgs, parseGeneratorArgs, splitConstructorArgs } from '../src/models/biggan-config.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import { BigGanDeepGenerator } from '../src/models/biggan-deep-generator.js';
import { BigGanDeepDiscriminator } from '../src/models/biggan-deep-discriminator.js';
import { bigGanDeepConfig } from '../src/models/biggan-deep-config.js';
import { loadBigGANPyTorch, ourNameToBgp } from '../src/models/layouts/biggan-pytorch.js';
import { GanHyper, GanTrainer, IterationInputs } from '../src/train/train-step.js';
import { orthoGradient, orthoScale, orthoTargets } from '../src/train/orthogonal-regularization.js';
import { emaDecayAt } from '../src/train/ema.js';
import { AdamState } from '../src/train/optimizer-state.js';
import { PT_REF } from './fixture-paths.js';
import { maxAbs, maxAbsDiff } from './array-diff.js';

const DIR = path.join(PT_REF, 'ajbrock-biggan-32-train-step');
const fixture = JSON.parse(fs.readFileSync(path.join(DIR, 'fixture.json'), 'utf8'));
const ARGS = splitConstructorArgs(fixture.full_upstream_config, 'fixture.json');
const HP = fixture.hyperparameters;
const HYPER: GanHyper = {
  gLr: HP.G_lr,
  dLr: HP.D_lr,
  betas: [HP.G_B1, HP.G_B2],
  dBetas: [HP.D_B1, HP.D_B2],
  adamEps: HP.adam_eps,
  numDSteps: HP.num_D_steps,
  orthoBeta: HP.G_ortho,
  orthoVariant: 'biggan',
  emaDecay: HP.ema_decay,
  emaStart: HP.ema_start,
};
const B = HP.batch_size as number;

const npy = (f: string): NdArray => readNpy(path.join(DIR, f));
const stateFile = (f: string): Map<string, NdArray> => readStateDict(path.join(DIR, f));
const INPUTS: IterationInputs = {
  xReal: npy('inputs/00_x_real.npy').data as Float32Array,
  yReal: npy('inputs/01_y_real.npy').data as BigInt64Array,
  zs: ['02_Dstep0_z', '04_Dstep1_z', '06_Gstep_z'].map((f) => npy(`inputs/${f}.npy`).data as Float32Array),
  yFakes: ['03_Dstep0_y_fake', '05_Dstep1_y_fake', '07_Gstep_y_fake'].map((f) => npy(`inputs/${f}.npy`).data as BigInt64Array),
};
const IMG = 3 * 32 * 32;
const dStepInputs = (k: number) => ({
  xReal: INPUTS.xReal.subarray(k * B * IMG, (k + 1) * B * IMG),
  yReal: INPUTS.yReal.subarray(k * B, (k + 1) * B),
  z: INPUTS.zs[k],
  yFake: INPUTS.yFakes[k],
});

// ---- the fixture's models and the groups / tolerances of its README ----

interface Nets {
  G: BigGANGenerator;
  D: BigGANDiscriminator;
  E: BigGANGenerator;
  /** Param → BGP key (state-dict name upstream). */
  bgp: Map<Param, string>;
}

function fixtureModels(stage: 'initial' | 'Dstep0' | 'Dstep1'): Nets {
  const G = new BigGANGenerator(parseGeneratorArgs(ARGS.G));
  const D = new BigGANDiscriminator(parseDiscriminatorArgs(ARGS.D));
  const E = new BigGANGenerator(parseGeneratorArgs(ARGS.G));
  loadStage({ G, D, E, bgp: new Map() }, stage);
  const bgp = new Map<Param, string>();
  for (const m of [G, D, E] as Module[]) for (const [name, p] of m.namedParams()) bgp.set(p, ourNameToBgp(name));
  return { G, D, E, bgp };
}

function loadStage(n: Nets, stage: 'initial' | 'Dstep0' | 'Dstep1'): void {
  const after = stage === 'initial' ? '' : '_after';
  loadBigGANPyTorch(n.G, stateFile(`${stage}/G${after}.safetensors`), `${stage}/G`);
  loadBigGANPyTorch(n.D, stateFile(`${stage}/D${after}.safetensors`), `${stage}/D`);
  loadBigGANPyTorch(n.E, stateFile('initial/G_ema.safetensors'), 'initial/G_ema');
}

/** Conv biases feeding only a batch-statistics BN: exact gradient 0, float32 noise both sides (README quirk 15). */
const CANCELLED = new Set(['blocks.0.0.conv1.bias', 'blocks.1.0.conv1.bias', 'blocks.2.0.conv1.bias', 'blocks.2.0.conv2.bias', 'blocks.2.0.conv_sc.bias']);

function gGroup(key: string): string {
  if (CANCELLED.has(key)) return 'BN-cancelled biases';
  if (key === 'shared.weight') return 'shared_embedding';
  if (key.startsWith('linear.')) return key.endsWith('.u0') ? 'u0' : key.endsWith('.sv0') ? 'sv0' : 'linear';
  if (key.endsWith('.u0')) return 'u0';
  if (key.endsWith('.sv0')) return 'sv0';
  if (key.endsWith('stored_mean')) return 'stored_mean';
  if (key.endsWith('stored_var')) return 'stored_var';
  if (key.startsWith('output_layer.0.')) return 'output_bn_gain_bias';
  if (key.startsWith('output_layer.2.')) return 'output_conv';
  if (/^blocks\.\d+\.1\./.test(key)) return 'attention';
  if (/\.bn\d\.(gain|bias)\.weight$/.test(key)) return 'ccbn_gain_bias_linears';
  if (/\.conv(1|2|_sc)\.weight$/.test(key)) return 'conv_weights';
  if (/\.conv(1|2|_sc)\.bias$/.test(key)) return 'conv_biases';
  throw new Error(`no group for G ${key}`);
}

function dGroup(key: string): string {
  if (key.endsWith('.u0')) return 'u0';
  if (key.endsWith('.sv0')) return 'sv0';
  if (/^blocks\.\d+\.1\./.test(key)) return 'attention';
  if (key.startsWith('linear.')) return 'linear';
  if (key.startsWith('embed.')) return 'D_embed(SN)';
  if (/\.weight$/.test(key)) return 'conv_weights';
  if (/\.bias$/.test(key)) return 'conv_biases';
  throw new Error(`no group for D ${key}`);
}

/** Suggested tolerances (fraction of the tensor max) of the README's gradient tables. */
const G_GRAD_TOL: Record<string, number> = {
  shared_embedding: 1e-5, linear: 1e-5, conv_weights: 2.5e-5, conv_biases: 2.5e-4, ccbn_gain_bias_linears: 1e-5,
  attention: 1e-5, output_bn_gain_bias: 1e-5, output_conv: 1e-5,
};
const D_GRAD_TOL: Record<string, number> = { conv_weights: 2.5e-5, conv_biases: 2.5e-5, attention: 1e-5, linear: 1e-5, 'D_embed(SN)': 1e-5 };
const STATE_TOL = 5e-5;

/** G parameters whose gradient passes through the max-pool of the G attention's g conv (see the restart test). */
const tieAffected = (key: string): boolean => /^(shared|linear|blocks\.[01]\.0)\./.test(key) || key === 'blocks.1.1.g.weight';
const EXP_AVG_SQ_TOL = 2.5e-4;


/**
 * Compares ours (Param → values) with a reference file's tensors (BGP keys): every
 * tensor within tol(group) of its max |ref|. Logs the worst "max diff / tensor max"
 * per group (the README's unit). `cancelledBound`: for the BN-cancelled biases, only
 * require max |ours| <= that (their reference is noise).
 */
function compare(
  label: string,
  n: Nets,
  ours: Map<Param, Float32Array>,
  ref: Map<string, NdArray>,
  group: (key: string) => string,
  tol: (group: string, key: string) => number,
  opts: { cancelledBound?: number; expectCount?: number } = {},
): void {
  const worst = new Map<string, { v: number; at: string; count: number }>();
  const failures: string[] = [];
  for (const [p, v] of ours) {
    const key = n.bgp.get(p)!;
    const want = ref.get(key);
    assert.ok(want, `${label}: reference lacks ${key}`);
    const grp = group(key);
    let rel: number;
    if (grp === 'BN-cancelled biases' && opts.cancelledBound !== undefined) {
      rel = maxAbs(v);
      if (rel > opts.cancelledBound) failures.push(`${key}: |ours| ${rel.toExponential(2)} > ${opts.cancelledBound.toExponential(2)}`);
    } else {
      rel = maxAbsDiff(v, want.data as Float32Array) / Math.max(maxAbs(want.data as Float32Array), 1e-30);
      if (rel > tol(grp, key)) failures.push(`${key} (${grp}): ${rel.toExponential(2)} > ${tol(grp, key)}`);
    }
    const w = worst.get(grp) ?? { v: 0, at: '', count: 0 };
    w.count++;
    if (rel >= w.v) [w.v, w.at] = [rel, key];
    worst.set(grp, w);
  }
  const rows = [...worst].map(([grp, w]) => `${grp}(${w.count}) ${w.v.toExponential(2)}${grp === 'BN-cancelled biases' && opts.cancelledBound !== undefined ? ' abs' : ''}`);
  console.log(`${label}: ${rows.join(', ')}`);
  if (opts.expectCount !== undefined) assert.equal(ours.size, opts.expectCount, `${label}: tensor count`);
  assert.deepEqual(failures, [], `${label}: ${failures.join('; ')}`);
}

const modelState = (m: Module): Map<Param, Float32Array> => new Map(m.namedParams().map(([, p]) => [p, p.data]));
const only = (m: Module, values: Map<Param, Float32Array>): Map<Param, Float32Array> => {
  const mine = new Set(m.namedParams().map(([, p]) => p));
  return new Map([...values].filter(([p]) => mine.has(p)));
};
/** A state after a D step: what the step changed, the rest as before. */
const stateAfter = (m: Module, before: Map<Param, Float32Array>, changed: Map<Param, Float32Array>): Map<Param, Float32Array> =>
  new Map(m.namedParams().map(([, p]) => [p, changed.get(p) ?? before.get(p)!]));

function checkLogits(label: string, ours: Float32Array, refFile: string): void {
  const ref = npy(refFile).data as Float32Array;
  const d = maxAbsDiff(ours, ref);
  console.log(`${label}: max diff ${d.toExponential(2)} = ${(d / maxAbs(ref)).toExponential(2)} of max |logit|`);
  assert.ok(d <= 1e-5 * maxAbs(ref), `${label} differ by ${d}`);
}

function checkLoss(label: string, ours: number, ref: number): void {
  const rel = Math.abs(ours - ref) / Math.abs(ref);
  assert.ok(rel <= 1e-5, `${label}: ${ours} vs ${ref} (rel ${rel})`);
}

/** Parameter updates (final - initial) in units of lr, against the reference's (README: within 0.05 lr; cancelled biases 2 lr). */
function checkUpdates(label: string, n: Nets, m: Module, initial: Map<Param, Float32Array>, ref: Map<string, NdArray>, lr: number, skip = (_key: string) => false): void {
  let worst = 0;
  let worstCancelled = 0;
  let at = '';
  for (const [, p] of m.namedParams()) {
    if (!p.trainable) continue;
    const key = n.bgp.get(p)!;
    if (skip(key)) continue;
    const r = ref.get(key)!.data as Float32Array;
    const init = initial.get(p)!;
    let d = 0;
    for (let i = 0; i < r.length; i++) d = Math.max(d, Math.abs(p.data[i] - init[i] - (r[i] - init[i])) / lr);
    if (CANCELLED.has(key) && m instanceof BigGANGenerator) worstCancelled = Math.max(worstCancelled, d);
    else if (d > worst) [worst, at] = [d, key];
  }
  console.log(`${label} updates: max |ours - ref| ${worst.toFixed(4)} lr (${at}); BN-cancelled biases ${worstCancelled.toFixed(3)} lr`);
  assert.ok(worst <= 0.05, `${label}: update of ${at} differs by ${worst} lr`);
  assert.ok(worstCancelled <= 2, `${label}: BN-cancelled bias updates differ by ${worstCancelled} lr`);
}

/** Final Adam state vs final/{G,D}_adam.safetensors: exp_avg like the gradients, exp_avg_sq 2.5e-4, step exact. */
function checkAdam(
  label: string,
  n: Nets,
  adam: AdamState,
  model: Module,
  file: string,
  gradTol: (grp: string, key: string) => number,
  group: (k: string) => string,
  opts: { cancelledBound?: number; sqTol?: (grp: string, key: string) => number } = {},
): void {
  const ref = stateFile(file);
  const ours = adam.toTensors(ourNameToBgp);
  assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort(), `${label}: Adam state keys`);
  const byParam = (suffix: string) =>
    new Map(model.namedParams().filter(([, p]) => p.trainable).map(([path, p]) => [p, ours.get(`${ourNameToBgp(path)}.${suffix}`)!.data as Float32Array]));
  const refBy = (suffix: string) => new Map([...ref].filter(([k]) => k.endsWith(`.${suffix}`)).map(([k, v]) => [k.slice(0, -suffix.length - 1), v]));
  const { cancelledBound } = opts;
  compare(`${label} exp_avg`, n, byParam('exp_avg'), refBy('exp_avg'), group, gradTol, { cancelledBound });
  compare(`${label} exp_avg_sq`, n, byParam('exp_avg_sq'), refBy('exp_avg_sq'), group, opts.sqTol ?? (() => EXP_AVG_SQ_TOL), {
    cancelledBound: cancelledBound && cancelledBound ** 2,
  });
  for (const [k, v] of ref) if (k.endsWith('.step')) assert.equal(ours.get(k)!.data[0], v.data[0], `${label}: ${k}`);
}

// ---- the fixture, from initial/, in one graph ----

/** Final states of the one-graph iteration, `<G|D|G_ema>:<BGP key>` (compared with the per-step graphs' below). */
let singleGraphFinal: Map<string, Float32Array> | undefined;

test('one iteration (one graph) reproduces BigGAN-PyTorch stage by stage: D steps, G step, ortho, Adam, EMA', async () => {
  const n = fixtureModels('initial');
  const { G, D, E } = n;
  const initG = new Map([...modelState(G)].map(([p, v]) => [p, Float32Array.from(v)]));
  const initD = new Map([...modelState(D)].map(([p, v]) => [p, Float32Array.from(v)]));
  const trainer = new GanTrainer({ G, D, G_ema: E, hyper: HYPER, batch: B });
  const t0 = performance.now();
  await trainer.prepare(true);
  console.log(`compile: ${JSON.stringify(trainer.compileStats())} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  const r = await trainer.iteration(INPUTS, { trace: true });
  const tr = r.trace!;
  assert.equal(r.itr, 1);

  const res = fixture.results;
  for (let k = 0; k < 2; k++) {
    const s = tr.dSteps[k];
    checkLoss(`D step ${k} D_loss_real`, r.dSteps[k].lossReal, res[`Dstep${k}`].D_loss_real);
    checkLoss(`D step ${k} D_loss_fake`, r.dSteps[k].lossFake, res[`Dstep${k}`].D_loss_fake);
    checkLogits(`Dstep${k} D_fake`, s.dFake, `Dstep${k}/D_fake.npy`);
    checkLogits(`Dstep${k} D_real`, s.dReal, `Dstep${k}/D_real.npy`);
    const gz = npy(`Dstep${k}/G_z.npy`).data as Float32Array;
    assert.ok(maxAbsDiff(s.gZ, gz) <= 5e-5, `Dstep${k} G_z`);
    compare(`Dstep${k}/D_grads`, n, s.grads, stateFile(`Dstep${k}/D_grads.safetensors`), dGroup, (g) => D_GRAD_TOL[g], { expectCount: 43 });
    // D: new weights and SN vectors; G: same weights, new SN vectors and BN statistics (no-grad train-mode forward)
    const before = k === 0 ? { G: initG, D: initD } : { G: stateAfter(G, initG, only(G, tr.dSteps[0].after)), D: stateAfter(D, initD, only(D, tr.dSteps[0].after)) };
    assert.equal(only(G, s.after).size, 27 * 2 + 7 * 2, 'every G SN vector/sigma and BN statistic changes in a D step');
    assert.equal([...only(G, s.after).keys()].filter((p) => p.trainable).length, 0, 'G weights do not change in D steps');
    compare(`Dstep${k}/G_after`, n, stateAfter(G, before.G, only(G, s.after)), stateFile(`Dstep${k}/G_after.safetensors`), gGroup, () => STATE_TOL);
    compare(`Dstep${k}/D_after`, n, stateAfter(D, before.D, only(D, s.after)), stateFile(`Dstep${k}/D_after.safetensors`), dGroup, () => STATE_TOL);
  }
  assert.equal(r.dLossReal, r.dSteps[1].lossReal, 'the returned D losses are the last D step\'s');

  checkLoss('G_loss', r.gLoss, res.Gstep.G_loss);
  checkLogits('Gstep D_fake', tr.gStep.dFake, 'Gstep/D_fake.npy');
  assert.ok(maxAbsDiff(tr.gStep.gZ, npy('Gstep/G_z.npy').data as Float32Array) <= 5e-5, 'Gstep G_z');
  // (the G attention's max-pool near-tie described in the restart test resolves like torch from here;
  // should it not, the tensors named by tieAffected are the ones to look at)
  const gradMax = Math.max(...[...stateFile('Gstep/G_grads.safetensors').values()].map((t) => maxAbs(t.data as Float32Array)));
  const cancelledBound = 1e-4 * gradMax;
  compare('Gstep/G_grads_loss_only', n, tr.gStep.lossGrads, stateFile('Gstep/G_grads_loss_only.safetensors'), gGroup, (g) => G_GRAD_TOL[g], { cancelledBound, expectCount: 42 });
  compare('Gstep/G_ortho_term', n, tr.gStep.ortho, stateFile('Gstep/G_ortho_term.safetensors'), gGroup, () => 1e-5, { expectCount: 27 });
  compare('Gstep/G_grads', n, tr.gStep.grads, stateFile('Gstep/G_grads.safetensors'), gGroup, (g) => G_GRAD_TOL[g], { cancelledBound });
  assert.deepEqual(
    [...tr.gStep.ortho.keys()].map((p) => n.bgp.get(p)).sort(),
    [...fixture.ortho_applied_to].sort(),
    'the ortho term touches exactly the parameters utils.ortho touches',
  );

  const finalG = stateFile('final/G.safetensors');
  const finalD = stateFile('final/D.safetensors');
  compare('final/G', n, modelState(G), finalG, gGroup, () => STATE_TOL, { cancelledBound: Infinity, expectCount: 110 });
  compare('final/D', n, modelState(D), finalD, dGroup, () => STATE_TOL, { expectCount: 99 });
  compare('final/G_ema', n, modelState(E), stateFile('final/G_ema.safetensors'), gGroup, () => STATE_TOL, { expectCount: 110 });
  checkUpdates('G', n, G, initG, finalG, HYPER.gLr);
  checkUpdates('D', n, D, initD, finalD, HYPER.dLr);
  checkAdam('final/G_adam', n, trainer.gOptim, G, 'final/G_adam.safetensors', (g) => G_GRAD_TOL[g], gGroup, { cancelledBound });
  checkAdam('final/D_adam', n, trainer.dOptim, D, 'final/D_adam.safetensors', (g) => D_GRAD_TOL[g], dGroup);
  assert.equal(trainer.gOptim.step, 1);
  assert.equal(trainer.dOptim.step, 2);
  console.log(`losses: D_real ${r.dLossReal} D_fake ${r.dLossFake} G ${r.gLoss}; grad norms D ${r.dSteps.map((s) => s.gradNorm.toFixed(3))} G ${r.gStep.gradNorm.toFixed(4)} (+ortho ${r.gStep.gradNormWithOrtho.toFixed(4)})`);
  assert.ok(r.dSteps.every((s) => s.gradNorm > 0) && r.gStep.gradNormWithOrtho > 0);
  singleGraphFinal = new Map(
    ([['G', G], ['D', D], ['G_ema', E]] as const).flatMap(([tag, m]) => m.namedParams().map(([, p]) => [`${tag}:${n.bgp.get(p)}`, p.data] as const)),
  );
  await trainer.release();
});

// ---- per-step graphs, each stage restarted from the stored states ----

test('per-step graphs: D step 1 from Dstep0/*_after, G step + EMA from Dstep1/*_after', async () => {
  const n = fixtureModels('Dstep0');
  const { G, D, E } = n;
  const trainer = new GanTrainer({ G, D, G_ema: E, hyper: HYPER, batch: B, graphs: 'per-step' });
  // D's Adam state after step 0, from its stored gradient (beta1 = 0: exp_avg = g; exp_avg_sq = (1 - beta2) g^2)
  const g0 = stateFile('Dstep0/D_grads.safetensors');
  const adam0 = new Map<string, NdArray>();
  const b2 = Math.fround(1 - HP.D_B2);
  for (const [k, t] of g0) {
    const g = t.data as Float32Array;
    adam0.set(`${k}.exp_avg`, t);
    adam0.set(`${k}.exp_avg_sq`, { dtype: 'float32', shape: t.shape, data: g.map((v) => Math.fround(Math.fround(b2 * v) * v)) });
    adam0.set(`${k}.step`, { dtype: 'float32', shape: [], data: Float32Array.of(1) });
  }
  trainer.dOptim.loadTensors(adam0, 'Dstep0 Adam state', ourNameToBgp);
  assert.equal(trainer.dOptim.step, 1);
  const initG = new Map([...modelState(G)].map(([p, v]) => [p, Float32Array.from(v)]));
  const d1 = await trainer.discriminatorStep(dStepInputs(1), { trace: true });
  checkLoss('restart D step 1 D_loss_real', d1.result.lossReal, fixture.results.Dstep1.D_loss_real);
  checkLoss('restart D step 1 D_loss_fake', d1.result.lossFake, fixture.results.Dstep1.D_loss_fake);
  checkLogits('restart Dstep1 D_fake', d1.trace!.dFake, 'Dstep1/D_fake.npy');
  checkLogits('restart Dstep1 D_real', d1.trace!.dReal, 'Dstep1/D_real.npy');
  compare('restart Dstep1/D_grads', n, d1.trace!.grads, stateFile('Dstep1/D_grads.safetensors'), dGroup, (g) => D_GRAD_TOL[g]);
  compare('restart Dstep1/G_after', n, stateAfter(G, initG, only(G, d1.trace!.after)), stateFile('Dstep1/G_after.safetensors'), gGroup, () => STATE_TOL);
  compare('restart Dstep1/D_after', n, modelState(D), stateFile('Dstep1/D_after.safetensors'), dGroup, () => STATE_TOL);
  assert.equal(trainer.dOptim.step, 2);
  checkAdam('restart final/D_adam', n, trainer.dOptim, D, 'final/D_adam.safetensors', (g) => D_GRAD_TOL[g], dGroup);

  // the G step (and EMA at itr 1) from the stored state it starts from upstream
  loadStage(n, 'Dstep1');
  const startG = new Map([...modelState(G)].map(([p, v]) => [p, Float32Array.from(v)]));
  trainer.itr = 1;
  const gs = await trainer.generatorStep({ z: INPUTS.zs[2], yFake: INPUTS.yFakes[2] }, { trace: true });
  checkLoss('restart G_loss', gs.result.loss, fixture.results.Gstep.G_loss);
  checkLogits('restart Gstep D_fake', gs.trace!.dFake, 'Gstep/D_fake.npy');
  // Known near-tie: from the stored Dstep1 state, the 2x2 max-pool of G's attention g conv (blocks.1.1,
  // channel 1) has its top two values 3.7e-7 apart, below float32 forward noise, so the pooling argmax
  // can differ from torch's and move a little gradient between two pixels. That changes only gradients
  // of g.weight and of the layers before the attention (up to 2.4e-3 of the tensor max observed); they
  // get 5e-3, everything else the README's bounds. (From initial/, our slightly different Dstep1 state
  // resolves the tie like torch and the first test holds every tensor to the README's bounds.)
  const gradTol = (grp: string, key: string) => (tieAffected(key) ? 5e-3 : G_GRAD_TOL[grp]);
  const gradMax = Math.max(...[...stateFile('Gstep/G_grads.safetensors').values()].map((t) => maxAbs(t.data as Float32Array)));
  const cancelledBound = 1e-4 * gradMax;
  compare('restart Gstep/G_grads_loss_only', n, gs.trace!.lossGrads, stateFile('Gstep/G_grads_loss_only.safetensors'), gGroup, gradTol, { cancelledBound });
  compare('restart Gstep/G_ortho_term', n, gs.trace!.ortho, stateFile('Gstep/G_ortho_term.safetensors'), gGroup, () => 1e-5, { expectCount: 27 });
  compare('restart Gstep/G_grads', n, gs.trace!.grads, stateFile('Gstep/G_grads.safetensors'), gGroup, gradTol, { cancelledBound });
  // beta1 = 0 makes the first G update ~ -lr * sign(grad): tie-affected elements with tiny gradients may flip (2 lr)
  const stateTol = (_grp: string, key: string) => (tieAffected(key) ? (2.05 * HYPER.gLr) / maxAbs(stateFile('final/G.safetensors').get(key)!.data as Float32Array) : STATE_TOL);
  compare('restart final/G', n, modelState(G), stateFile('final/G.safetensors'), gGroup, stateTol, { cancelledBound: Infinity });
  checkUpdates('restart G (not tie-affected)', n, G, startG, stateFile('final/G.safetensors'), HYPER.gLr, tieAffected);
  compare('restart final/D', n, modelState(D), stateFile('final/D.safetensors'), dGroup, () => STATE_TOL);
  compare('restart final/G_ema', n, modelState(E), stateFile('final/G_ema.safetensors'), gGroup, () => STATE_TOL);
  checkAdam('restart final/G_adam', n, trainer.gOptim, G, 'final/G_adam.safetensors', gradTol, gGroup, {
    cancelledBound,
    sqTol: (_grp, key) => (tieAffected(key) ? 1e-2 : EXP_AVG_SQ_TOL),
  });

  // a whole iteration with the per-step graphs (the compiled ones above: same plans) equals the one-graph iteration
  loadStage(n, 'initial');
  trainer.gOptim.loadTensors(new Map(), 'fresh');
  trainer.dOptim.loadTensors(new Map(), 'fresh');
  trainer.itr = 0;
  const r = await trainer.iteration(INPUTS, { trace: true });
  assert.equal(r.itr, 1);
  assert.equal(trainer.compileStats().length, 2, 'per-step mode reuses its two compiled graphs');
  checkLoss('per-step G_loss', r.gLoss, fixture.results.Gstep.G_loss);
  assert.ok(singleGraphFinal, 'the one-graph test ran first');
  let worst = 0;
  for (const [tag, m] of [['G', G], ['D', D], ['G_ema', E]] as const) {
    for (const [, p] of m.namedParams()) worst = Math.max(worst, maxAbsDiff(p.data, singleGraphFinal.get(`${tag}:${n.bgp.get(p)}`)!));
  }
  console.log(`one graph vs per-step graphs after one iteration: max abs state difference ${worst.toExponential(2)}`);
  assert.ok(worst <= 2 * HYPER.gLr, `per-step and one-graph iterations differ by ${worst}`);
  console.log(`compile (per step, traced): ${JSON.stringify(trainer.compileStats())}`);
  await trainer.release();
});

// ---- pieces ----

test('ortho variants against float64 formulas; EMA schedule; Adam state round trip', async () => {
  // wide (through W Wᵀ) and tall (through the small Gram Wᵀ W) weights
  for (const [rows, cols] of [
    [5, 7],
    [9, 4],
  ]) {
  const w = new Param('w', [rows, cols, 1, 1], Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) * 0.6));
  const g = new Graph();
  const scale = g.input('scale', []);
  const outs = {
    biggan: orthoGradient(g.param(w), 'biggan', scale),
    paper: orthoGradient(g.param(w), 'paper', scale),
    full: orthoGradient(g.param(w), 'full', scale),
  };
  const cg = await CompiledGraph.create(exportOnnx(g, { outputs: outs }));
  const beta = 0.01;
  const W = Array.from(w.data);
  const gram = (i: number, j: number) => W.slice(i * cols, (i + 1) * cols).reduce((s, v, c) => s + v * W[j * cols + c], 0);
  const expect = (variant: 'biggan' | 'paper' | 'full'): number[] => {
    const out: number[] = [];
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let j = 0; j < rows; j++) s += (i === j ? (variant === 'full' ? gram(i, i) - 1 : 0) : gram(i, j)) * W[j * cols + c];
        out.push(orthoScale(variant, beta) * s);
      }
    }
    return out;
  };
  for (const variant of ['biggan', 'paper', 'full'] as const) {
    const r = await cg.run({ scale: Float32Array.of(orthoScale(variant, beta)) }, [variant]);
    const want = expect(variant);
    assert.ok(maxAbsDiff(r[variant] as Float32Array, want) <= 1e-6 * maxAbs(want), `${variant} ${rows}x${cols}`);
  }
  await cg.release();
  }
  assert.equal(orthoScale('paper', 0.01), 2 * orthoScale('biggan', 0.01), "the paper penalty's gradient is twice utils.ortho's");

  // EMA: decay 0 (copy) while 0 < itr < start, then the decay; itr 0 counts as started (upstream's `if itr and ...`)
  const ema = { decay: 0.999, start: 3 };
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => emaDecayAt(i, ema)), [0.999, 0, 0, 0.999, 0.999]);

  // Adam state: torch-style tensors, under BGP names, round trip; bad files are refused
  const G = new BigGANGenerator(parseGeneratorArgs(ARGS.G));
  const s = new AdamState(G, 'G_adam');
  const ref = stateFile('final/G_adam.safetensors');
  s.loadTensors(ref, 'final/G_adam.safetensors', ourNameToBgp);
  assert.equal(s.step, 1);
  const back = s.toTensors(ourNameToBgp);
  for (const [k, v] of ref) assert.deepEqual(back.get(k)!.data, v.data, k);
  const broken = new Map(ref);
  broken.delete('linear.weight.exp_avg');
  assert.throws(() => s.loadTensors(broken, 'x.safetensors', ourNameToBgp), /x\.safetensors does not fit the optimizer state: missing linear\.weight\.exp_avg/);
  // ortho targets: every >= 2-d trainable G parameter except the shared embedding
  assert.deepEqual(orthoTargets(G).map((p) => ourNameToBgp(G.namedParams().find(([, q]) => q === p)![0])).sort(), [...fixture.ortho_applied_to].sort());
});

test('BigGAN-deep G and D (32x32, ch 8): one iteration runs and changes weights, buffers, G_ema', async () => {
  const cfg = bigGanDeepConfig(32, { channelWidth: 8, nStats: 1, numClasses: 10 });
  const G = new BigGanDeepGenerator(cfg);
  const E = new BigGanDeepGenerator(cfg);
  const D = new BigGanDeepDiscriminator({ resolution: 32, channelWidth: 8, numClasses: 10 });
  const rng = new Rng(7);
  for (const m of [G, D] as Module[]) {
    initOrthogonal(m, rng);
    initSpectralVectors(m);
  }
  for (const [path, p] of E.namedParams()) p.data = Float32Array.from(G.namedParams().find(([q]) => q === path)![1].data);
  const before = new Map([G, D, E].flatMap((m) => m.namedParams().map(([, p]) => [p, Float32Array.from(p.data)] as const)));
  const batch = 4;
  const trainer = new GanTrainer({ G, D, G_ema: E, batch, hyper: { ...HYPER, numDSteps: 1, emaStart: 0 } });
  const xReal = new Float32Array(batch * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37) * 0.9);
  const yReal = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 10));
  const r = await trainer.iteration({ xReal, yReal, ...trainer.sampleNoise(rng) });
  console.log(`deep: losses D ${r.dLossReal.toFixed(4)} / ${r.dLossFake.toFixed(4)}, G ${r.gLoss.toFixed(4)}; ${JSON.stringify(trainer.compileStats())}`);
  assert.ok([r.dLossReal, r.dLossFake, r.gLoss, r.gStep.gradNorm, ...r.dSteps.map((s) => s.gradNorm)].every(Number.isFinite));
  const changed = (m: Module, which: (p: Param) => boolean) =>
    m.namedParams().filter(([, p]) => which(p)).every(([, p]) => p.data.every(Number.isFinite) && maxAbsDiff(p.data, before.get(p)!) > 0);
  assert.ok(changed(G, (p) => p.trainable && p !== G.class_embedding), 'every G weight moves (the embedding only in used rows)');
  assert.ok(changed(D, (p) => p.trainable), 'every D weight moves');
  assert.ok(changed(G, (p) => /running_(means|vars)$|sn_u$/.test(p.name)), 'G BN statistics and SN vectors move');
  // G_ema = G_ema0 * decay + G * (1 - decay) over every entry, buffers included (float32, as torch)
  const d = Math.fround(HYPER.emaDecay);
  const od = Math.fround(1 - HYPER.emaDecay);
  const gByPath = new Map(G.namedParams());
  for (const [path, e] of E.namedParams()) {
    const src = gByPath.get(path)!.data;
    const e0 = before.get(e)!;
    const want = e0.map((v, i) => Math.fround(Math.fround(v * d) + Math.fround(src[i] * od)));
    assert.ok(maxAbsDiff(e.data, want) <= 1e-7 * Math.max(1, maxAbs(want)), `G_ema ${path}`);
  }
  assert.equal(trainer.dOptim.step, 1);
  assert.equal(trainer.gOptim.step, 1);
  await trainer.release();
});
