/** Runs a discriminator over images in fixed-size batches (one compiled graph per batch size). */
import { Graph } from '../engine/graph.js';
import { exportOnnx } from '../engine/onnx-export.js';
import { CompiledGraph, RuntimeOptions } from '../engine/runtime.js';
import { evalContext } from '../nn/module.js';
import { DiscriminatorModel } from '../models/interfaces.js';

export async function discriminate(
  model: DiscriminatorModel,
  images: Float32Array,
  classIds: BigInt64Array,
  batch: number,
  runtime: RuntimeOptions = {},
  onBatch?: (done: number) => void,
): Promise<Float32Array> {
  const n = classIds.length;
  const R = model.resolution;
  const imgSize = 3 * R * R;
  const B = Math.min(batch, n);
  const g = new Graph();
  const x = g.input('images', [B, 3, R, R]);
  const y = g.input('class_ids', [B], 'int64');
  const logits = model.forward(evalContext(), x, y);
  const session = await CompiledGraph.create(exportOnnx(g, { outputs: { logits } }), runtime);
  const out = new Float32Array(n);
  const xBuf = new Float32Array(B * imgSize);
  const yBuf = new BigInt64Array(B);
  for (let start = 0; start < n; start += B) {
    const count = Math.min(B, n - start);
    xBuf.fill(0);
    yBuf.fill(0n);
    xBuf.set(images.subarray(start * imgSize, (start + count) * imgSize));
    yBuf.set(classIds.subarray(start, start + count));
    const r = await session.run({ images: xBuf, class_ids: yBuf });
    out.set((r.logits as Float32Array).subarray(0, count), start);
    onBatch?.(start + count);
  }
  await session.release();
  return out;
}
