/**
 * spectralAdvance: the SN vectors' next values computed alone equal, bit for bit, those a
 * training step's graph writes (G forward + backward, D forward), so a data-parallel rank
 * can advance them to its micro-batch's starting point exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, type Tensor } from '../src/engine/graph.js';
import * as op from '../src/engine/ops.js';
import { grad } from '../src/engine/autodiff.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph, type Feed } from '../src/engine/runtime.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import { parseDiscriminatorArgs, parseGeneratorArgs } from '../src/models/biggan-config.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { spectralAdvance } from '../src/nn/spectral-advance.js';
import { trainContext } from '../src/nn/module.js';
import { Rng } from '../src/random/rng.js';

async function run(graph: Graph, outputs: Record<string, Tensor>, feeds: Record<string, Feed> = {}) {
  const compiled = await CompiledGraph.create(exportOnnx(graph, { outputs, paramInputs: 'all' }));
  const all: Record<string, Feed> = { ...feeds };
  for (const inp of compiled.model.inputs) if (inp.param) all[inp.name] = inp.param.data;
  return compiled.run(all);
}

test('SN power iterations alone = the updates of a training G forward + backward and D forward, bit for bit', async () => {
  const B = 4;
  const G = new BigGANGenerator(parseGeneratorArgs({ resolution: 32, G_ch: 16, dim_z: 20, n_classes: 5, G_attn: '0', shared_dim: 8, hier: true }));
  const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: 32, D_ch: 16, n_classes: 5, D_attn: '0' }));
  for (const m of [G, D]) {
    initOrthogonal(m, new Rng(11));
    initSpectralVectors(m);
  }
  // one graph holds both: D's names apart from G's (as the trainer's prefixes keep them)
  for (const [, p] of D.namedParams()) p.name = `D.${p.name}`;
  const g = new Graph();
  const z = g.input('z', [B, 20]);
  const y = g.input('y', [B], 'int64');
  const ctx = trainContext();
  const img = G.forward(ctx, { z, classes: { ids: y } });
  const logits = D.forward(ctx, img, y);
  const loss = op.reduceSum(logits, [0, 1]);
  const gParams = G.namedParams().map(([, p]) => p).filter((p) => p.trainable);
  const outputs: Record<string, Tensor> = {};
  grad(loss, gParams.map((p) => g.param(p))).forEach((t, i) => (outputs[`grad${i}`] = t));
  const advanced = [spectralAdvance(G), spectralAdvance(D)];
  for (const { updates } of advanced) {
    for (const [p] of updates) {
      const inStep = ctx.updates.get(p);
      assert.ok(inStep, `${p.name}: updated alone but not by the step`);
      outputs[`next:${p.name}`] = inStep;
    }
  }
  const want = await run(g, outputs, { z: Float32Array.from({ length: B * 20 }, (_, i) => Math.sin(i)), y: BigInt64Array.from([0n, 1n, 2n, 3n]) });
  for (const { graph, updates } of advanced) {
    const got = await run(graph, Object.fromEntries([...updates].map(([p, t]) => [`next:${p.name}`, t])));
    for (const [p] of updates) assert.deepEqual(got[`next:${p.name}`], want[`next:${p.name}`], `${p.name}: differs from the training graph's update`);
  }
  const snBuffers = [...ctx.updates.keys()].filter((p) => /sn_(u|v|sigma)$/.test(p.name));
  assert.ok(snBuffers.length > 10);
  assert.equal(advanced.reduce((a, { updates }) => a + updates.size, 0), snBuffers.length, 'every SN buffer the step writes is advanced');
});
