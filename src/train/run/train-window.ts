/**
 * The iterations between two 'train' records of log.jsonl: their losses, gradient norms
 * and seconds summed, and the record made of their means. Also the first non-finite
 * value of an iteration, which stops a diverging run.
 */
import { emaDecayAt } from '../ema.js';
import type { IterationResult } from '../train-step.js';
import type { TrainConfig } from './config.js';
import type { LogRecord } from './run-log.js';

export interface Window {
  n: number;
  dReal: number;
  dFake: number;
  g: number;
  dGrad: number;
  gGrad: number;
  gGradTotal: number;
  /** Sums of R1 (last D step) and of the σ0 regulariser term (logged only when those are on). */
  r1: number;
  penalty: number;
  sigmaReg: number;
  seconds: number;
}

export const emptyWindow = (): Window => ({ n: 0, dReal: 0, dFake: 0, g: 0, dGrad: 0, gGrad: 0, gGradTotal: 0, r1: 0, penalty: 0, sigmaReg: 0, seconds: 0 });

export function accumulate(w: Window, r: IterationResult, seconds: number): Window {
  return {
    n: w.n + 1,
    dReal: w.dReal + r.dLossReal,
    dFake: w.dFake + r.dLossFake,
    g: w.g + r.gLoss,
    dGrad: w.dGrad + r.dSteps[r.dSteps.length - 1].gradNorm,
    gGrad: w.gGrad + r.gStep.gradNorm,
    gGradTotal: w.gGradTotal + r.gStep.gradNormWithOrtho,
    r1: w.r1 + (r.dSteps[r.dSteps.length - 1].r1 ?? 0),
    penalty: w.penalty + (r.dSteps[r.dSteps.length - 1].penalty ?? 0),
    sigmaReg: w.sigmaReg + (r.gStep.sigmaReg ?? 0),
    seconds: w.seconds + seconds,
  };
}

/** What the latest 'train' record holds, for the progress line. */
export interface LoggedValues {
  step: number;
  itPerS: number;
  dLossReal: number;
  dLossFake: number;
  gLoss: number;
}

/** The 'train' record of a window ending at `step` (its means), and the values the progress line shows. */
export function trainRecord(w: Window, c: TrainConfig, at: { step: number; epoch: number; elapsed: number }): { record: LogRecord; logged: LoggedValues } {
  const n = Math.max(w.n, 1);
  const logged = { step: at.step, itPerS: w.n / w.seconds, dLossReal: w.dReal / n, dLossFake: w.dFake / n, gLoss: w.g / n };
  const record = {
    type: 'train',
    step: at.step,
    epoch: at.epoch,
    d_loss_real: logged.dLossReal,
    d_loss_fake: logged.dLossFake,
    g_loss: logged.gLoss,
    d_grad_norm: w.dGrad / n,
    g_grad_norm: w.gGrad / n,
    g_grad_norm_total: w.gGradTotal / n,
    ...(c.r1Gamma > 0 ? { r1: w.r1 / n, r1_gamma: c.r1Gamma } : {}),
    ...(c.penalty && c.penalty !== 'none' ? { penalty: w.penalty / n } : {}),
    ...(c.sigmaReg ? { sigma_reg: w.sigmaReg / n } : {}),
    g_lr: c.gLr,
    d_lr: c.dLr,
    ema_decay: emaDecayAt(at.step, { decay: c.emaDecay, start: c.emaStart }),
    it_per_s: logged.itPerS,
    img_per_s: (w.n * c.dSteps * c.dAccumulations * c.batch) / w.seconds,
    elapsed_s: at.elapsed,
  };
  return { record, logged };
}

/** The first loss or gradient norm of an iteration that is NaN or infinite, named; null when all are finite. */
export function nonFinite(r: IterationResult): string | null {
  const named: [string, number][] = [
    ['D loss on real images', r.dLossReal],
    ['D loss on fake images', r.dLossFake],
    ['G loss', r.gLoss],
    ['G gradient norm', r.gStep.gradNormWithOrtho],
    ...r.dSteps.map((s, k) => [`D gradient norm (D step ${k + 1})`, s.gradNorm] as [string, number]),
  ];
  const bad = named.find(([, v]) => !Number.isFinite(v));
  return bad ? `${bad[0]} is ${bad[1]}` : null;
}
