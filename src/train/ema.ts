/**
 * Exponential moving average of the generator (BigGAN-PyTorch utils.ema), over EVERY
 * state-dict entry: parameters and buffers (SN vectors, BN running statistics) alike.
 *
 *   G_ema[k] = G_ema[k] * decay + G[k] * (1 - decay)
 *
 * decay is 0 (a plain copy) while 0 < itr < ema_start, else ema_decay (itr counts
 * iterations from 1; upstream's `if itr and itr < start` treats itr 0 as "started").
 * decay and 1 - decay are float64 numbers rounded to float32, as torch's scalar
 * arithmetic does, and are fed as inputs.
 */
import { Graph, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';

export interface EmaHyper {
  decay: number;
  /** Iteration from which the average starts (before it, G_ema copies G). */
  start: number;
}

export function emaDecayAt(itr: number, hyper: EmaHyper): number {
  return itr && itr < hyper.start ? 0 : hyper.decay;
}

export interface EmaScalars {
  decay: Tensor;
  oneMinusDecay: Tensor;
}

export function emaScalarInputs(g: Graph): EmaScalars {
  return { decay: g.input('ema.decay', []), oneMinusDecay: g.input('ema.oneMinusDecay', []) };
}

export function emaScalarFeeds(itr: number, hyper: EmaHyper): Record<string, Float32Array> {
  const d = emaDecayAt(itr, hyper);
  return { 'ema.decay': Float32Array.of(d), 'ema.oneMinusDecay': Float32Array.of(1 - d) };
}

export function emaUpdate(target: Tensor, source: Tensor, s: EmaScalars): Tensor {
  return op.add(op.mul(target, s.decay), op.mul(source, s.oneMinusDecay));
}
