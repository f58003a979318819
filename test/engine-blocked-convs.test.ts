/**
 * engine/blocked-convs.ts: fed-weight convolutions lowered to onnxruntime's NCHWc kernels.
 * Which convs are lowered, and that a training-shaped conv's value and gradients match
 * onnxruntime's plain Conv (the gradient rules themselves meet finite differences in
 * engine-gradients.test.ts, whose 16-channel cases run on the blocked kernels).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { Graph, Param, Tensor } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { grad } from '../src/engine/autodiff.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, nchwcBlockSize } from '../src/engine/runtime.js';
import { lowerToBlockedConvs, NCHWC_DOMAIN } from '../src/engine/blocked-convs.js';

const det = (n: number, scale: number, phase = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + phase) * scale);

function opsOf(bytes: Uint8Array): string[] {
  return (onnxProto.onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => `${n.domain ? `${n.domain}.` : ''}${n.opType}`);
}

test('nchwcBlockSize: the block of this onnxruntime build (0 where it has no NCHWc kernels)', async () => {
  const b = await nchwcBlockSize();
  assert.ok(b === 0 || (b > 1 && 32 % b === 0), `block ${b}`);
  assert.equal(await nchwcBlockSize(), b, 'probed once');
});

test('lowerToBlockedConvs: fed or computed weights with block-multiple channels only', () => {
  const g = new Graph();
  const x = g.input('x', [2, 32, 6, 6]);
  const fed = g.param(new Param('fed', [48, 32, 3, 3], det(48 * 32 * 9, 0.1)));
  const fixed = g.param(new Param('fixed', [32, 48, 1, 1], det(32 * 48, 0.1)));
  const rgb = g.param(new Param('rgb', [3, 32, 3, 3], det(3 * 32 * 9, 0.1)));
  const h = op.conv2d(x, op.mul(fed, 0.5), undefined, { pad: 1 }); // computed weight: shape from value_info
  const y = op.conv2d(h, fixed); // constant weight: onnxruntime's own transformer handles it
  const z = op.conv2d(y, rgb, undefined, { pad: 1 }); // 3 output channels: not a block multiple
  const model = exportOnnx(g, { outputs: { z }, paramInputs: new Set([fed.param!, rgb.param!]) });
  const lowered = lowerToBlockedConvs(model.bytes, 16);
  assert.ok(lowered);
  const ops = opsOf(lowered);
  assert.equal(ops.filter((o) => o === `${NCHWC_DOMAIN}.Conv`).length, 1);
  assert.equal(ops.filter((o) => o === 'Conv').length, 2);
  assert.equal(ops.filter((o) => o === `${NCHWC_DOMAIN}.ReorderOutput`).length, 1);
  assert.equal(lowerToBlockedConvs(model.bytes, 0), null, 'no block: untouched');
  // one weight read by two convs is blocked once
  const shared = exportOnnx(g, { outputs: { a: op.conv2d(x, fed, undefined, { pad: 1 }), b: op.conv2d(op.relu(x), fed, undefined, { pad: 1 }) }, paramInputs: 'all' });
  const sharedOps = opsOf(lowerToBlockedConvs(shared.bytes, 16)!);
  assert.equal(sharedOps.filter((o) => o === `${NCHWC_DOMAIN}.Conv`).length, 2);
  assert.equal(sharedOps.filter((o) => o === `${NCHWC_DOMAIN}.ReorderInput`).length, 2 + 2, 'two inputs, one weight (two reorders)');
  const constantOnly = new Graph();
  const c = constantOnly.param(new Param('c', [32, 32, 3, 3], det(32 * 32 * 9, 0.1)));
  const out = op.conv2d(constantOnly.input('x', [1, 32, 4, 4]), c, undefined, { pad: 1 });
  assert.equal(lowerToBlockedConvs(exportOnnx(constantOnly, { outputs: { out } }).bytes, 16), null, 'constant weights: untouched');
});

test('blocked convs: a training-shaped conv, its dx and dW match onnxruntime plain Conv', async (t) => {
  const block = await nchwcBlockSize();
  if (!block) return t.skip('this onnxruntime build has no NCHWc kernels');
  const g = new Graph();
  const x = g.input('x', [4, 32, 8, 8]);
  const w = g.param(new Param('w', [48, 32, 3, 3], det(48 * 32 * 9, 0.1, 1)));
  const b = g.param(new Param('b', [48], det(48, 0.5, 2)));
  const w2 = g.param(new Param('w2', [32, 48, 4, 4], det(32 * 48 * 16, 0.05, 3)));
  const h = op.relu(op.conv2d(x, w, b, { pad: 1 }));
  const y = op.stridedConv2d(h, w2);
  const loss = op.reduceSum(op.mul(y, g.floats(det(4 * 32 * 4 * 4, 1, 4), [4, 32, 4, 4])), [0, 1, 2, 3]);
  const [dx, dw, db, dw2] = grad(loss, [x, w, b, w2]) as Tensor[];
  const model = exportOnnx(g, { outputs: { y, dx, dw, db, dw2 }, paramInputs: 'all' });
  assert.ok(opsOf(lowerToBlockedConvs(model.bytes, block)!).includes(`${NCHWC_DOMAIN}.Conv`));
  const feeds = { x: det(4 * 32 * 64, 1, 5), w: w.param!.data, b: b.param!.data, w2: w2.param!.data };
  const run = async (blockedConvs: boolean): Promise<Record<string, Float32Array>> => {
    const cg = await CompiledGraph.create(model, { threads: 1, blockedConvs });
    try {
      return (await cg.run(feeds)) as Record<string, Float32Array>;
    } finally {
      await cg.release();
    }
  };
  const [blocked, plain] = [await run(true), await run(false)];
  for (const name of ['y', 'dx', 'dw', 'db', 'dw2']) {
    const scale = Math.max(...plain[name]!.map(Math.abs));
    const err = Math.max(...blocked[name]!.map((v, i) => Math.abs(v - plain[name]![i]!)));
    assert.ok(err <= 1e-5 * scale, `${name}: max |blocked - plain| ${err} vs scale ${scale}`);
  }
});
