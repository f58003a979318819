/**
 * The machine's ceiling: one 3x3 convolution (batch 16, 256 -> 256 channels, 32x32,
 * padding 1, no bias, forward only), the densest work BigGAN and Inception do, in
 * onnxruntime (built with our engine, 2 threads) and in PyTorch (channels_last,
 * inference_mode, 2 threads; bench/pytorch/conv_ceiling.py). Each round runs ours then
 * PyTorch: a warm-up, then timed runs; each round reports its median GFLOP/s and each
 * side its median round. The ceiling is the faster side's: every other section reports
 * its achieved GFLOP/s as a share of it.
 */
import path from 'node:path';
import { Graph, Param } from '../src/engine/graph.js';
import { conv2d } from '../src/engine/ops/conv.js';
import { exportOnnx } from '../src/engine/onnx-export.js';
import { CompiledGraph } from '../src/engine/runtime.js';
import { graphFlops } from './flops.js';
import { PYTHON, interleaved, lastJson, markdownTable, measureProcess, median, share } from './measure.js';

const PY = path.resolve('bench/pytorch/conv_ceiling.py');
const [B, C, S, K] = [16, 256, 32, 3];
const THREADS = 2;

export interface Ceiling {
  oursGflops: number;
  torchGflops: number;
  /** max of the two: the machine's measured limit for this work. */
  gflops: number;
  table: string;
}

function det(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * scale);
}

export async function benchCeiling(opts: { rounds: number; runs?: number }): Promise<Ceiling> {
  const runs = opts.runs ?? 10;
  const g = new Graph();
  const x = g.input('x', [B, C, S, S]);
  const w = g.param(new Param('w', [C, C, K, K], det(C * C * K * K, 1 / Math.sqrt(C * K * K))));
  const y = conv2d(x, w, undefined, { pad: 1 });
  const flops = graphFlops(g, [y]);
  const session = await CompiledGraph.create(exportOnnx(g, { outputs: { y }, paramInputs: 'none', graphName: 'conv_ceiling' }), { threads: THREADS });
  const feed = { x: det(B * C * S * S, 1) };
  const ours = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) await session.run(feed);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feed);
      times.push((performance.now() - t) / 1000);
    }
    return flops / median(times) / 1e9;
  };
  const torch = (): number => lastJson<{ gflops: number }>(measureProcess(PYTHON, [PY, '--threads', String(THREADS), '--runs', String(runs)])).gflops;
  const r = await interleaved(opts.rounds, { ours, torch });
  await session.release();
  const oursGflops = median(r.ours), torchGflops = median(r.torch);
  const gflops = Math.max(oursGflops, torchGflops);
  const fmt = (xs: number[]): string => xs.map((v) => v.toFixed(0)).join(' / ');
  const table =
    markdownTable(
      ['implementation', 'GFLOP/s (median)', 'per round', 'share of ceiling'],
      [
        [`biggan-ts graph on onnxruntime-node (${THREADS} threads)`, oursGflops, fmt(r.ours), share(oursGflops, gflops)],
        [`PyTorch (${THREADS} threads, channels_last, inference_mode)`, torchGflops, fmt(r.torch), share(torchGflops, gflops)],
      ],
    ) +
    `\n\nOne 3x3 convolution, batch ${B}, ${C} -> ${C} channels, ${S}x${S}, padding 1, no bias, forward only (${(flops / 1e9).toFixed(2)} GFLOP = 2·B·Cout·Cin·9·H·W); ` +
    `${opts.rounds} interleaved round${opts.rounds > 1 ? 's' : ''} of 3 warm-up + ${runs} timed runs. Ceiling = ${gflops.toFixed(0)} GFLOP/s (the faster side). ` +
    `It is measured once, before the other sections: on a shared machine a share above 100 % means that row ran while the machine was less loaded than during the ceiling's runs.`;
  return { oursGflops, torchGflops, gflops, table };
}
