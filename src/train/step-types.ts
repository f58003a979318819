/** What a training iteration / step takes and returns (the trainer's public shapes). */
import type { Param } from '../engine/graph.js';

/**
 * With Kd = numDAccumulations, Kg = numGAccumulations (1 without accumulation): micro-batch
 * j of D step k is number k·Kd + j, in the reals and in zs / yFakes; the G step's follow.
 */
export interface IterationInputs {
  /** [numDSteps * Kd * batch, 3, R, R] in [-1, 1]. */
  xReal: Float32Array;
  /** [numDSteps * Kd * batch] class ids. */
  yReal: BigInt64Array;
  /** numDSteps * Kd + Kg latent batches [batch, zDim]: the D steps' micro-batches, then the G step's. */
  zs: Float32Array[];
  /** As many fake-label batches [batch], paired with zs. */
  yFakes: BigInt64Array[];
  /** Penalties that take noise (wgan-gp, dragan): U[0, 1) of the penalty's noise shape, one per D micro-batch. */
  penaltyNoise?: Float32Array[];
}

export interface DStepInputs {
  penaltyNoise?: Float32Array;
  xReal: Float32Array;
  yReal: BigInt64Array;
  z: Float32Array;
  yFake: BigInt64Array;
}

export interface GStepInputs {
  z: Float32Array;
  yFake: BigInt64Array;
}

/** With accumulation, losses (and r1) are the mean over the micro-batches of their unscaled values. */
export interface DStepResult {
  lossReal: number;
  lossFake: number;
  /** Global L2 norm of D's gradient (of the loss Adam consumes, R1 term included; with accumulation, of the sum). */
  gradNorm: number;
  /** mean ||∂D(x_real)/∂x_real||² of this step (before γ/2), when r1Gamma > 0. */
  r1?: number;
  /** The penalty of this step (before its weight), when one is on. */
  penalty?: number;
}

/** With accumulation: gZ / dFake / dReal of the micro-batches concatenated in order, grads the summed gradient Adam used. */
export interface DStepTrace {
  gZ: Float32Array;
  dFake: Float32Array;
  dReal: Float32Array;
  /** Gradient of D_loss_real + D_loss_fake per trainable D parameter. */
  grads: Map<Param, Float32Array>;
  /** Every G and D entry this step changed, after it (D weights, SN vectors, BN statistics). */
  after: Map<Param, Float32Array>;
}

/** With accumulation, loss (and sigmaReg) are means over the micro-batches, the norms those of the summed gradient. */
export interface GStepResult {
  loss: number;
  /** Global L2 norm of dG_loss/dθ. */
  gradNorm: number;
  /** ... and of the gradient Adam consumes (with the ortho term). */
  gradNormWithOrtho: number;
  /** Σ (σ0 − target)² over G's SN weights (before β_σ), when the σ0 regulariser is on. */
  sigmaReg?: number;
}

/** With accumulation: gZ / dFake concatenated over the micro-batches, lossGrads their sum. */
export interface GStepTrace {
  gZ: Float32Array;
  dFake: Float32Array;
  lossGrads: Map<Param, Float32Array>;
  /** The ortho term of each regularised parameter. */
  ortho: Map<Param, Float32Array>;
  grads: Map<Param, Float32Array>;
}

export interface IterationResult {
  /** Iterations done, this one included (upstream state_dict['itr']). */
  itr: number;
  /** The last D step's losses (what upstream returns) and G's. */
  dLossReal: number;
  dLossFake: number;
  gLoss: number;
  dSteps: DStepResult[];
  gStep: GStepResult;
  trace?: { dSteps: DStepTrace[]; gStep: GStepTrace };
}

/** One step's result, with its trace when asked for. */
export interface DStepOutcome {
  result: DStepResult;
  trace?: DStepTrace;
}

export interface GStepOutcome {
  result: GStepResult;
  trace?: GStepTrace;
}
