/**
 * Sampling benchmark: full-size BigGAN-deep-128 with random weights written by our own
 * code, 8 and 32 images. Whole process (start, load weights, build, generate, write .npy)
 * and generation only (steady-state batches), against PyTorch 1.13 running the same
 * network at its best (bench/pytorch/biggan_deep_sample.py: SN folded, channels_last,
 * inference_mode, best thread count), side by side in one run.
 */
import path from 'node:path';
import { deep128Weights } from './fresh-weights.js';
import { measureProcess, pytorchAvailable, median, markdownTable } from './measure.js';
import { loadGenerator } from '../src/models/checkpoint.js';
import { Sampler } from '../src/sample/sampler.js';

const CLI = path.resolve('dist/src/cli/main.js');
const PY = path.resolve('bench/pytorch/biggan_deep_sample.py');

export interface SamplingRow {
  impl: string;
  n: number;
  wholeS: number;
  wholeImgS: number;
  peakMiB: number;
  genBatchS: number;
  genImgS: number;
}

async function oursGenerationOnly(weights: string, config: string, batch: number, repeats: number): Promise<number> {
  const { model } = loadGenerator(weights, config);
  const sampler = Sampler.of(model);
  const z = new Float32Array(batch * model.zDim).map((_, i) => Math.sin(i) * 0.4);
  const cv = new Float32Array(batch * model.numClasses);
  for (let i = 0; i < batch; i++) cv[i * model.numClasses + ((i * 37) % model.numClasses)] = 1;
  const req = { z, classVectors: cv, n: batch, truncation: 0.4 };
  await sampler.generate(req, batch); // warm-up (session creation, first run)
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    await sampler.generate(req, batch);
    times.push((performance.now() - t) / 1000);
  }
  await sampler.release();
  return median(times);
}

export async function benchSampling(outDir: string, opts: { counts?: number[]; repeats?: number } = {}): Promise<{ rows: SamplingRow[]; table: string }> {
  const { weights, config } = deep128Weights(path.join(outDir, 'biggan-deep-128'));
  const counts = opts.counts ?? [8, 32];
  const repeats = opts.repeats ?? 3;
  const rows: SamplingRow[] = [];
  const havePy = pytorchAvailable();
  for (const n of counts) {
    const batch = n;
    const out = path.join(outDir, `ours-${n}.npy`);
    // whole process, twice: the first run also writes onnxruntime's optimized-model cache
    measureProcess(process.execPath, [CLI, 'sample', '--weights', weights, '--config', config, '-n', String(n), '--batch', String(batch), '--truncation', '0.4', '--out', out]);
    const whole = measureProcess(process.execPath, [CLI, 'sample', '--weights', weights, '--config', config, '-n', String(n), '--batch', String(batch), '--truncation', '0.4', '--out', out]);
    const gen = await oursGenerationOnly(weights, config, batch, repeats);
    rows.push({ impl: 'biggan-ts (onnxruntime-node)', n, wholeS: whole.wallS, wholeImgS: n / whole.wallS, peakMiB: whole.peakRssMiB, genBatchS: gen, genImgS: batch / gen });
    if (havePy) {
      let best: SamplingRow | null = null;
      for (const threads of [1, 2]) {
        const pyOut = path.join(outDir, `torch-${n}.npy`);
        const m = measureProcess('/usr/bin/python3', [PY, '--weights', weights, '--config', config, '--n', String(n), '--batch', String(batch), '--repeat', String(repeats), '--threads', String(threads), '--out', pyOut]);
        const j = JSON.parse(m.stdout.trim().split('\n').pop()!);
        const row = { impl: `PyTorch 1.13 (${threads} thread${threads > 1 ? 's' : ''})`, n, wholeS: m.wallS, wholeImgS: n / m.wallS, peakMiB: m.peakRssMiB, genBatchS: j.steady_batch_s, genImgS: batch / j.steady_batch_s };
        if (!best || row.wholeS < best.wholeS) best = row;
      }
      rows.push(best!);
    }
  }
  const table = markdownTable(
    ['implementation', 'images', 'whole process s', 'images/s (whole)', 'peak RSS MiB', 'batch s (steady)', 'images/s (generation)'],
    rows.map((r) => [r.impl, r.n, r.wholeS, r.wholeImgS, r.peakMiB, r.genBatchS, r.genImgS]),
  );
  const ratios: string[] = [];
  for (const n of counts) {
    const ours = rows.find((r) => r.n === n && r.impl.startsWith('biggan-ts'));
    const torch = rows.find((r) => r.n === n && r.impl.startsWith('PyTorch'));
    if (ours && torch) {
      ratios.push(`n=${n}: whole process ${(ours.wholeImgS / torch.wholeImgS).toFixed(2)}x PyTorch's images/s at ${(ours.peakMiB / torch.peakMiB).toFixed(2)}x its memory; generation ${(ours.genImgS / torch.genImgS).toFixed(2)}x`);
    }
  }
  return { rows, table: `${table}\n\n${havePy ? ratios.join('\n') : 'PyTorch not installed (apt-get install -y python3-torch libopenblas0-pthread): ours only.'}` };
}
