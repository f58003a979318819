/**
 * The training hyper-parameters (GanHyper), the paper's defaults and their checks, and
 * which optional terms a setting switches on.
 */
import { LOSSES, type LossName } from './losses.js';
import { PENALTIES, type PenaltyName } from './penalties/penalties.js';
import { OrthoVariant, ORTHO_VARIANTS } from './orthogonal-regularization.js';
import { checkSigmaReg, SigmaRegTarget } from './sigma-regularization.js';

export interface GanHyper {
  gLr: number;
  dLr: number;
  /** Adam (beta1, beta2) of both networks, unless gBetas / dBetas say otherwise. */
  betas: [number, number];
  gBetas?: [number, number];
  dBetas?: [number, number];
  adamEps: number;
  numDSteps: number;
  /** β of the orthogonal regularisation of G (0: off). */
  orthoBeta: number;
  orthoVariant: OrthoVariant;
  emaDecay: number;
  /** Iteration (1-based) from which G_ema averages; before it G_ema copies G. */
  emaStart: number;
  /** γ of the R1 zero-centred gradient penalty on D: D_loss += γ/2 · mean ||∂D(x)/∂x||² over reals (0 / absent: off). */
  r1Gamma?: number;
  /** The GAN loss (absent: hinge). */
  loss?: LossName;
  /** The study's penalty on D (absent or 'none': off), D_loss += penaltyWeight · penalty. */
  penalty?: PenaltyName;
  penaltyWeight?: number;
  /** σ0 regularisation of G's SN weights towards a fixed target or r · σ1 (absent: off); see sigma-regularization.ts. */
  sigmaReg?: SigmaRegTarget;
  /** β_σ of the σ0 regulariser (absent or 0: off). */
  sigmaRegStrength?: number;
  /**
   * Micro-batches whose gradients each D step / the G step sums before its one Adam step
   * (upstream num_D_accumulations / num_G_accumulations; absent: 1). Each micro-batch's loss
   * is divided by K; each forward uses its own micro-batch's BN statistics. K > 1 needs
   * graphs 'per-step'.
   */
  numDAccumulations?: number;
  numGAccumulations?: number;
}

/** The paper's ImageNet 128x128 settings (BigGAN-PyTorch launch_BigGAN_bs256x8.sh for eps and ema_start). */
export const PAPER_HYPER: Readonly<GanHyper> = {
  gLr: 5e-5,
  dLr: 2e-4,
  betas: [0, 0.999],
  adamEps: 1e-6,
  numDSteps: 2,
  orthoBeta: 1e-4,
  orthoVariant: 'biggan',
  emaDecay: 0.9999,
  emaStart: 20000,
};

export function checkHyper(h: GanHyper): void {
  const pos = (v: number, what: string) => {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${what} must be a positive number, got ${v}`);
  };
  pos(h.gLr, 'gLr');
  pos(h.dLr, 'dLr');
  pos(h.adamEps, 'adamEps');
  for (const [what, b] of [['betas', h.betas], ['gBetas', h.gBetas], ['dBetas', h.dBetas]] as const) {
    if (b && !(b.length === 2 && b.every((x) => x >= 0 && x < 1))) throw new Error(`${what} must be two numbers in [0, 1), got [${b}]`);
  }
  if (!Number.isInteger(h.numDSteps) || h.numDSteps < 1) throw new Error(`numDSteps must be a positive integer, got ${h.numDSteps}`);
  for (const [what, k] of [['numDAccumulations', h.numDAccumulations], ['numGAccumulations', h.numGAccumulations]] as const) {
    if (k !== undefined && !(Number.isInteger(k) && k >= 1)) throw new Error(`${what} must be a positive integer, got ${k}`);
  }
  if (!ORTHO_VARIANTS.includes(h.orthoVariant)) throw new Error(`orthoVariant must be one of ${ORTHO_VARIANTS.join(', ')}, got ${h.orthoVariant}`);
  if (!(h.orthoBeta >= 0)) throw new Error(`orthoBeta must be >= 0, got ${h.orthoBeta}`);
  if (!(h.emaDecay >= 0 && h.emaDecay <= 1)) throw new Error(`emaDecay must be in [0, 1], got ${h.emaDecay}`);
  if (!(h.emaStart >= 0)) throw new Error(`emaStart must be >= 0, got ${h.emaStart}`);
  if (h.r1Gamma !== undefined && !(Number.isFinite(h.r1Gamma) && h.r1Gamma >= 0)) throw new Error(`r1Gamma must be >= 0, got ${h.r1Gamma}`);
  if (h.loss !== undefined && !Object.hasOwn(LOSSES, h.loss)) throw new Error(`unknown loss ${h.loss}`);
  if (h.penalty !== undefined && !Object.hasOwn(PENALTIES, h.penalty)) throw new Error(`unknown penalty ${h.penalty}`);
  if (h.penaltyWeight !== undefined && !(Number.isFinite(h.penaltyWeight) && h.penaltyWeight >= 0)) throw new Error(`penaltyWeight must be >= 0, got ${h.penaltyWeight}`);
  checkSigmaReg(h.sigmaReg, h.sigmaRegStrength);
}

export function r1Active(h: GanHyper): boolean {
  return (h.r1Gamma ?? 0) > 0;
}

export function penaltyActive(h: GanHyper): boolean {
  return (h.penalty ?? 'none') !== 'none';
}

export function sigmaRegActive(h: GanHyper): boolean {
  return h.sigmaReg !== undefined && (h.sigmaRegStrength ?? 0) > 0;
}

export function orthoActive(h: GanHyper): boolean {
  return h.orthoVariant !== 'none' && h.orthoBeta !== 0;
}
