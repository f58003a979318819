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
 *   D_loss = GAN loss [+ (γ/2)·R1 of D on x, when nets.r1] [+ λ·penalty]; gradients w.r.t. D's current
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
 *
 * The forwards, losses and ortho term are step-parts.ts's and the state bookkeeping
 * stage-builder.ts's, shared with the gradient-accumulation stages (accumulation-graph.ts).
 */
import { Param } from '../engine/graph.js';
import { grad } from '../engine/autodiff.js';
import { adamScalarInputs } from './adam.js';
import { emaScalarInputs } from './ema.js';
import { globalNorm } from './gradient-norm.js';
import { StageBuilder, StageLayout } from './stage-builder.js';
import { discriminatorForward, dStepInput, generatorForward, gStepInput, TrainNetworks, withOrthoTerms } from './step-parts.js';

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
  /** The penalty (before its weight), when nets.penalty. */
  penalty?: string;
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

export interface IterationGraph extends StageLayout {
  dSteps: DStepOutputs[];
  gStep?: GStepOutputs;
}

export function buildIterationGraph(nets: TrainNetworks, plan: StagePlan): IterationGraph {
  const { G, D } = nets;
  const b = new StageBuilder();
  const gEntries = G.namedParams().map(([, p]) => p);
  const dEntries = D.namedParams().map(([, p]) => p);
  const gTrainable = gEntries.filter((p) => p.trainable);
  const dTrainable = dEntries.filter((p) => p.trainable);

  const dSteps: DStepOutputs[] = [];
  for (let k = 0; k < plan.dSteps; k++) {
    const f = discriminatorForward(b, nets, k);
    const grads = grad(f.dLoss, f.dWeights);
    b.applyUpdates(f.gCtx);
    b.applyUpdates(f.dCtx);
    b.adamStep(nets.dAdam, dTrainable, grads, adamScalarInputs(b.g, dStepInput(k, 'adam')));
    const step: DStepOutputs = {
      lossReal: b.out(`d${k}.loss_real`, f.loss.real),
      lossFake: b.out(`d${k}.loss_fake`, f.loss.fake),
      gradNorm: b.out(`d${k}.grad_norm`, globalNorm(grads)),
    };
    if (f.r1) step.r1 = b.out(`d${k}.r1`, f.r1);
    if (f.penalty) step.penalty = b.out(`d${k}.penalty`, f.penalty);
    if (plan.trace) {
      const changed = [...gEntries, ...dEntries].filter((p) => b.changed(p));
      step.trace = {
        gZ: b.out(`d${k}.G_z`, f.fake),
        dFake: b.out(`d${k}.D_fake`, f.dFake),
        dReal: b.out(`d${k}.D_real`, f.dReal),
        grads: b.outEach(`d${k}.grad`, dTrainable, grads),
        after: b.outEach(`d${k}.after`, changed, changed.map((p) => b.cur(p))),
      };
    }
    dSteps.push(step);
  }

  let gStep: GStepOutputs | undefined;
  if (plan.gStep) {
    const f = generatorForward(b, nets);
    const lossGrads = grad(f.gLoss, f.gWeights);
    const { grads, orthoTerms } = withOrthoTerms(b, nets, gTrainable, f.gWeights, lossGrads);
    b.applyUpdates(f.gCtx);
    b.applyUpdates(f.dCtx);
    b.adamStep(nets.gAdam, gTrainable, grads, adamScalarInputs(b.g, gStepInput('adam')));
    if (nets.G_ema) b.emaStep(G, nets.G_ema, emaScalarInputs(b.g));
    gStep = {
      loss: b.out('g.loss', f.loss),
      gradNorm: b.out('g.grad_norm', globalNorm(lossGrads)),
      gradNormTotal: b.out('g.grad_norm_total', globalNorm(grads)),
    };
    if (f.sigmaReg) gStep.sigmaReg = b.out('g.sigma_reg', f.sigmaReg);
    if (plan.trace) {
      const ortho = [...orthoTerms.keys()];
      gStep.trace = {
        gZ: b.out('g.G_z', f.fake),
        dFake: b.out('g.D_fake', f.dFake),
        lossGrads: b.outEach('g.grad_loss', gTrainable, lossGrads),
        ortho: b.outEach('g.ortho', ortho, ortho.map((p) => orthoTerms.get(p)!)),
        grads: b.outEach('g.grad', gTrainable, grads),
      };
    }
  }

  const layout = b.finish(`BigGAN training stages: ${plan.dSteps} D step(s)${plan.gStep ? ', G step' : ''}`);
  return { ...layout, dSteps, gStep };
}
