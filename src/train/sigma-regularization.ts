/**
 * σ0 regularisation of G, the alternative to clamping that the paper's §4.1 analysis
 * discusses: a loss term pulling each spectrally normalised weight's top singular value
 * towards a target instead of cutting it,
 *
 *   G_loss += β_σ · Σ_layers (σ0(W) − target)²,   target = σ_reg (fixed) or r · sg(σ1(W))
 *
 * σ0 is the spectral-norm σ G's forward already divides by (one power iteration, a
 * differentiable function of W). σ1 is not available in the graph: it is estimated in
 * float64 JavaScript (singular-values.ts) and fed as a per-layer target, so it is a
 * constant for the gradient exactly as sg(·) asks.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module } from '../nn/module.js';
import { SpectralWeight } from '../nn/spectral-norm.js';
import { topSingularValues } from './run/singular-values.js';

export type SigmaRegTarget = { target: number } | { ratio: number };

/** The weights of G's spectrally normalised layers (the ones with a σ0 in the forward), in module order. */
export function sigmaRegWeights(G: Module): Param[] {
  return G.namedModules()
    .map(([, m]) => m)
    .filter((m): m is SpectralWeight => m instanceof SpectralWeight && m.weight.trainable)
    .map((m) => m.weight);
}

/** Σ_l (σ_l − target_l)² from the forward's σ tensors ([1, 1] each) and a [L] target input. */
export function sigmaRegPenalty(sigmas: Tensor[], target: Tensor): Tensor {
  op.expectShape(target, [sigmas.length], 'σ0 regulariser targets');
  const s = op.concat(
    sigmas.map((t) => op.reshape(t, [1])),
    0,
  );
  return op.reduceSum(op.square(op.sub(s, target)), [0]);
}

/** σ1 of a weight viewed as [out, rest] (float64 power iteration). */
export function secondSingularValue(p: Param): number {
  const rows = p.shape[0];
  return topSingularValues(p.data, rows, p.data.length / rows, { k: 2 }).values[1] ?? 0;
}

/** The per-layer targets fed to the graph; `sigma1` supplies σ1 for the ratio form. */
export function sigmaRegTargets(mode: SigmaRegTarget, weights: Param[], sigma1: (p: Param) => number): Float32Array {
  return Float32Array.from(weights, (p) => ('target' in mode ? mode.target : mode.ratio * sigma1(p)));
}

export function checkSigmaReg(mode: SigmaRegTarget | undefined, strength: number | undefined): void {
  if (mode) {
    const v = 'target' in mode ? mode.target : mode.ratio;
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`sigmaReg ${'target' in mode ? 'target' : 'ratio'} must be a positive number, got ${v}`);
  }
  if (strength !== undefined && !(Number.isFinite(strength) && strength >= 0)) throw new Error(`sigmaRegStrength must be >= 0, got ${strength}`);
}
