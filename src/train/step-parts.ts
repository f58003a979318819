/**
 * The pieces of a D step and a G step graph (BigGAN-PyTorch train_fns.GAN_training_function)
 * that the iteration graphs (iteration-graph.ts) and the gradient-accumulation stages
 * (accumulation-graph.ts) share, so both compute exactly the same forward passes, losses
 * and ortho terms:
 *
 *   discriminatorForward  G(z, y_fake) in train mode without grad, D on [G_z; x] in one call,
 *                         the GAN loss (hinge by default) [+ (γ/2)·R1] [+ λ·penalty]
 *   generatorForward      D(G(z, y_fake), y_fake) with D frozen, the GAN loss [+ β_σ·σ0 term]
 *   withOrthoTerms        the loss gradients plus the ortho term of each regularised weight
 *
 * Each forward reads every weight and buffer at its current value in the stage and records
 * its buffer updates (SN vectors, BN statistics) in the returned contexts; the caller
 * applies them (StageBuilder.applyUpdates) once the gradients are built.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { trainContext, ForwardContext } from '../nn/module.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { LOSSES, type DiscriminatorLosses, type LossName } from './losses.js';
import { PENALTIES, weightKernels, type PenaltyName } from './penalties/penalties.js';
import { slopePenalty } from './penalties/gradient-slope.js';
import { AdamState } from './optimizer-state.js';
import { OrthoVariant, orthoGradient } from './orthogonal-regularization.js';
import { r1Penalty } from './r1-penalty.js';
import { sigmaRegPenalty } from './sigma-regularization.js';
import type { StageBuilder } from './stage-builder.js';

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
  /** The GAN loss (absent: hinge, the paper's). */
  loss?: LossName;
  /**
   * A penalty on D (absent or 'none': off), times the scalar input `d<k>.penalty_weight`; its
   * uniform noise, when it takes some, is the input `d<k>.penalty_noise`.
   */
  penalty?: PenaltyName;
  /**
   * G's SN weights whose σ0 is regularised (absent or empty: off); inputs
   * `g.sigma_reg.target` [L] (one target per weight, in this order) and `g.sigma_reg.strength` [].
   */
  sigmaReg?: Param[];
  /** Cross-replica BatchNorm in G: statistics over this many data-parallel replicas' batches (absent: this batch's). */
  crossReplicas?: number;
}

/** G's forward context's cross-replica setting, when on. */
const replicasOf = (nets: TrainNetworks): Pick<ForwardContext, 'crossReplicas'> => (nets.crossReplicas && nets.crossReplicas > 1 ? { crossReplicas: nets.crossReplicas } : {});

/** Input names of D step k and of the G step. */
export const dStepInput = (k: number, what: 'x_real' | 'y_real' | 'z' | 'y_fake' | 'adam' | 'r1_gamma' | 'penalty_weight' | 'penalty_noise'): string => `d${k}.${what}`;
export const gStepInput = (what: 'z' | 'y_fake' | 'adam' | 'ortho_scale' | 'sigma_reg'): string => `g.${what}`;

export interface DiscriminatorForward {
  /** G's output (no gradient flows back into G). */
  fake: Tensor;
  dFake: Tensor;
  dReal: Tensor;
  /** The loss's terms (real, fake, total). */
  loss: DiscriminatorLosses;
  /** R1 (before γ/2), when nets.r1. */
  r1: Tensor | null;
  /** The penalty (before its weight), when nets.penalty. */
  penalty: Tensor | null;
  /** What D is trained on: loss total [+ (γ/2)·R1] [+ λ·penalty]. */
  dLoss: Tensor;
  /** D's trainable weights as this forward read them (differentiate dLoss w.r.t. these). */
  dWeights: Tensor[];
  gCtx: ForwardContext;
  dCtx: ForwardContext;
}

/** The forward pass and loss of D step k (inputs `d<k>.*`). */
export function discriminatorForward(b: StageBuilder, nets: TrainNetworks, k: number): DiscriminatorForward {
  const { G, D, batch: B } = nets;
  const R = G.resolution;
  const g = b.g;
  const gEntries = G.namedParams().map(([, p]) => p);
  const dEntries = D.namedParams().map(([, p]) => p);
  const dTrainable = dEntries.filter((p) => p.trainable);
  const x = g.input(dStepInput(k, 'x_real'), [B, 3, R, R]);
  const yReal = g.input(dStepInput(k, 'y_real'), [B], 'int64');
  const z = g.input(dStepInput(k, 'z'), [B, G.zDim]);
  const yFake = g.input(dStepInput(k, 'y_fake'), [B], 'int64');
  const gCtx: ForwardContext = { ...trainContext(), noGrad: true, ...replicasOf(nets) }; // G runs without grad in D steps
  const fake = g.withBindings(b.bindingsOf(gEntries, true), () => G.forward(gCtx, { z, classes: { ids: yFake } }));
  op.expectShape(fake, [B, 3, R, R], 'G output');
  const dWeights = dTrainable.map((p) => b.cur(p));
  const dCtx = trainContext();
  const logits = g.withBindings(b.bindingsOf(dEntries, false), () =>
    D.forward(dCtx, op.concat([op.stopGradient(fake), x], 0), op.concat([yFake, yReal], 0)),
  );
  op.expectShape(logits, [2 * B, 1], 'D logits');
  const dFake = op.slice(logits, 0, 0, B);
  const dReal = op.slice(logits, 0, B, 2 * B);
  const loss = LOSSES[nets.loss ?? 'hinge'].discriminator(dFake, dReal);
  // R1 on the reals of this very forward (same weights, same SN state as the loss)
  const r1 = nets.r1 ? r1Penalty(dReal, x) : null;
  let dLoss = r1 ? op.add(loss.total, op.mul(r1, op.mul(g.input(dStepInput(k, 'r1_gamma'), []), 0.5))) : loss.total;
  const penalty = penaltyTerm(b, nets, k, { real: x, fake, yReal, dEntries, dTrainable, dWeights });
  if (penalty) dLoss = op.add(dLoss, op.mul(penalty, g.input(dStepInput(k, 'penalty_weight'), [])));
  return { fake, dFake, dReal, loss, r1, penalty, dLoss, dWeights, gCtx, dCtx };
}

/**
 * The study's penalty on D (penalties/penalties.ts) for D step k: slope penalties evaluate D once
 * more, at their points, with the step's current weights (batch statistics of the penalty batch;
 * that pass's buffer updates are dropped, so SN vectors and BN statistics advance once per step);
 * the l2 penalty reads the weights.
 */
function penaltyTerm(
  b: StageBuilder, nets: TrainNetworks, k: number,
  p: { real: Tensor; fake: Tensor; yReal: Tensor; dEntries: Param[]; dTrainable: Param[]; dWeights: Tensor[] },
): Tensor | null {
  const name = nets.penalty ?? 'none';
  if (name === 'none') return null;
  const penalty = PENALTIES[name];
  const g = b.g;
  if ('weights' in penalty) {
    const kernels = new Set(weightKernels(nets.D));
    return penalty.weights(p.dTrainable.flatMap((param, i) => (kernels.has(param) ? [p.dWeights[i]] : [])));
  }
  if (!('points' in penalty)) throw new Error(`penalty ${name} has neither points nor weights`);
  const shape = penalty.noiseShape(p.real.shape);
  if (!shape) throw new Error(`penalty ${name} needs noise`);
  const points = penalty.points({ real: p.real, fake: p.fake, noise: g.input(dStepInput(k, 'penalty_noise'), shape) });
  const logits = g.withBindings(b.bindingsOf(p.dEntries, false), () => nets.D.forward(trainContext(), points, p.yReal));
  return slopePenalty(logits, points);
}

export interface GeneratorForward {
  fake: Tensor;
  dFake: Tensor;
  /** G's loss (hinge: -mean D(G(z))). */
  loss: Tensor;
  /** Σ (σ0 − target)² (before β_σ), when nets.sigmaReg. */
  sigmaReg: Tensor | null;
  /** What G is trained on: hinge [+ β_σ·σ0 term]. */
  gLoss: Tensor;
  /** G's trainable weights as this forward read them. */
  gWeights: Tensor[];
  gCtx: ForwardContext;
  dCtx: ForwardContext;
}

/** The forward pass and loss of the G step (inputs `g.*`). */
export function generatorForward(b: StageBuilder, nets: TrainNetworks): GeneratorForward {
  const { G, D, batch: B } = nets;
  const g = b.g;
  const gEntries = G.namedParams().map(([, p]) => p);
  const dEntries = D.namedParams().map(([, p]) => p);
  const z = g.input(gStepInput('z'), [B, G.zDim]);
  const yFake = g.input(gStepInput('y_fake'), [B], 'int64');
  const gWeights = gEntries.filter((p) => p.trainable).map((p) => b.cur(p));
  const gCtx: ForwardContext = { ...trainContext(), sigmas: new Map(), ...replicasOf(nets) };
  const dCtx = trainContext();
  const fake = g.withBindings(b.bindingsOf(gEntries, false), () => G.forward(gCtx, { z, classes: { ids: yFake } }));
  const dFake = g.withBindings(b.bindingsOf(dEntries, true), () => D.forward(dCtx, fake, yFake));
  op.expectShape(dFake, [B, 1], 'D logits');
  const loss = LOSSES[nets.loss ?? 'hinge'].generator(dFake);
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
  return { fake, dFake, loss, sigmaReg, gLoss, gWeights, gCtx, dCtx };
}

/**
 * The gradients Adam consumes in a G step: each loss gradient plus, for the ortho
 * targets, the ortho term of the weight (upstream adds it after backward, before the
 * step: from the weights before the step). Input `g.ortho_scale` (β times the variant's factor).
 */
export function withOrthoTerms(
  b: StageBuilder, nets: TrainNetworks, gTrainable: Param[], gWeights: Tensor[], lossGrads: Tensor[],
): { grads: Tensor[]; orthoTerms: Map<Param, Tensor> } {
  const targets = new Set(nets.orthoTargets);
  const variant = nets.orthoVariant;
  const orthoScale = variant === 'none' || targets.size === 0 ? null : b.g.input(gStepInput('ortho_scale'), []);
  const orthoTerms = new Map<Param, Tensor>();
  const grads = gTrainable.map((p, i) => {
    if (!orthoScale || variant === 'none' || !targets.has(p)) return lossGrads[i];
    const term = orthoGradient(gWeights[i], variant, orthoScale);
    orthoTerms.set(p, term);
    return op.add(lossGrads[i], term);
  });
  return { grads, orthoTerms };
}
