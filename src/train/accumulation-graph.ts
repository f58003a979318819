/**
 * The graphs of gradient accumulation (BigGAN-PyTorch train_fns.GAN_training_function
 * with num_D_accumulations / num_G_accumulations = K > 1). One D or G step over K
 * micro-batches is K runs of a "grad" stage and one run of an "apply" stage:
 *
 *   d-grad   one micro-batch (inputs d0.*, as D step 0 of the iteration graph): the D
 *            step's forward exactly as there (G in train mode without grad, D on
 *            [G_z; x]), loss = D_loss / K (input acc.divisor = K, as upstream's
 *            `/ float(K)`); outputs the gradient of each trainable D parameter, the
 *            unscaled losses and the new SN vectors / BN statistics of G and D. No Adam.
 *   d-apply  inputs acc.grad:<D param> (the K gradients summed) and d0.adam.*: one Adam
 *            step on D; outputs the norm of the summed gradient.
 *   g-grad   one micro-batch (inputs g.*): G forward with grad, D frozen, loss =
 *            G_loss / K; outputs G's loss gradients, the unscaled loss(es), buffers.
 *   g-apply  inputs acc.grad:<G param>, g.ortho_scale, g.adam.*, ema.*: the ortho term
 *            from the weights before the step, added once to the summed gradient, one
 *            Adam step on G, then the EMA of every G entry.
 *
 * Each forward normalises with its own micro-batch's BatchNorm statistics and updates
 * the SN vectors and running statistics, as upstream's K separate forward calls do.
 * The forward passes, the ortho term, Adam and the EMA are the functions the iteration
 * graphs use (step-parts.ts, stage-builder.ts), so the arithmetic is the same.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { grad } from '../engine/autodiff.js';
import { adamScalarInputs } from './adam.js';
import { emaScalarInputs } from './ema.js';
import { globalNorm } from './gradient-norm.js';
import { StageBuilder, StageLayout } from './stage-builder.js';
import { discriminatorForward, dStepInput, generatorForward, gStepInput, TrainNetworks, withOrthoTerms } from './step-parts.js';

/** Input of the grad stages: K, the number of micro-batches (shape [], float32). */
export const ACC_DIVISOR = 'acc.divisor';

/** Name of a parameter's gradient: an output of the grad stages, an input of the apply stages. */
export const accGradName = (p: Param): string => `acc.grad:${p.name}`;

export interface DGradStage extends StageLayout {
  /** Output name of the gradient of D_loss / K per trainable D parameter. */
  grads: Map<Param, string>;
  /** The micro-batch's unscaled loss terms (and R1 before γ/2, the penalty before λ, when on). */
  lossReal: string;
  lossFake: string;
  r1?: string;
  penalty?: string;
  trace?: { gZ: string; dFake: string; dReal: string };
}

export interface DApplyStage extends StageLayout {
  /** Input name of the summed gradient per trainable D parameter. */
  grads: Map<Param, string>;
  gradNorm: string;
}

export interface GGradStage extends StageLayout {
  /** Output name of the gradient of G_loss / K per trainable G parameter. */
  grads: Map<Param, string>;
  /** The micro-batch's unscaled hinge loss (and σ0 term before β_σ, when on). */
  loss: string;
  sigmaReg?: string;
  trace?: { gZ: string; dFake: string };
}

export interface GApplyStage extends StageLayout {
  /** Input name of the summed loss gradient per trainable G parameter. */
  grads: Map<Param, string>;
  /** Norm of the summed loss gradient, and of what Adam consumes (with the ortho term). */
  gradNorm: string;
  gradNormTotal: string;
  trace?: { ortho: Map<Param, string>; grads: Map<Param, string> };
}

const trainable = (entries: [string, Param][]): Param[] => entries.map(([, p]) => p).filter((p) => p.trainable);

/** The gradients' outputs of a grad stage. */
function outGrads(b: StageBuilder, params: Param[], grads: Tensor[]): Map<Param, string> {
  return new Map(params.map((p, i) => [p, b.out(accGradName(p), grads[i])]));
}

/** The summed gradients as inputs of an apply stage. */
function gradInputs(b: StageBuilder, params: Param[]): Tensor[] {
  return params.map((p) => b.g.input(accGradName(p), [...p.shape]));
}

export function buildDGradStage(nets: TrainNetworks, trace: boolean): DGradStage {
  const b = new StageBuilder();
  const dTrainable = trainable(nets.D.namedParams());
  const f = discriminatorForward(b, nets, 0);
  const grads = grad(op.div(f.dLoss, b.g.input(ACC_DIVISOR, [])), f.dWeights);
  b.applyUpdates(f.gCtx);
  b.applyUpdates(f.dCtx);
  const stage = {
    grads: outGrads(b, dTrainable, grads),
    lossReal: b.out('d0.loss_real', f.loss.real),
    lossFake: b.out('d0.loss_fake', f.loss.fake),
    ...(f.r1 ? { r1: b.out('d0.r1', f.r1) } : {}),
    ...(f.penalty ? { penalty: b.out('d0.penalty', f.penalty) } : {}),
    ...(trace ? { trace: { gZ: b.out('d0.G_z', f.fake), dFake: b.out('d0.D_fake', f.dFake), dReal: b.out('d0.D_real', f.dReal) } } : {}),
  };
  return { ...b.finish('BigGAN training stage: one D micro-batch (gradients of D_loss / K, buffer updates)'), ...stage };
}

export function buildDApplyStage(nets: TrainNetworks): DApplyStage {
  const b = new StageBuilder();
  const dTrainable = trainable(nets.D.namedParams());
  const grads = gradInputs(b, dTrainable);
  b.adamStep(nets.dAdam, dTrainable, grads, adamScalarInputs(b.g, dStepInput(0, 'adam')));
  const gradNorm = b.out('d0.grad_norm', globalNorm(grads));
  return { ...b.finish('BigGAN training stage: Adam on D with the accumulated gradient'), grads: new Map(dTrainable.map((p) => [p, accGradName(p)])), gradNorm };
}

export function buildGGradStage(nets: TrainNetworks, trace: boolean): GGradStage {
  const b = new StageBuilder();
  const gTrainable = trainable(nets.G.namedParams());
  const f = generatorForward(b, nets);
  const grads = grad(op.div(f.gLoss, b.g.input(ACC_DIVISOR, [])), f.gWeights);
  b.applyUpdates(f.gCtx);
  b.applyUpdates(f.dCtx);
  const stage = {
    grads: outGrads(b, gTrainable, grads),
    loss: b.out('g.loss', f.loss),
    ...(f.sigmaReg ? { sigmaReg: b.out('g.sigma_reg', f.sigmaReg) } : {}),
    ...(trace ? { trace: { gZ: b.out('g.G_z', f.fake), dFake: b.out('g.D_fake', f.dFake) } } : {}),
  };
  return { ...b.finish('BigGAN training stage: one G micro-batch (gradients of G_loss / K, buffer updates)'), ...stage };
}

export function buildGApplyStage(nets: TrainNetworks, trace: boolean): GApplyStage {
  const b = new StageBuilder();
  const gTrainable = trainable(nets.G.namedParams());
  const lossGrads = gradInputs(b, gTrainable);
  // the weights before the step: the grad stages never change them
  const gWeights = gTrainable.map((p) => b.cur(p));
  const { grads, orthoTerms } = withOrthoTerms(b, nets, gTrainable, gWeights, lossGrads);
  b.adamStep(nets.gAdam, gTrainable, grads, adamScalarInputs(b.g, gStepInput('adam')));
  if (nets.G_ema) b.emaStep(nets.G, nets.G_ema, emaScalarInputs(b.g));
  const stage = {
    grads: new Map(gTrainable.map((p) => [p, accGradName(p)])),
    gradNorm: b.out('g.grad_norm', globalNorm(lossGrads)),
    gradNormTotal: b.out('g.grad_norm_total', globalNorm(grads)),
    ...(trace
      ? {
          trace: {
            ortho: b.outEach('g.ortho', [...orthoTerms.keys()], [...orthoTerms.values()]),
            grads: b.outEach('g.grad', gTrainable, grads),
          },
        }
      : {}),
  };
  return { ...b.finish('BigGAN training stage: ortho term, Adam on G with the accumulated gradient, EMA'), ...stage };
}
