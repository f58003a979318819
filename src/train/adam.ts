/**
 * Adam as torch.optim.Adam (torch 1.13, single-tensor path, no weight decay, no
 * amsgrad) computes it in float32, written into the graph:
 *
 *   m  = m * b1 + g * (1 - b1)
 *   v  = v * b2 + ((1 - b2) * g) * g
 *   p  = p + ((-lr / bc1) * m) / (sqrt(v) / sqrt(bc2) + eps)      bc_i = 1 - b_i^t
 *
 * The per-step scalars (bias corrections, step size) are Python floats upstream, i.e.
 * float64 numbers rounded to float32 where they meet a tensor; we compute them in
 * float64 here in JS and feed them as float32 scalar inputs, so changing the learning
 * rate or the step count never changes the compiled graph.
 */
import { Graph, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
}

/** Float32 scalars one Adam step consumes, as graph inputs. */
export interface AdamScalars {
  beta1: Tensor;
  oneMinusBeta1: Tensor;
  beta2: Tensor;
  oneMinusBeta2: Tensor;
  /** -lr / (1 - beta1^t) */
  negStepSize: Tensor;
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: Tensor;
  eps: Tensor;
}

const SCALAR_NAMES = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'negStepSize', 'bc2Sqrt', 'eps'] as const;

/** Declares the scalar inputs `${prefix}.<name>` (shape [], float32). */
export function adamScalarInputs(g: Graph, prefix: string): AdamScalars {
  const out = {} as Record<(typeof SCALAR_NAMES)[number], Tensor>;
  for (const n of SCALAR_NAMES) out[n] = g.input(`${prefix}.${n}`, []);
  return out;
}

/** Values for adamScalarInputs at 1-based step t, keyed by input name. */
export function adamScalarFeeds(prefix: string, hyper: AdamHyper, t: number): Record<string, Float32Array> {
  if (!Number.isInteger(t) || t < 1) throw new Error(`Adam step must be a positive integer, got ${t}`);
  const [b1, b2] = hyper.betas;
  const values: Record<(typeof SCALAR_NAMES)[number], number> = {
    beta1: b1,
    oneMinusBeta1: 1 - b1,
    beta2: b2,
    oneMinusBeta2: 1 - b2,
    negStepSize: -hyper.lr / (1 - b1 ** t),
    bc2Sqrt: Math.sqrt(1 - b2 ** t),
    eps: hyper.eps,
  };
  const feeds: Record<string, Float32Array> = {};
  for (const n of SCALAR_NAMES) feeds[`${prefix}.${n}`] = Float32Array.of(values[n]);
  return feeds;
}

export interface AdamUpdate {
  param: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** One Adam step for one parameter. */
export function adamUpdate(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, s: AdamScalars): AdamUpdate {
  const m = op.add(op.mul(expAvg, s.beta1), op.mul(grad, s.oneMinusBeta1));
  const v = op.add(op.mul(expAvgSq, s.beta2), op.mul(op.mul(grad, s.oneMinusBeta2), grad));
  const denom = op.add(op.div(op.sqrt(v), s.bc2Sqrt), s.eps);
  const p = op.add(param, op.div(op.mul(m, s.negStepSize), denom));
  return { param: p, expAvg: m, expAvgSq: v };
}
