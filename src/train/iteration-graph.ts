/**
 * Builds the graph of (part of) one BigGAN-PyTorch training iteration
 * (train_fns.GAN_training_function): `dSteps` discriminator steps, then optionally
 * the generator step and the EMA update. Every weight, buffer and Adam moment is a
 * graph input holding its value before the stages; the graph returns the new value
 * of each one it changes, so the caller only swaps arrays between runs.
 *
 * Per D step k (inputs `d<k>.*`):
 *   G_z    = G(z, y_fake)          train mode, no gradient: batch-stat BN, running
 *                                   stats and SN u/sigma updated
 *   logits = D(cat[G_z, x], cat[y_fake, y])   one call, fakes first (SN updated)
 *   D_loss = hinge [+ (γ/2)·R1 of D on x, when nets.r1]; gradients w.r.t. D's current
 *            weights; Adam on D
 * G step (inputs `g.*`):
 *   D_fake = D(G(z, y_fake), y_fake)  both in train mode (both update buffers), D
 *                                      frozen; G_loss = -mean(D_fake)
 *   G_loss += β_σ·Σ (σ0(W) − target)² over G's SN weights, when nets.sigmaReg
 *   grads  = dG_loss/dθ + ortho term; Adam on G; then G_ema ← EMA of every G entry
 *
 * Later stages read earlier results through BindingGraph bindings: each forward
 * sees the current tensor of every parameter. Weights that must not be trained in a
 * stage (G in D steps, D in the G step) are bound through stopGradient, so a later
 * gradient never flows back through an earlier optimizer step.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { grad } from '../engine/autodiff.js';
import { exportOnnx, ExportedModel, liveNodes } from '../engine/onnx-export.js';
import { trainContext, ForwardContext } from '../nn/module.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { BindingGraph } from './binding-graph.js';
import { hingeDiscriminatorLoss, hingeGeneratorLoss } from './losses.js';
import { adamScalarInputs, adamUpdate, AdamScalars } from './adam.js';
import { AdamState } from './optimizer-state.js';
import { OrthoVariant, orthoGradient } from './orthogonal-regularization.js';
import { emaScalarInputs, emaUpdate } from './ema.js';
import { globalNorm } from './gradient-norm.js';
import { r1Penalty } from './r1-penalty.js';
import { sigmaRegPenalty } from './sigma-regularization.js';

export interface TrainNetworks {
  G: GeneratorModel;
  D: DiscriminatorModel;
  /** Absent: no EMA. */
  G_ema?: GeneratorModel;
  gAdam: AdamState;
  dAdam: AdamState;
  orthoVariant: OrthoVariant;
  /** G parameters the ortho term applies to. */
  orthoTargets: Param[];
  batch: number;
  /** Add the R1 penalty to D's loss; γ is the scalar input `d<k>.r1_gamma`. */
  r1?: boolean;
  /**
   * G's SN weights whose σ0 is regularised (absent or empty: off); inputs
   * `g.sigma_reg.target` [L] (one target per weight, in this order) and `g.sigma_reg.strength` [].
   */
  sigmaReg?: Param[];
}

export interface StagePlan {
  dSteps: number;
  gStep: boolean;
  /** Also output per-stage values (logits, gradients, states after each D step) for tests and debugging. */
  trace: boolean;
}

export interface DStepOutputs {
  lossReal: string;
  lossFake: string;
  gradNorm: string;
  /** The R1 value (before γ/2), when nets.r1. */
  r1?: string;
  trace?: { gZ: string; dFake: string; dReal: string; grads: Map<Param, string>; after: Map<Param, string> };
}

export interface GStepOutputs {
  loss: string;
  /** Norm of dG_loss/dθ (σ0 regulariser included when on). */
  gradNorm: string;
  /** Norm of what Adam consumes (with the ortho term). */
  gradNormTotal: string;
  /** Σ (σ0 − target)² (before β_σ), when nets.sigmaReg. */
  sigmaReg?: string;
  trace?: { gZ: string; dFake: string; lossGrads: Map<Param, string>; ortho: Map<Param, string>; grads: Map<Param, string> };
}

export interface IterationGraph {
  model: ExportedModel;
  /** Operator count (before onnxruntime's optimisations). */
  nodes: number;
  /** Output name of each state entry's new value (weights, buffers, Adam moments, G_ema). */
  state: Map<Param, string>;
  dSteps: DStepOutputs[];
  gStep?: GStepOutputs;
}

/** Input names of D step k and of the G step. */
export const dStepInput = (k: number, what: 'x_real' | 'y_real' | 'z' | 'y_fake' | 'adam' | 'r1_gamma'): string => `d${k}.${what}`;
export const gStepInput = (what: 'z' | 'y_fake' | 'adam' | 'ortho_scale' | 'sigma_reg'): string => `g.${what}`;

export function buildIterationGraph(nets: TrainNetworks, plan: StagePlan): IterationGraph {
  const { G, D, batch: B } = nets;
  const R = G.resolution;
  const g = new BindingGraph();
  const state = new Map<Param, Tensor>();
  const cur = (p: Param): Tensor => state.get(p) ?? g.inputOf(p);
  const set = (p: Param, t: Tensor): void => {
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`new value of ${p.name} has shape [${t.shape}], expected [${p.shape}]`);
    }
    state.set(p, t);
  };
  const applyUpdates = (ctx: ForwardContext): void => ctx.updates.forEach((t, p) => set(p, t));
  const gEntries = G.namedParams().map(([, p]) => p);
  const dEntries = D.namedParams().map(([, p]) => p);
  const gTrainable = gEntries.filter((p) => p.trainable);
  const dTrainable = dEntries.filter((p) => p.trainable);
  /** Current values of a network's entries; `frozen`: trainable ones behind stopGradient. */
  const bindingsOf = (entries: Param[], frozen: boolean): Map<Param, Tensor> =>
    new Map(entries.map((p) => [p, frozen && p.trainable ? op.stopGradient(cur(p)) : cur(p)]));
  const adamStep = (adam: AdamState, params: Param[], grads: Tensor[], s: AdamScalars): void => {
    params.forEach((p, i) => {
      const slots = adam.slots.get(p);
      if (!slots) throw new Error(`no Adam state for ${p.name}`);
      const u = adamUpdate(cur(p), grads[i], cur(slots.expAvg), cur(slots.expAvgSq), s);
      set(p, u.param);
      set(slots.expAvg, u.expAvg);
      set(slots.expAvgSq, u.expAvgSq);
    });
  };
  const outputs: Record<string, Tensor> = {};
  const out = (name: string, t: Tensor): string => {
    if (name in outputs) throw new Error(`iteration graph: output ${name} defined twice`);
    outputs[name] = t;
    return name;
  };
  const outEach = (prefix: string, params: Param[], values: Tensor[]): Map<Param, string> =>
    new Map(params.map((p, i) => [p, out(`${prefix}:${p.name}`, values[i])]));

  const dSteps: DStepOutputs[] = [];
  for (let k = 0; k < plan.dSteps; k++) {
    const x = g.input(dStepInput(k, 'x_real'), [B, 3, R, R]);
    const yReal = g.input(dStepInput(k, 'y_real'), [B], 'int64');
    const z = g.input(dStepInput(k, 'z'), [B, G.zDim]);
    const yFake = g.input(dStepInput(k, 'y_fake'), [B], 'int64');
    const gCtx: ForwardContext = { ...trainContext(), noGrad: true }; // G runs without grad in D steps
    const fake = g.withBindings(bindingsOf(gEntries, true), () => G.forward(gCtx, { z, classes: { ids: yFake } }));
    op.expectShape(fake, [B, 3, R, R], 'G output');
    const dWeights = dTrainable.map(cur);
    const dCtx = trainContext();
    const logits = g.withBindings(bindingsOf(dEntries, false), () =>
      D.forward(dCtx, op.concat([op.stopGradient(fake), x], 0), op.concat([yFake, yReal], 0)),
    );
    op.expectShape(logits, [2 * B, 1], 'D logits');
    const dFake = op.slice(logits, 0, 0, B);
    const dReal = op.slice(logits, 0, B, 2 * B);
    const loss = hingeDiscriminatorLoss(dFake, dReal);
    // R1 on the reals of this very forward (same weights, same SN state as the hinge term)
    const r1 = nets.r1 ? r1Penalty(dReal, x) : null;
    const dLoss = r1 ? op.add(loss.total, op.mul(r1, op.mul(g.input(dStepInput(k, 'r1_gamma'), []), 0.5))) : loss.total;
    const grads = grad(dLoss, dWeights);
    applyUpdates(gCtx);
    applyUpdates(dCtx);
    adamStep(nets.dAdam, dTrainable, grads, adamScalarInputs(g, dStepInput(k, 'adam')));
    const step: DStepOutputs = {
      lossReal: out(`d${k}.loss_real`, loss.real),
      lossFake: out(`d${k}.loss_fake`, loss.fake),
      gradNorm: out(`d${k}.grad_norm`, globalNorm(grads)),
    };
    if (r1) step.r1 = out(`d${k}.r1`, r1);
    if (plan.trace) {
      const changed = [...gEntries, ...dEntries].filter((p) => state.has(p));
      step.trace = {
        gZ: out(`d${k}.G_z`, fake),
        dFake: out(`d${k}.D_fake`, dFake),
        dReal: out(`d${k}.D_real`, dReal),
        grads: outEach(`d${k}.grad`, dTrainable, grads),
        after: outEach(`d${k}.after`, changed, changed.map(cur)),
      };
    }
    dSteps.push(step);
  }

  let gStep: GStepOutputs | undefined;
  if (plan.gStep) {
    const z = g.input(gStepInput('z'), [B, G.zDim]);
    const yFake = g.input(gStepInput('y_fake'), [B], 'int64');
    const gWeights = gTrainable.map(cur);
    const gCtx: ForwardContext = { ...trainContext(), sigmas: new Map() };
    const dCtx = trainContext();
    const fake = g.withBindings(bindingsOf(gEntries, false), () => G.forward(gCtx, { z, classes: { ids: yFake } }));
    const dFake = g.withBindings(bindingsOf(dEntries, true), () => D.forward(dCtx, fake, yFake));
    op.expectShape(dFake, [B, 1], 'D logits');
    const loss = hingeGeneratorLoss(dFake);
    // σ0 of each SN weight exactly as this forward computed it (a function of G's current weights)
    const regWeights = nets.sigmaReg ?? [];
    const sigmaReg = regWeights.length
      ? sigmaRegPenalty(
          regWeights.map((p) => {
            const s = gCtx.sigmas!.get(p);
            if (!s) throw new Error(`σ0 regulariser: G's forward computed no spectral-norm σ for ${p.name}`);
            return s;
          }),
          g.input(`${gStepInput('sigma_reg')}.target`, [regWeights.length]),
        )
      : null;
    const gLoss = sigmaReg ? op.add(loss, op.mul(sigmaReg, g.input(`${gStepInput('sigma_reg')}.strength`, []))) : loss;
    const lossGrads = grad(gLoss, gWeights);
    // ortho term from the weights before the step (upstream: after backward, before step)
    const targets = new Set(nets.orthoTargets);
    const variant = nets.orthoVariant;
    const orthoScale = variant === 'none' || targets.size === 0 ? null : g.input(gStepInput('ortho_scale'), []);
    const orthoTerms = new Map<Param, Tensor>();
    const grads = gTrainable.map((p, i) => {
      if (!orthoScale || variant === 'none' || !targets.has(p)) return lossGrads[i];
      const term = orthoGradient(gWeights[i], variant, orthoScale);
      orthoTerms.set(p, term);
      return op.add(lossGrads[i], term);
    });
    applyUpdates(gCtx);
    applyUpdates(dCtx);
    adamStep(nets.gAdam, gTrainable, grads, adamScalarInputs(g, gStepInput('adam')));
    if (nets.G_ema) {
      const s = emaScalarInputs(g);
      const emaEntries = new Map(nets.G_ema.namedParams());
      for (const [path, p] of G.namedParams()) {
        const e = emaEntries.get(path);
        if (!e) throw new Error(`G_ema has no entry ${path}`);
        set(e, emaUpdate(cur(e), cur(p), s));
      }
    }
    gStep = {
      loss: out('g.loss', loss),
      gradNorm: out('g.grad_norm', globalNorm(lossGrads)),
      gradNormTotal: out('g.grad_norm_total', globalNorm(grads)),
    };
    if (sigmaReg) gStep.sigmaReg = out('g.sigma_reg', sigmaReg);
    if (plan.trace) {
      const ortho = [...orthoTerms.keys()];
      gStep.trace = {
        gZ: out('g.G_z', fake),
        dFake: out('g.D_fake', dFake),
        lossGrads: outEach('g.grad_loss', gTrainable, lossGrads),
        ortho: outEach('g.ortho', ortho, ortho.map((p) => orthoTerms.get(p)!)),
        grads: outEach('g.grad', gTrainable, grads),
      };
    }
  }

  const stateOut = new Map<Param, string>();
  for (const [p, t] of state) stateOut.set(p, out(`new:${p.name}`, t));
  const model = exportOnnx(g, {
    outputs,
    paramInputs: 'all',
    graphName: 'biggan_train',
    docString: `BigGAN training stages: ${plan.dSteps} D step(s)${plan.gStep ? ', G step' : ''}`,
  });
  return { model, nodes: liveNodes(g, Object.values(outputs)).length, state: stateOut, dSteps, gStep };
}
