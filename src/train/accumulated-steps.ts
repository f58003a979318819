/**
 * Gradient accumulation (upstream num_D_accumulations / num_G_accumulations): one D or
 * G step over K micro-batches, as K runs of the grad stage (each on D_loss / K or
 * G_loss / K with its own BN statistics) and one run of the apply stage on the summed
 * gradient (accumulation-graph.ts builds both).
 */
import { Param } from '../engine/graph.js';
import type { Feed, Fetched } from '../engine/runtime.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { adamScalarFeeds } from './adam.js';
import type { AdamState } from './optimizer-state.js';
import { ACC_DIVISOR } from './accumulation-graph.js';
import { checkHyper, GanHyper } from './gan-hyper.js';
import { CompiledStages, runStage, scalar } from './compiled-stages.js';
import { StepFeeds } from './step-feeds.js';
import { dStepInput } from './step-parts.js';
import type { DStepInputs, DStepOutcome, DStepResult, GStepInputs, GStepOutcome, GStepResult } from './step-types.js';
import type { ReplicaSync } from './replica-sync.js';

/** The trainer's parts an accumulated step uses (the optimizer states' step counts advance). */
export interface AccumulationContext {
  hyper: GanHyper;
  stages: CompiledStages;
  feeds: StepFeeds;
  G: GeneratorModel;
  D: DiscriminatorModel;
  gOptim: AdamState;
  dOptim: AdamState;
  /** data-parallel ranks: this rank's micro-batches are its block of the step's size × K (replica-sync.ts) */
  replicas?: ReplicaSync;
}

/**
 * One D step over K = micro.length micro-batches (upstream's num_D_accumulations loop):
 * K runs of the d-grad stage, the gradients of D_loss / K summed, one run of d-apply.
 */
export async function accumulatedDStep(ctx: AccumulationContext, micro: DStepInputs[], trace: boolean): Promise<DStepOutcome> {
  checkHyper(ctx.hyper);
  const [grad, apply] = await Promise.all([ctx.stages.dGrad(trace), ctx.stages.dApply()]);
  const K = micro.length * (ctx.replicas?.size ?? 1);
  const replica = await ctx.replicas?.begin(grad.layout.state.keys(), micro.length);
  const sum = new Map<Param, Float32Array>();
  const mean = { real: 0, fake: 0, r1: 0, penalty: 0 };
  let losses: number[][] = [];
  const traced: Record<'gZ' | 'dFake' | 'dReal', Float32Array[]> = { gZ: [], dFake: [], dReal: [] };
  for (const [j, d] of micro.entries()) {
    const r = await runStage(grad, { ...ctx.feeds.dStep(0, d, `D micro-batch ${j}`), [ACC_DIVISOR]: Float32Array.of(K) });
    replica?.afterMicroBatch();
    addGradients(sum, grad.layout.grads, r);
    const opt = (name: string | undefined): number => (name ? scalar(r, name) : 0);
    losses.push([scalar(r, grad.layout.lossReal), scalar(r, grad.layout.lossFake), opt(grad.layout.r1), opt(grad.layout.penalty)]);
    const t = grad.layout.trace;
    if (t) for (const key of ['gZ', 'dFake', 'dReal'] as const) traced[key].push(r[t[key]] as Float32Array);
  }
  if (replica) losses = await replica.end(sum, losses);
  // logged losses: the mean over micro-batches of the unscaled losses, i.e. the loss of the effective batch
  for (const [real, fake, r1, penalty] of losses) {
    mean.real += real / K;
    mean.fake += fake / K;
    if (grad.layout.r1) mean.r1 += r1 / K;
    if (grad.layout.penalty) mean.penalty += penalty / K;
  }
  const feeds: Record<string, Feed> = { ...adamScalarFeeds(dStepInput(0, 'adam'), ctx.feeds.dAdamHyper(), ctx.dOptim.step + 1) };
  for (const [p, name] of apply.layout.grads) feeds[name] = sum.get(p)!;
  const r = await runStage(apply, feeds);
  ctx.dOptim.step += 1;
  const result: DStepResult = {
    lossReal: mean.real, lossFake: mean.fake, gradNorm: scalar(r, apply.layout.gradNorm),
    ...(grad.layout.r1 ? { r1: mean.r1 } : {}), ...(grad.layout.penalty ? { penalty: mean.penalty } : {}),
  };
  if (!trace) return { result };
  const changed = new Set([...grad.layout.state.keys(), ...apply.layout.state.keys()]);
  const entries = [...ctx.G.namedParams(), ...ctx.D.namedParams()].map(([, p]) => p).filter((p) => changed.has(p));
  return {
    result,
    trace: {
      gZ: concat(traced.gZ),
      dFake: concat(traced.dFake),
      dReal: concat(traced.dReal),
      grads: sum,
      after: new Map(entries.map((p) => [p, p.data])),
    },
  };
}

/**
 * The G step over K = micro.length micro-batches (upstream's num_G_accumulations loop):
 * K runs of g-grad, the gradients of G_loss / K summed, then g-apply (ortho term once, Adam, EMA at `itr`).
 */
export async function accumulatedGStep(ctx: AccumulationContext, micro: GStepInputs[], itr: number, trace: boolean): Promise<GStepOutcome> {
  checkHyper(ctx.hyper);
  const [grad, apply] = await Promise.all([ctx.stages.gGrad(trace), ctx.stages.gApply(trace)]);
  const K = micro.length * (ctx.replicas?.size ?? 1);
  const replica = await ctx.replicas?.begin(grad.layout.state.keys(), micro.length);
  const sum = new Map<Param, Float32Array>();
  const mean = { loss: 0, sigmaReg: 0 };
  let losses: number[][] = [];
  const traced: Record<'gZ' | 'dFake', Float32Array[]> = { gZ: [], dFake: [] };
  for (const [j, gi] of micro.entries()) {
    const r = await runStage(grad, { ...ctx.feeds.gStep(gi, `G micro-batch ${j}`), [ACC_DIVISOR]: Float32Array.of(K) });
    replica?.afterMicroBatch();
    addGradients(sum, grad.layout.grads, r);
    losses.push([scalar(r, grad.layout.loss), grad.layout.sigmaReg ? scalar(r, grad.layout.sigmaReg) : 0]);
    const t = grad.layout.trace;
    if (t) for (const key of ['gZ', 'dFake'] as const) traced[key].push(r[t[key]] as Float32Array);
  }
  if (replica) losses = await replica.end(sum, losses);
  // logged: the mean over micro-batches of the unscaled losses
  for (const [loss, sigmaReg] of losses) {
    mean.loss += loss / K;
    if (grad.layout.sigmaReg) mean.sigmaReg += sigmaReg / K;
  }
  const feeds: Record<string, Feed> = ctx.feeds.gUpdate(itr);
  for (const [p, name] of apply.layout.grads) feeds[name] = sum.get(p)!;
  const r = await runStage(apply, feeds);
  ctx.gOptim.step += 1;
  const result: GStepResult = {
    loss: mean.loss,
    gradNorm: scalar(r, apply.layout.gradNorm),
    gradNormWithOrtho: scalar(r, apply.layout.gradNormTotal),
    ...(grad.layout.sigmaReg ? { sigmaReg: mean.sigmaReg } : {}),
  };
  const t = apply.layout.trace;
  if (!t) return { result };
  const byParam = (m: Map<Param, string>): Map<Param, Float32Array> => new Map([...m].map(([p, name]) => [p, r[name] as Float32Array]));
  return { result, trace: { gZ: concat(traced.gZ), dFake: concat(traced.dFake), lossGrads: sum, ortho: byParam(t.ortho), grads: byParam(t.grads) } };
}

/**
 * Adds a grad stage's gradients into `sum` (torch's `.grad +=` over the backward calls).
 * Done here rather than as a running-sum graph input: one grad graph serves every
 * micro-batch (no zero feed or separate first pass), and a float32 add per parameter
 * is nothing next to a forward and backward pass. Float32Array stores round each sum to
 * float32, as torch's add does.
 */
function addGradients(sum: Map<Param, Float32Array>, names: Map<Param, string>, r: Record<string, Fetched>): void {
  for (const [p, name] of names) {
    const g = r[name] as Float32Array;
    const s = sum.get(p);
    if (!s) sum.set(p, Float32Array.from(g));
    else for (let i = 0; i < s.length; i++) s[i] += g[i];
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of parts) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
