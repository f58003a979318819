/**
 * Gradient of a scalar graph output w.r.t. parameters, checked along random directions in parameter
 * space: ⟨∇f, v⟩ from the gradient graph (float64 interpreter and onnxruntime float32) against float64
 * central finite differences (f(θ+hv) − f(θ−hv)) / 2h. Two interpreter evaluations per direction
 * instead of two per parameter element, yet every element of the chosen tensors is exercised. The
 * directions: each tensor alone, then all of them together.
 */
import assert from 'node:assert/strict';
import type { Graph, Param, Tensor } from '../src/engine/graph.js';
import { Rng } from '../src/random/rng.js';
import { evaluate, type RefFeed, type RefValue } from './reference-interpreter.js';
import { dot } from './ort-eval.js';

export interface DirectionalCheck {
  g: Graph;
  /** The scalar being differentiated, and its float64 value at θ. */
  value: Tensor;
  valueAt: number;
  wrt: Param[];
  names: string[];
  feeds: Map<Tensor, RefFeed>;
  /** Stop-gradient values pinned as the gradient assumes. */
  pinned: Map<Tensor, RefValue>;
  /** ∂value/∂wrt[j] from the float64 interpreter and from onnxruntime. */
  grads64: RefValue[];
  grads32: Float32Array[];
  label: string;
}

export interface DirectionResult {
  what: string;
  fd: number;
  graph64: number;
  graph32: number;
  scale: number;
}

/** Asserts both gradients along every direction; returns the figures per direction for further checks. */
export function checkDirectionalDerivatives(c: DirectionalCheck, h = 1e-6): DirectionResult[] {
  const rng = new Rng(11);
  const { wrt } = c;
  const directions: Float64Array[][] = [
    ...wrt.map((_, k) => wrt.map((p, j) => (j === k ? Float64Array.from(rng.fillNormal(new Float32Array(p.data.length))) : new Float64Array(p.data.length)))),
    wrt.map((p) => Float64Array.from(rng.fillNormal(new Float32Array(p.data.length)))),
  ];
  const at = (dir: Float64Array[], t: number): number => {
    const feeds = new Map(c.feeds);
    wrt.forEach((p, j) => feeds.set(c.g.param(p), Float64Array.from(p.data, (v, i) => v + t * dir[j][i])));
    return evaluate(c.g, [c.value], feeds, c.pinned)[0].data[0];
  };
  return directions.map((dir, d) => {
    const fd = (at(dir, h) - at(dir, -h)) / (2 * h);
    const graph64 = wrt.reduce((s, _, j) => s + dot(c.grads64[j].data, dir[j]), 0);
    const graph32 = wrt.reduce((s, _, j) => s + dot(c.grads32[j], dir[j]), 0);
    // scale: the size the directional derivative could have, Σ |∇||v| (cancellation-safe);
    // noise: float64 rounding of the value (~1e-14 relative after thousands of ops) over 2h
    const scale = wrt.reduce((s, _, j) => s + Math.hypot(...c.grads64[j].data) * Math.hypot(...dir[j]), 0);
    const noise = (1e-14 * c.valueAt) / h;
    const what = d < wrt.length ? c.names[d] : 'all together';
    console.log(`${c.label} directional derivative (${what}): finite differences ${fd.toExponential(6)}, graph float64 ${graph64.toExponential(6)}, onnxruntime ${graph32.toExponential(6)}`);
    assert.ok(Math.abs(graph64 - fd) <= 1e-6 * scale + noise, `${c.label} ${what}: float64 gradient graph ${graph64} vs finite differences ${fd} (scale ${scale})`);
    assert.ok(Math.abs(graph32 - fd) <= 1e-3 * scale, `${c.label} ${what}: onnxruntime gradient ${graph32} vs finite differences ${fd} (scale ${scale})`);
    return { what, fd, graph64, graph32, scale };
  });
}
