/**
 * Gradient checks for every differentiable op and for the composite patterns the
 * BigGAN models are built from, micrograd-style.
 *
 * Each case builds a small graph `out`, takes loss = sum(out * fixed random weights),
 * builds the gradient graph with grad(), and runs everything on onnxruntime (float32).
 * The reference interpreter (float64) then
 *   - checks onnxruntime's forward values (validating the interpreter and the ONNX emission),
 *   - supplies central finite differences of the loss, which onnxruntime's gradients must match,
 *   - evaluates the gradient graph itself, which must match the finite differences tightly.
 * Inputs are drawn away from the kinks of relu / abs / max / floor so that finite
 * differences are meaningful.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { grad } from '../src/engine/autodiff.js';
import { exportOnnx, liveNodes } from '../src/engine/onnx-export.js';
import { CompiledGraph, Feed, Fetched } from '../src/engine/runtime.js';
import fs from 'node:fs';
import path from 'node:path';
import { evaluate, REFERENCE_OPS, RefValue } from './reference-interpreter.js';
import { REPO_ROOT } from './fixture-paths.js';
import { maxAbs } from './array-diff.js';
import { layerNorm, LAYER_NORM_EPS } from '../src/nn/layer-norm.js';

/** Forward: onnxruntime float32 vs reference float64, relative to the output's max |value|. */
const FWD_REL = 1e-5;
/** Gradients from onnxruntime vs finite differences, relative to the gradient's max |value|. */
const GRAD_REL = 1e-4;
/** The gradient graph evaluated in float64 vs finite differences. */
const REF_GRAD_REL = 1e-6;
/** Finite-difference step (float64). */
const H = 1e-6;

// ---------------------------------------------------------------- harness

/** mulberry32: a tiny seeded generator, so every case draws the same numbers each run. */
class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  array(n: number, lo = -1, hi = 1): number[] {
    return Array.from({ length: n }, () => this.uniform(lo, hi));
  }
  sign(): number {
    return this.next() < 0.5 ? -1 : 1;
  }
}

function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface Gen {
  /** Uniform range (default [-1, 1]). */
  lo?: number;
  hi?: number;
  /** Keep |v| >= gap (away from the kink of relu / abs at 0). */
  gap?: number;
  /** Explicit values instead of random ones. */
  values?: ArrayLike<number>;
  /** Differentiate with respect to this tensor (default true). */
  wrt?: boolean;
}

/** One test graph: its inputs and parameters, their values, and what to differentiate. */
class Case {
  readonly g = new Graph();
  readonly feeds = new Map<Tensor, Float32Array | BigInt64Array>();
  readonly wrt: Tensor[] = [];
  readonly rand: Rand;
  private count = 0;

  constructor(seed: number) {
    this.rand = new Rand(seed);
  }

  private draw(n: number, gen: Gen): Float32Array {
    if (gen.values) {
      if (gen.values.length !== n) throw new Error(`case: ${gen.values.length} values for ${n} elements`);
      return Float32Array.from(gen.values);
    }
    const lo = gen.lo ?? -1;
    const hi = gen.hi ?? 1;
    const gap = gen.gap ?? 0;
    return Float32Array.from({ length: n }, () => {
      if (gap > 0 && lo < 0 && hi > 0) return this.rand.sign() * this.rand.uniform(gap, Math.max(-lo, hi));
      return this.rand.uniform(lo, hi);
    });
  }

  /** A float32 graph input. */
  x(shape: number[], gen: Gen = {}): Tensor {
    const t = this.g.input(`x${this.count++}`, shape);
    this.feeds.set(t, this.draw(t.size, gen));
    if (gen.wrt !== false) this.wrt.push(t);
    return t;
  }

  /** A trainable parameter (fed as a graph input, as in training graphs). */
  p(shape: number[], gen: Gen = {}): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = this.g.param(new Param(`p${this.count++}`, shape, this.draw(n, { lo: -0.5, hi: 0.5, ...gen })));
    if (gen.wrt !== false) this.wrt.push(t);
    return t;
  }

  /** An int64 graph input. */
  ids(shape: number[], values: number[]): Tensor {
    const t = this.g.input(`ids${this.count++}`, shape, 'int64');
    this.feeds.set(t, BigInt64Array.from(values.map(BigInt)));
    return t;
  }

  /** A float32 constant. */
  c(shape: number[], gen: Gen = {}): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.g.floats(this.draw(n, gen), shape);
  }
}


/** |actual - expected| <= rel * max(max|expected|, floor) everywhere (NaN fails). */
function assertClose(actual: ArrayLike<number | bigint>, expected: ArrayLike<number>, rel: number, what: string, floor = 1e-3): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  const tol = rel * Math.max(maxAbs(expected), floor);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(Number(actual[i]) - expected[i]);
    if (!(err <= worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0 && !(worstErr <= tol)) {
    assert.fail(
      `${what}: max error ${worstErr.toExponential(3)} > tolerance ${tol.toExponential(3)} ` +
        `(at ${worst}: got ${Number(actual[worst])}, expected ${expected[worst]}; max |expected| ${maxAbs(expected).toExponential(3)})`,
    );
  }
}

async function runOrt(c: Case, outputs: Record<string, Tensor>): Promise<Record<string, Fetched>> {
  const model = exportOnnx(c.g, { outputs, paramInputs: 'all' });
  const byName = new Map([...c.feeds].map(([t, v]) => [t.name, v] as const));
  const feeds: Record<string, Feed> = {};
  for (const inp of model.inputs) feeds[inp.name] = inp.param ? inp.param.data : byName.get(inp.name)!;
  const cg = await CompiledGraph.create(model, { threads: 1 });
  try {
    return await cg.run(feeds);
  } finally {
    await cg.release();
  }
}

/**
 * Central differences of the scalar `loss` with respect to every element of each wrt
 * tensor, in float64. Stop-gradient outputs are held at their unperturbed values, which
 * is exactly what stopGradient promises the gradient to mean.
 */
function finiteDifferences(c: Case, loss: Tensor): Float64Array[] {
  const g = c.g;
  const stops = g.nodes.filter((n) => n.op === 'Identity' && n.attrs._stopGradient).map((n) => n.outputs[0]);
  const pinned = new Map<Tensor, RefValue>();
  if (stops.length) evaluate(g, stops, c.feeds).forEach((v, i) => pinned.set(stops[i], v));
  return c.wrt.map((t) => {
    const base = Float64Array.from(c.feeds.get(t) as Float32Array | undefined ?? t.param!.data);
    const feeds = new Map<Tensor, ArrayLike<number> | BigInt64Array>(c.feeds);
    feeds.set(t, base);
    const lossAt = (): number => evaluate(g, [loss], feeds, pinned)[0].data[0];
    const d = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const v = base[i];
      base[i] = v + H;
      const up = lossAt();
      base[i] = v - H;
      const down = lossAt();
      base[i] = v;
      d[i] = (up - down) / (2 * H);
    }
    return d;
  });
}

/** loss = sum(out * W) for fixed random W. */
function weightedSum(c: Case, out: Tensor): Tensor {
  const w = c.c([...out.shape]);
  const prod = op.mul(out, w);
  return out.rank === 0 ? prod : op.reduceSum(prod, out.shape.map((_, i) => i));
}

interface CheckOpts {
  /** false: forward values only (ops without a gradient rule). */
  grad?: boolean;
}

async function check(c: Case, out: Tensor, opts: CheckOpts = {}): Promise<void> {
  assert.ok(out.dtype === 'float32', `case output ${out} must be float32`);
  const loss = weightedSum(c, out);
  const withGrad = opts.grad !== false;
  if (withGrad) assert.ok(c.wrt.length > 0, 'case has nothing to differentiate');
  const grads = withGrad ? grad(loss, c.wrt) : [];
  const outputs: Record<string, Tensor> = { out, loss };
  grads.forEach((d, i) => (outputs[`d${i}`] = d));

  const got = await runOrt(c, outputs);
  const ref = evaluate(c.g, [out, loss, ...grads], c.feeds);
  assertClose(got.out, ref[0].data, FWD_REL, 'forward (onnxruntime float32 vs reference float64)');
  // the loss is a sum: its float32 rounding scales with the sum of |terms|
  assertClose(got.loss, ref[1].data, FWD_REL, 'loss', ref[0].data.reduce((s, v) => s + Math.abs(v), 0));
  if (!withGrad) return;

  const fd = finiteDifferences(c, loss);
  // a gradient that is zero in exact arithmetic (a conv bias before batch norm) is float32
  // noise on onnxruntime: measure errors against the largest gradient in the case as well
  const floor = Math.max(1e-3, ...fd.map((d) => 0.01 * maxAbs(d)));
  c.wrt.forEach((t, i) => {
    assertClose(got[`d${i}`], fd[i], GRAD_REL, `d loss / d ${t} (onnxruntime vs finite differences)`, floor);
    assertClose(ref[2 + i].data, fd[i], REF_GRAD_REL, `d loss / d ${t} (gradient graph in float64 vs finite differences)`, floor);
  });
}

/** Registers a test: build a graph from a fresh Case, then check it. */
function gradCase(name: string, build: (c: Case) => Tensor, opts: CheckOpts = {}): void {
  test(name, async () => {
    const c = new Case(seedOf(name));
    await check(c, build(c), opts);
  });
}

const forwardCase = (name: string, build: (c: Case) => Tensor): void => gradCase(`${name} (forward only)`, build, { grad: false });

/** Values for `a` such that |a - b| >= 0.1 wherever b (shape [..., k]) broadcasts against it. */
function separatedFrom(c: Case, b: Float32Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => b[i % b.length] + c.rand.sign() * c.rand.uniform(0.1, 0.9));
}

/** Values at least 0.1 away from every integer (for floor / sign / equal). */
function awayFromIntegers(c: Case, n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(c.rand.uniform(-3, 3)) + c.rand.uniform(0.1, 0.9));
}

// ---------------------------------------------------------------- elementwise

gradCase('Add broadcasting [2,3,4] + [3,1]', (c) => op.add(c.x([2, 3, 4]), c.x([3, 1])));
gradCase('Add rank-0 tensor to [2,3]', (c) => op.add(c.x([2, 3]), c.x([])));
gradCase('Sub broadcasting [2,1,4] - [3,1]', (c) => op.sub(c.x([2, 1, 4]), c.x([3, 1])));
gradCase('Sub with a number on the left (1 - x)', (c) => op.sub(1, c.x([2, 3])));
gradCase('Mul NCHW by [N,C,1,1] gain and [1,C,1,1] param', (c) => op.mul(op.mul(c.x([2, 3, 4, 4]), c.x([2, 3, 1, 1])), c.p([1, 3, 1, 1])));
gradCase('Div broadcasting, denominators away from 0', (c) => op.div(c.x([2, 3, 4]), c.x([3, 1], { lo: 0.5, hi: 2 })));
gradCase('Div number by tensor (2 / x)', (c) => op.div(2, c.x([2, 3], { lo: 0.5, hi: 2 })));
gradCase('Max broadcasting [2,3] vs [3]', (c) => {
  const b = c.x([3]);
  return op.maximum(c.x([2, 3], { values: separatedFrom(c, c.feeds.get(b) as Float32Array, 6) }), b);
});
gradCase('Min broadcasting [2,3] vs [3]', (c) => {
  const b = c.x([3]);
  return op.minimum(c.x([2, 3], { values: separatedFrom(c, c.feeds.get(b) as Float32Array, 6) }), b);
});
gradCase('Pow with scalar exponents 3 and 0.5', (c) => op.add(op.pow(c.x([2, 3]), 3), op.pow(c.x([2, 3], { lo: 0.5, hi: 2 }), 0.5)));
gradCase('Pow with a constant broadcast exponent tensor', (c) => op.pow(c.x([2, 3], { lo: 0.5, hi: 2 }), c.c([3], { values: [2, -1, 0.5] })));
gradCase('Neg', (c) => op.neg(c.x([2, 3])));
gradCase('Relu (inputs away from 0)', (c) => op.relu(c.x([3, 4], { gap: 0.05 })));
gradCase('LeakyRelu alpha 0.1 (inputs away from 0)', (c) => op.leakyRelu(c.x([3, 4], { gap: 0.05 }), 0.1));
gradCase('Tanh', (c) => op.tanh(c.x([3, 4], { lo: -2, hi: 2 })));
gradCase('Sigmoid', (c) => op.sigmoid(c.x([3, 4], { lo: -3, hi: 3 })));
gradCase('Softplus', (c) => op.softplus(c.x([3, 4], { lo: -4, hi: 4 })));
gradCase('Exp', (c) => op.exp(c.x([3, 4])));
gradCase('Log (positive inputs)', (c) => op.log(c.x([3, 4], { lo: 0.2, hi: 3 })));
gradCase('Sqrt (positive inputs)', (c) => op.sqrt(c.x([3, 4], { lo: 0.2, hi: 3 })));
gradCase('Abs (inputs away from 0)', (c) => op.abs(c.x([3, 4], { gap: 0.05 })));
gradCase('Square (x used twice)', (c) => op.square(c.x([3, 4])));
gradCase('Floor and Sign pass no gradient (x·floor(x) + x·sign(x))', (c) => {
  const x = c.x([3, 4], { values: awayFromIntegers(c, 12) });
  return op.add(op.mul(op.floor(x), x), op.mul(op.sign(x), x));
});
gradCase('Where + Greater: leaky relu', (c) => {
  const x = c.x([3, 4], { gap: 0.05 });
  return op.where(op.greater(x, 0), x, op.mul(x, 0.2));
});
gradCase('Where with a broadcast condition and broadcast branches', (c) => {
  const m = c.x([3], { gap: 0.05 }); // only feeds the condition: its gradient must be zero
  return op.where(op.greater(m, 0), c.x([2, 3]), c.x([2, 1]));
});
gradCase('Where + Less, number branch', (c) => {
  const x = c.x([2, 3]);
  const y = c.x([2, 3], { values: separatedFrom(c, c.feeds.get(x) as Float32Array, 6) });
  return op.add(op.where(op.less(x, y), x, y), op.where(op.less(y, x), 0.5, y));
});
gradCase('Equal + Not masks', (c) => {
  const x = c.x([3, 4], { values: awayFromIntegers(c, 12) });
  return op.where(op.not(op.equal(op.floor(x), 0)), x, op.mul(x, 3));
});
gradCase('Cast: bool mask to float, float to int64 and back', (c) => {
  const x = c.x([3, 4], { values: awayFromIntegers(c, 12) });
  const mask = op.cast(op.greater(x, 0), 'float32');
  const truncated = op.cast(op.cast(x, 'int64'), 'float32'); // truncation toward zero, no gradient
  return op.add(op.mul(mask, x), op.mul(truncated, 0.5));
});
gradCase('stopGradient blocks gradient (x · sg(x·y))', (c) => {
  const x = c.x([2, 3]);
  const y = c.x([2, 3]);
  return op.mul(x, op.stopGradient(op.mul(x, y)));
});
gradCase('gradient accumulates over repeated uses, zero for an unused input', (c) => {
  const x = c.x([2, 3]);
  c.x([4]); // in wrt but not in the graph: zero gradient
  return op.add(op.add(op.mul(x, x), op.mul(x, 3)), op.tanh(x));
});

// ---------------------------------------------------------------- reductions

gradCase('ReduceSum axes [1,3], keepdims=0', (c) => op.reduceSum(c.x([2, 3, 2, 4]), [1, 3]));
gradCase('ReduceSum axis -1, keepdims=1', (c) => op.mul(op.reduceSum(c.x([2, 3, 4]), [-1], true), c.x([2, 3, 4])));
gradCase('ReduceSum over all axes to a scalar', (c) => op.mul(op.reduceSum(c.x([2, 3]), [0, 1]), op.reduceSum(c.x([3]), [0])));
gradCase('ReduceMean axes [0,2,3], keepdims=1', (c) => op.mul(op.reduceMean(c.x([2, 3, 2, 2]), [0, 2, 3], true), c.x([2, 3, 2, 2])));
gradCase('ReduceMean axis 1, keepdims=0', (c) => op.reduceMean(c.x([2, 3, 4]), [1]));
forwardCase('ReduceMax axes [0,2] keepdims both ways', (c) => {
  const x = c.x([2, 3, 4]);
  return op.add(op.reduceMax(x, [0, 2], true), op.reshape(op.reduceMax(x, [0, 2]), [1, 3, 1]));
});

// ---------------------------------------------------------------- shape ops

gradCase('Reshape (-1) and Transpose', (c) => {
  const x = op.transpose(op.reshape(c.x([2, 3, 4]), [6, -1]), [1, 0]);
  return op.transpose(op.reshape(x, [2, 2, 6]), [2, 0, 1]);
});
gradCase('Transpose NCHW → NHWC', (c) => op.transpose(c.x([2, 3, 2, 4]), [0, 2, 3, 1]));
gradCase('Concat on axis 1, then Slice on two axes', (c) => {
  const cat = op.concat([c.x([2, 2, 3]), c.x([2, 1, 3]), c.p([2, 3, 3])], 1);
  return op.slice(op.slice(cat, 1, 1, 5), -1, 1, 3);
});
gradCase('sliceBox: one Slice over two axes', (c) => op.sliceBox(c.x([2, 5, 4, 3]), [[1, 1, 4], [-2, 0, 3]]));
test('sliceBox emits one Slice node and refuses bad ranges', () => {
  const g = new Graph();
  const x = g.input('x', [2, 5, 4]);
  const y = op.sliceBox(x, [[1, 1, 4], [2, 1, 3]]);
  assert.deepEqual(y.shape, [2, 3, 2]);
  assert.equal(g.nodes.filter((n) => n.op === 'Slice').length, 1);
  assert.equal(op.sliceBox(x, [[1, 0, 5]]), x);
  assert.throws(() => op.sliceBox(x, [[1, 2, 6]]), /out of range/);
  assert.throws(() => op.sliceBox(x, [[1, 0, 2], [-2, 1, 3]]), /twice/);
});
gradCase('Concat on the last axis (negative axis)', (c) => op.concat([c.x([2, 3]), c.x([2, 2])], -1));
gradCase('Slice with negative step: flip two axes', (c) => op.flip(c.x([2, 3, 4]), [1, 2]));
test('slice refuses reversed ranges that ONNX would clamp to a different length', () => {
  const g = new Graph();
  const x = g.input('x', [2, 5]);
  assert.throws(() => op.slice(x, 1, 5, -1, -1), /out of range/);
  assert.throws(() => op.slice(x, 1, 4, -3, -1), /out of range/);
  assert.equal(op.slice(x, 1, 4, 0, -1).shape[1], 4);
});
forwardCase('Slice with step -2 and step 2', (c) => {
  const x = c.x([2, 5, 3]);
  return op.add(op.slice(x, 1, 4, -1, -2), op.slice(x, 1, 0, 5, 2));
});
gradCase('Gather: row embedding lookup with repeated ids', (c) => op.gather(c.p([5, 3]), c.ids([4], [1, 3, 1, 0])));
forwardCase('Gather on axis 1 with 2-d and negative indices', (c) => op.gather(c.x([3, 4, 2]), c.ids([2, 2], [0, 3, -1, 1]), 1));
forwardCase('Gather on axis -1', (c) => op.gather(c.x([3, 4]), c.ids([2], [2, 0]), -1));
gradCase('Expand [3,1] → [2,3,4]', (c) => op.expand(c.x([3, 1]), [2, 3, 4]));
gradCase('Expand broadcasts both ways: [3,4] with [2,1,4] → [2,3,4]', (c) => op.expand(c.x([3, 4]), [2, 1, 4]));
gradCase('reductions over no axes are the identity', (c) => {
  const x = c.x([2, 3]);
  return op.add(op.add(op.reduceSum(x, []), op.reduceMean(x, [], true)), op.reduceMax(x, []));
});
gradCase('Pad with zeros', (c) => op.pad(c.x([2, 3, 4]), [
  [0, 0],
  [1, 2],
  [2, 0],
]));
gradCase('OneHot and ConstantOfShape', (c) => {
  const oh = op.oneHot(c.ids([2, 3], [0, 3, 2, 1, 1, 0]), 4);
  return op.add(op.add(oh, op.zeros(c.g, [2, 3, 4])), op.mul(oh, c.x([2, 3, 4])));
});

// ---------------------------------------------------------------- matmul

gradCase('MatMul 2-d', (c) => op.matmul(c.x([3, 4]), c.p([4, 5])));
gradCase('MatMul batched [2,3,4] @ [2,4,5]', (c) => op.matmul(c.x([2, 3, 4]), c.x([2, 4, 5])));
gradCase('MatMul broadcast batch [2,1,3,4] @ [3,4,2]', (c) => op.matmul(c.x([2, 1, 3, 4]), c.x([3, 4, 2])));
gradCase('MatMul 2-d @ 3-d [3,4] @ [2,4,5]', (c) => op.matmul(c.x([3, 4]), c.x([2, 4, 5])));

// ---------------------------------------------------------------- convolution

gradCase('Conv 3x3 stride 1 pad 1 with bias', (c) => op.conv2d(c.x([2, 3, 5, 5]), c.p([4, 3, 3, 3]), c.p([4]), { pad: 1 }));
test('Conv 3x3 pad 1: dW summed over batch chunks (batch 5 in chunks of 2)', async () => {
  const name = 'Conv 3x3 pad 1, chunked dW';
  const c = new Case(seedOf(name));
  // one padded image is 7*7*3*4 = 588 bytes: a 1200-byte bound makes chunks of 2, 2, 1
  await op.withWeightGradientChunkBytes(1200, () => check(c, op.conv2d(c.x([5, 3, 5, 5]), c.p([4, 3, 3, 3]), c.p([4]), { pad: 1 }), {}));
});
test('chunked dW: one GEMM per tap and chunk', () => {
  const g = new Graph();
  const x = g.input('x', [5, 3, 5, 5]);
  const w = g.param(new Param('w', [4, 3, 3, 3], new Float32Array(108).fill(0.1)));
  const [dw] = op.withWeightGradientChunkBytes(1200, () => grad(op.reduceSum(op.conv2d(x, w, undefined, { pad: 1 }), [0, 1, 2, 3]), [w]));
  assert.deepEqual(dw.shape, [4, 3, 3, 3]);
  // 9 taps x 3 chunks (the live nodes: dx's flipped kernel is built too, but dW does not read it)
  assert.equal(liveNodes(g, [dw]).filter((n) => n.op === 'MatMul').length, 27);
});
// 16 channels: onnxruntime runs these fed-weight convs (forward and dx) on its blocked NCHWc
// kernels where the CPU has them (engine/blocked-convs.ts), so that lowering meets finite differences too
gradCase('Conv 3x3 pad 1 with bias, 16 -> 16 channels (blocked kernels)', (c) => op.conv2d(c.x([1, 16, 4, 4]), c.p([16, 16, 3, 3], { lo: -0.3, hi: 0.3 }), c.p([16]), { pad: 1 }));
gradCase('Conv 3x3 stride 2, 16 -> 16 channels (blocked kernels)', (c) => op.conv2d(c.x([1, 16, 4, 4]), c.p([16, 16, 3, 3], { lo: -0.3, hi: 0.3 }), undefined, { pad: 1, stride: 2 }));
gradCase('convAvgPool2d 3x3, 16 -> 16 channels (blocked kernels)', (c) => op.convAvgPool2d(c.x([1, 16, 4, 4]), c.p([16, 16, 3, 3], { lo: -0.3, hi: 0.3 })));
gradCase('Conv 2x2 asymmetric pads [1, 0, 0, 1]', (c) => op.conv2d(c.x([2, 3, 4, 5]), c.p([2, 3, 2, 2]), c.p([2]), { pad: [1, 0, 0, 1] }));
gradCase('Conv 3x3 asymmetric pads [0, 2, 1, 0]', (c) => op.conv2d(c.x([1, 2, 5, 4]), c.p([3, 2, 3, 3]), undefined, { pad: [0, 2, 1, 0] }));
gradCase('DepthToSpace 2 (DCR)', (c) => op.depthToSpace(c.x([2, 8, 2, 3]), 2));
gradCase('Split on channels, one piece unused', (c) => op.split(c.x([2, 5, 3, 2]), 1, [2, 1, 2])[0]);
gradCase('Split on channels, pieces recombined', (c) => { const [a, , b] = op.split(c.x([2, 5, 3, 2]), 1, [2, 1, 2]); return op.mul(a, b); });
gradCase('SpaceToDepth 2', (c) => op.spaceToDepth(c.x([2, 2, 4, 6]), 2));
gradCase('upsampleConv2d 3x3 (phase convolutions + DepthToSpace)', (c) => op.upsampleConv2d(c.x([2, 3, 3, 4]), c.p([2, 3, 3, 3]), c.p([2])));
// the low-resolution forms of "upsample, then conv" and "conv, then pool" against the plain ops, in float64
const plainForms = [
  ['upsampleConv2d', op.upsampleConv2d, (x: Tensor, w: Tensor, b: Tensor, k: number) => op.conv2d(op.upsampleNearest(x, 2), w, b, { pad: (k - 1) / 2 }), [2, 3, 4, 5]],
  ['convAvgPool2d', op.convAvgPool2d, (x: Tensor, w: Tensor, b: Tensor, k: number) => op.avgPool2d(op.conv2d(x, w, b, { pad: (k - 1) / 2 }), 2), [2, 3, 6, 4]],
] as const;
for (const [name, fused, plain, shape] of plainForms) {
  test(`${name} equals its plain form (3x3 and 1x1, float64 reference)`, () => {
    for (const k of [3, 1]) {
      const c = new Case(seedOf(`${name} equivalence ${k}`));
      const x = c.x([...shape]);
      const w = c.p([4, 3, k, k]);
      const b = c.p([4]);
      const [got, want] = [fused(x, w, b), plain(x, w, b, k)];
      assert.deepEqual(got.shape, want.shape);
      const [f, p] = evaluate(c.g, [got, want], c.feeds);
      assert.ok(maxAbs(f.data.map((v, i) => v - p.data[i])) < 1e-12, `${name} ${k}x${k} differs from its plain form`);
    }
  });
}
test('stridedConv2d equals a 4x4 stride-2 pad-1 Conv (float64 reference)', () => {
  const c = new Case(seedOf('stridedConv2d equivalence'));
  const x = c.x([2, 3, 6, 4]);
  const w = c.p([5, 3, 4, 4]);
  const b = c.p([5]);
  const [got, want] = [op.stridedConv2d(x, w, b), op.conv2d(x, w, b, { stride: 2, pad: 1 })];
  assert.deepEqual(got.shape, [2, 5, 3, 2]);
  assert.deepEqual(got.shape, want.shape);
  const [f, p] = evaluate(c.g, [got, want], c.feeds);
  assert.ok(maxAbs(f.data.map((v, i) => v - p.data[i])) < 1e-12, 'stridedConv2d differs from the strided Conv');
});
gradCase('stridedConv2d 4x4 stride 2 (subgrid convolutions)', (c) => op.stridedConv2d(c.x([2, 3, 4, 6]), c.p([2, 3, 4, 4]), c.p([2])));
test('gemmConv2d equals Conv (3x3 stride 1 pad 1, 4x4 stride 2 pad 1, 3x3 stride 2 pad 1 on odd sizes; float64 reference)', () => {
  for (const [k, stride, pad, h, w] of [[3, 1, 1, 4, 5], [4, 2, 1, 6, 4], [3, 2, 1, 5, 7]] as const) {
    const c = new Case(seedOf(`gemmConv2d equivalence ${k} ${stride}`));
    const x = c.x([2, 3, h, w]);
    const wt = c.p([5, 3, k, k]);
    const b = c.p([5]);
    const [got, want] = [op.gemmConv2d(x, wt, b, stride, pad), op.conv2d(x, wt, b, { stride, pad })];
    assert.deepEqual(got.shape, want.shape);
    const [f, p] = evaluate(c.g, [got, want], c.feeds);
    assert.ok(maxAbs(f.data.map((v, i) => v - p.data[i])) < 1e-12, `gemmConv2d ${k}x${k} stride ${stride} differs from Conv`);
  }
});
gradCase('gemmConv2d 3x3 stride 1 (im2col GEMM)', (c) => op.gemmConv2d(c.x([2, 3, 3, 4]), c.p([2, 3, 3, 3]), c.p([2]), 1, 1));
gradCase('gemmConv2d 4x4 stride 2 (im2col GEMM over the stride view)', (c) => op.gemmConv2d(c.x([2, 3, 4, 6]), c.p([2, 3, 4, 4]), c.p([2]), 2, 1));
test('transposedConv2d equals ConvTranspose (4x4 stride 2 pad 1, 3x3 stride 1 pad 1; float64 reference)', () => {
  for (const [k, stride] of [[4, 2], [3, 1]] as const) {
    const c = new Case(seedOf(`transposedConv2d equivalence ${k}`));
    const x = c.x([2, 3, 3, 4]);
    const w = c.p([3, 2, k, k]); // [C_in, C_out, k, k]
    const b = c.p([2]);
    const got = op.transposedConv2d(x, w, b, stride);
    const want = op.add(op.convTranspose2d(x, w, stride, [1, 1], [0, 0]), op.reshape(b, [1, 2, 1, 1]));
    assert.deepEqual(got.shape, [2, 2, 3 * stride, 4 * stride]);
    assert.deepEqual(got.shape, want.shape);
    const [f, p] = evaluate(c.g, [got, want], c.feeds);
    assert.ok(maxAbs(f.data.map((v, i) => v - p.data[i])) < 1e-12, `transposedConv2d ${k}x${k} stride ${stride} differs from ConvTranspose`);
  }
});
gradCase('transposedConv2d 4x4 stride 2 (phase convolutions + DepthToSpace)', (c) => op.transposedConv2d(c.x([2, 3, 3, 2]), c.p([3, 2, 4, 4]), c.p([2]), 2));
gradCase('transposedConv2d 3x3 stride 1 (flipped kernel)', (c) => op.transposedConv2d(c.x([1, 3, 3, 4]), c.p([3, 2, 3, 3]), c.p([2]), 1));
test('unpoolZeros puts x at even positions and zeros elsewhere; unpoolConv2d equals conv2d(unpoolZeros(x))', () => {
  const c = new Case(seedOf('unpool equivalence'));
  const x = c.x([2, 3, 3, 4]);
  const w = c.p([2, 3, 3, 3]);
  const b = c.p([2]);
  const up = op.unpoolZeros(x);
  assert.deepEqual(up.shape, [2, 3, 6, 8]);
  const [u, xv, fused, plain] = evaluate(c.g, [up, x, op.unpoolConv2d(x, w, b), op.conv2d(up, w, b, { pad: 1 })], c.feeds);
  for (let i = 0; i < u.data.length; i++) {
    const col = i % 8;
    const row = Math.floor(i / 8) % 6;
    const plane = Math.floor(i / 48);
    const expected = row % 2 === 0 && col % 2 === 0 ? xv.data[plane * 12 + (row / 2) * 4 + col / 2] : 0;
    assert.equal(u.data[i], expected, `unpoolZeros value ${i}`);
  }
  assert.ok(maxAbs(fused.data.map((v, i) => v - plain.data[i])) < 1e-12, 'unpoolConv2d differs from its plain form');
});
gradCase('unpoolZeros (zero insertion)', (c) => op.unpoolZeros(c.x([2, 2, 2, 3])));
gradCase('unpoolConv2d 3x3 (phase convolutions + DepthToSpace)', (c) => op.unpoolConv2d(c.x([2, 3, 3, 2]), c.p([2, 3, 3, 3]), c.p([2])));
gradCase('convAvgPool2d 3x3 (subgrid convolutions)', (c) => op.convAvgPool2d(c.x([2, 3, 4, 6]), c.p([2, 3, 3, 3]), c.p([2])));
gradCase('Conv 1x1 with bias', (c) => op.conv2d(c.x([2, 3, 4, 4]), c.p([5, 3, 1, 1]), c.p([5])));
gradCase('Conv 3x3 valid (pad 0), non-square input', (c) => op.conv2d(c.x([1, 2, 5, 6]), c.p([3, 2, 3, 3])));
gradCase('Conv 3x3 pad [1,0]', (c) => op.conv2d(c.x([1, 2, 5, 6]), c.p([3, 2, 3, 3]), undefined, { pad: [1, 0] }));
gradCase('Conv 3x3 stride 2 pad 1, even input (output padding 1)', (c) => op.conv2d(c.x([2, 2, 6, 6]), c.p([3, 2, 3, 3]), c.p([3]), { stride: 2, pad: 1 }));
gradCase('Conv 3x3 stride 2 pad 1, odd input', (c) => op.conv2d(c.x([1, 2, 5, 5]), c.p([3, 2, 3, 3]), undefined, { stride: 2, pad: 1 }));
gradCase('Conv 4x4 stride 2 pad 1', (c) => op.conv2d(c.x([1, 2, 6, 6]), c.p([2, 2, 4, 4]), undefined, { stride: 2, pad: 1 }));
gradCase('Conv 1x1 pad 1 (pad beyond kernel-1)', (c) => op.conv2d(c.x([1, 2, 3, 3]), c.p([2, 2, 1, 1]), undefined, { pad: 1 }));
forwardCase('Conv 3x3 dilation 2', (c) => op.conv2d(c.x([1, 2, 6, 6]), c.p([3, 2, 3, 3]), c.p([3]), { dilation: 2, pad: 2 }));
forwardCase('ConvTranspose stride 2 pad 1 output padding 1', (c) => op.convTranspose2d(c.x([1, 3, 3, 3]), c.p([3, 2, 3, 3]), 2, [1, 1], [1, 1]));

// ---------------------------------------------------------------- pooling and resizing

gradCase('Resize nearest: upsample 2x', (c) => op.upsampleNearest(c.x([1, 2, 3, 3]), 2));
gradCase('Resize nearest: upsample 3x', (c) => op.upsampleNearest(c.x([1, 2, 2, 3]), 3));
gradCase('AveragePool 2x2', (c) => op.avgPool2d(c.x([2, 2, 4, 4]), 2));
gradCase('MaxPool 2x2', (c) => op.maxPool2d(c.x([2, 2, 4, 4]), 2));
gradCase('MaxPool 3x3 stride 2 pad 1 (overlapping windows)', (c) => op.maxPool2d(c.x([1, 2, 5, 5]), 3, { stride: 2, pad: 1 }));
forwardCase('AveragePool 3x3 stride 2 pad 1, count_include_pad 1 and 0', (c) => {
  const x = c.x([1, 2, 5, 5]);
  return op.add(op.avgPool2d(x, 3, { stride: 2, pad: 1 }), op.mul(op.avgPool2d(x, 3, { stride: 2, pad: 1, countIncludePad: false }), 2));
});

test('MaxPool 2x2 with ties: the gradient goes to the first maximum of each window (as torch)', async () => {
  const c = new Case(7);
  // windows (row-major): [1 1 / 1 0], [0 2 / 2 2], [3 0 / 0 3], [-1 -1 / -1 -1]
  const values = [1, 1, 0, 2, 1, 0, 2, 2, 3, 0, -1, -1, 0, 3, -1, -1];
  const x = c.x([1, 1, 4, 4], { values });
  const y = op.maxPool2d(x, 2);
  const w = [0.5, -2, 3, 1.5];
  const loss = op.reduceSum(op.mul(y, c.c([1, 1, 2, 2], { values: w })), [0, 1, 2, 3]);
  const [dx] = grad(loss, [x]);
  const expected = new Float64Array(16);
  for (let wy = 0; wy < 2; wy++) {
    for (let wx = 0; wx < 2; wx++) {
      let best = -Infinity;
      let at = -1;
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          const o = (2 * wy + i) * 4 + 2 * wx + j;
          if (values[o] > best) [best, at] = [values[o], o];
        }
      }
      expected[at] += w[wy * 2 + wx];
    }
  }
  const got = await runOrt(c, { dx });
  assertClose(got.dx, expected, 1e-6, 'onnxruntime MaxPool gradient with ties');
  assertClose(evaluate(c.g, [dx], c.feeds)[0].data, expected, 1e-12, 'reference MaxPool gradient with ties');
});

// ---------------------------------------------------------------- softmax and batch norm

gradCase('Softmax over the last axis', (c) => op.softmax(c.x([2, 3, 5], { lo: -2, hi: 2 })));
gradCase('Softmax over axis 1 of a 4-d tensor', (c) => op.softmax(c.x([2, 4, 2, 3], { lo: -2, hi: 2 }), 1));
forwardCase('BatchNormalization (inference, given statistics)', (c) =>
  op.batchNormInference(c.x([2, 3, 2, 2]), c.p([3]), c.p([3]), c.p([3]), c.p([3], { lo: 0.5, hi: 2 }), 1e-5),
);

/** Training-mode batch norm written with reductions, as the models do it. */
function batchNormFromReductions(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const mean = op.reduceMean(x, [0, 2, 3], true);
  const centered = op.sub(x, mean);
  const variance = op.reduceMean(op.square(centered), [0, 2, 3], true);
  return op.add(op.mul(op.div(centered, op.sqrt(op.add(variance, eps))), gamma), beta);
}

gradCase('batch norm from reductions (batch statistics over N,H,W)', (c) =>
  batchNormFromReductions(c.x([2, 3, 3, 3]), c.p([1, 3, 1, 1], { lo: 0.5, hi: 1.5 }), c.p([1, 3, 1, 1])),
);

gradCase('layer norm (per sample over C,H,W; per-channel gain and bias; TF eps 1e-12)', (c) =>
  layerNorm(c.x([2, 3, 2, 3]), c.p([3], { lo: 0.5, hi: 1.5 }), c.p([3]), LAYER_NORM_EPS),
);

// ---------------------------------------------------------------- composite BigGAN patterns

gradCase('linear layer + class-conditional gain and bias from embeddings', (c) => {
  const ids = c.ids([3], [2, 0, 2]);
  const h = op.add(op.matmul(c.x([3, 4]), c.p([4, 5])), c.p([5]));
  const gain = op.add(1, op.gather(c.p([4, 5]), ids));
  return op.add(op.mul(h, gain), op.gather(c.p([4, 5]), ids));
});

gradCase('generator up-block: BN → relu → upsample → conv3x3 → BN → relu → conv3x3, + conv1x1(upsample(x))', (c) => {
  const x = c.x([2, 2, 3, 3]);
  let h = op.relu(batchNormFromReductions(x, c.p([1, 2, 1, 1], { lo: 0.5, hi: 1.5 }), c.p([1, 2, 1, 1])));
  h = op.conv2d(op.upsampleNearest(h, 2), c.p([2, 2, 3, 3]), c.p([2]), { pad: 1 });
  h = op.relu(batchNormFromReductions(h, c.p([1, 2, 1, 1], { lo: 0.5, hi: 1.5 }), c.p([1, 2, 1, 1])));
  h = op.conv2d(h, c.p([2, 2, 3, 3]), c.p([2]), { pad: 1 });
  const shortcut = op.conv2d(op.upsampleNearest(x, 2), c.p([2, 2, 1, 1]), c.p([2]));
  return op.add(h, shortcut);
});

gradCase('discriminator down-block: relu → conv3x3 → relu → conv3x3 → avgpool, + conv1x1(avgpool(x))', (c) => {
  const x = c.x([2, 2, 4, 4]);
  let h = op.conv2d(op.relu(x), c.p([3, 2, 3, 3]), c.p([3]), { pad: 1 });
  h = op.avgPool2d(op.conv2d(op.relu(h), c.p([3, 3, 3, 3]), c.p([3]), { pad: 1 }), 2);
  return op.add(h, op.conv2d(op.avgPool2d(x, 2), c.p([3, 2, 1, 1]), c.p([3])));
});

gradCase('self-attention: 1x1 convs, max-pool, batched matmuls, softmax over the last axis', (c) => {
  const x = c.x([1, 4, 4, 4]);
  const theta = op.reshape(op.conv2d(x, c.p([2, 4, 1, 1])), [1, 2, 16]);
  const phi = op.reshape(op.maxPool2d(op.conv2d(x, c.p([2, 4, 1, 1])), 2), [1, 2, 4]);
  const gv = op.reshape(op.maxPool2d(op.conv2d(x, c.p([2, 4, 1, 1])), 2), [1, 2, 4]);
  const beta = op.softmax(op.matmul(op.transpose(theta, [0, 2, 1]), phi), -1); // [1, 16, 4]
  const o = op.reshape(op.matmul(gv, op.transpose(beta, [0, 2, 1])), [1, 2, 4, 4]);
  return op.add(x, op.mul(c.p([1], { lo: 0.5, hi: 1 }), op.conv2d(o, c.p([4, 2, 1, 1]))));
});

gradCase('hinge losses: mean(relu(1 - real)) + mean(relu(1 + fake))', (c) => {
  const real = c.x([6], { values: [0.5, 1.5, -0.3, 2.2, 0.9, 1.2] });
  const fake = c.x([6], { values: [-0.5, -1.5, 0.3, -2.2, -0.8, 0.1] });
  return op.add(op.reduceMean(op.relu(op.sub(1, real)), [0]), op.reduceMean(op.relu(op.add(1, fake)), [0]));
});

gradCase('orthogonal regularization: sum((W Wᵀ ⊙ (1 − I))²)', (c) => {
  const w = c.p([4, 6]);
  const offDiag = c.c([4, 4], { values: Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0 : 1)) });
  return op.reduceSum(op.square(op.mul(op.matmul(w, op.transpose(w, [1, 0])), offDiag)), [0, 1]);
});

gradCase('spectral norm: one power iteration under stopGradient, W / σ', (c) => {
  const w = c.p([4, 6]);
  const u0 = c.x([1, 4], { wrt: false });
  const normalize = (t: Tensor): Tensor => op.div(t, op.sqrt(op.add(op.reduceSum(op.square(t), [1], true), 1e-12)));
  const v = op.stopGradient(normalize(op.matmul(u0, w))); // [1, 6]
  const u = op.stopGradient(normalize(op.matmul(v, op.transpose(w, [1, 0])))); // [1, 4]
  const sigma = op.reduceSum(op.mul(op.matmul(u, w), v), [0, 1]);
  return op.div(w, sigma);
});

// ---------------------------------------------------------------- second order (double backprop)

gradCase('GatherElements on axis 1 (rows picked per column)', (c) => op.gatherElements(c.x([3, 4]), c.ids([3, 2], [2, 0, 1, 3, 0, 0]), 1));

// What an R1 penalty needs: the gradient of a function of an input-gradient. `out` is the
// first-order gradient dx of an attention-like path (conv → relu → maxpool → softmax),
// squared, so check() compares its gradient w.r.t. x and the weights (through the MaxPool
// VJP's ScatterElements and the new GatherElements) against float64 finite differences of
// the first-order gradient graph evaluated by the reference interpreter.
gradCase('second order: d/dθ of (d/dx of conv3x3 → relu → maxpool 2x2 → softmax)²', (c) => {
  const x = c.x([2, 2, 4, 4]);
  const w = c.p([3, 2, 3, 3]);
  const b = c.p([3], { lo: 0.2, hi: 0.6 });
  const h = op.maxPool2d(op.relu(op.conv2d(x, w, b, { pad: 1 })), 2); // [2, 3, 2, 2]
  const y = op.softmax(op.reshape(h, [2, 12]), -1);
  const inner = op.reduceSum(op.mul(y, c.c([2, 12], { lo: -2, hi: 2 })), [0, 1]);
  const [dx] = grad(inner, [x]);
  return op.square(dx);
});

// A gradient penalty through SNDCGAN D's GEMM-form convs: dx of leakyRelu(gemmConv2d) squared.
gradCase('second order: d/dθ of (d/dx of gemmConv2d 4x4 stride 2 → leaky relu → gemmConv2d 3x3)²', (c) => {
  const x = c.x([2, 2, 4, 4]);
  const h = op.leakyRelu(op.gemmConv2d(x, c.p([3, 2, 4, 4]), c.p([3]), 2, 1), 0.1);
  const y = op.gemmConv2d(h, c.p([2, 3, 3, 3]), c.p([2]), 1, 1);
  const [dx] = grad(op.reduceSum(op.mul(y, c.c([2, 2, 2, 2], { lo: -2, hi: 2 })), [0, 1, 2, 3]), [x]);
  return op.square(dx);
});

test('ScatterElements without reduction add refuses a gradient', () => {
  const g = new Graph();
  const x = g.input('x', [4]);
  const u = g.input('u', [2]);
  const s = g.addNode('ScatterElements', [x, g.ints([0, 2]), u], { axis: 0, reduction: 'none' }, [{ shape: [4], dtype: 'float32' }])[0];
  assert.throws(() => grad(op.reduceSum(s, [0]), [u]), /reduction 'add'/);
});

// ---------------------------------------------------------------- documented gradient limits

test('ops without a general gradient rule refuse clearly instead of giving wrong gradients', () => {
  const cases: [string, (c: Case) => Tensor, RegExp][] = [
    ['ReduceMax', (c) => op.reduceMax(c.x([2, 3]), [1]), /ReduceMax/],
    ['AveragePool overlapping', (c) => op.avgPool2d(c.x([1, 1, 5, 5]), 3, { stride: 2, pad: 1 }), /AveragePool/],
    ['Slice step 2', (c) => op.slice(c.x([2, 6]), 1, 0, 6, 2), /Slice/],
    ['Conv dilation 2', (c) => op.conv2d(c.x([1, 1, 5, 5]), c.x([1, 1, 3, 3]), undefined, { dilation: 2 }), /dilation/],
    ['BatchNormalization', (c) => op.batchNormInference(c.x([1, 2, 2, 2]), c.x([2]), c.x([2]), c.x([2]), c.x([2]), 1e-5), /BatchNormalization/],
  ];
  for (const [what, build, message] of cases) {
    const c = new Case(1);
    const loss = weightedSum(c, build(c));
    assert.throws(() => grad(loss, c.wrt), message, what);
  }
});

test('the reference interpreter implements every op type the ops files emit or differentiate', () => {
  const dir = path.join(REPO_ROOT, 'src', 'engine', 'ops');
  const emitted = new Set<string>();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/(?:addNode|registerVjp)\(\s*'(\w+)'/g)) emitted.add(m[1]);
  }
  assert.ok(emitted.size > 30, `found only ${emitted.size} op types`);
  assert.deepEqual([...emitted].filter((o) => !REFERENCE_OPS.includes(o)), []);
});
