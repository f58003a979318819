/**
 * Training benchmark: seconds per iteration (2 D steps + 1 G step, EMA included) and
 * peak RSS of the whole training process, for
 *   (a) BigGAN 32x32 on CIFAR-10's shape (10 classes), ch 64, batch 50;
 *   (b) BigGAN 128x128, ch 32, batch 8 (self-attention at 64 in G and D);
 * ours = `biggan train` itself (the embedded data generator at that shape, the paper's
 * settings, no sheets / standing statistics / singular values in between), against
 * the same network and iteration in PyTorch 1.13 (bench/pytorch/biggan_train_step.py,
 * random data, best of 1 and 2 threads). Iteration times are medians over the timed
 * iterations, after the first (which includes graph compilation for us).
 */
import fs from 'node:fs';
import path from 'node:path';
import { measureProcess, pytorchAvailable, median, markdownTable } from './measure.js';
import { readRunLog } from '../src/train/run/run-log.js';

const CLI = path.resolve('dist/src/cli/main.js');
const PY = path.resolve('bench/pytorch/biggan_train_step.py');

interface Shape {
  label: string;
  resolution: number;
  ch: number;
  batch: number;
  classes: number;
  images: number;
}

const SHAPES: Shape[] = [
  { label: '(a) BigGAN 32x32, ch 64, batch 50', resolution: 32, ch: 64, batch: 50, classes: 10, images: 500 },
  { label: '(b) BigGAN 128x128, ch 32, batch 8', resolution: 128, ch: 32, batch: 8, classes: 10, images: 80 },
];

export interface TrainingRow {
  shape: string;
  impl: string;
  sPerIter: number;
  firstIterS: number;
  peakMiB: number;
  wholeS: number;
}

function ours(s: Shape, graphs: 'single' | 'per-step', iters: number, outDir: string): TrainingRow {
  const dir = path.join(outDir, `train-${s.resolution}-${graphs}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const m = measureProcess(process.execPath, [
    CLI, 'train', '--out', dir, '--resolution', String(s.resolution), '--ch', String(s.ch), '--batch', String(s.batch),
    '--synthetic-classes', String(s.classes), '--synthetic-count', String(s.images), '--steps', String(iters + 1),
    // the paper's recipe at this shape (not the demo preset)
    '--dim-z', s.resolution === 32 ? '128' : '120', '--shared-dim', '128', '--g-attn', '64', '--d-attn', '64',
    '--g-lr', '5e-5', '--d-lr', '2e-4', '--ema-decay', '0.9999', '--ema-start', '0',
    '--sv-every', '0', '--sample-every', '0', '--standing-passes', '0', '--log-every', '1', '--checkpoint-every', '100000', '--graphs', graphs,
  ]);
  const seconds = readRunLog(path.join(dir, 'log.jsonl'))
    .filter((r) => r.type === 'train')
    .map((r) => 1 / (r.it_per_s as number));
  return { shape: s.label, impl: `biggan-ts (${graphs} graph${graphs === 'single' ? '' : 's'})`, sPerIter: median(seconds.slice(1)), firstIterS: seconds[0], peakMiB: m.peakRssMiB, wholeS: m.wallS };
}

function torch(s: Shape, iters: number): TrainingRow {
  let best: TrainingRow | null = null;
  for (const threads of [1, 2]) {
    const m = measureProcess('/usr/bin/python3', [PY, '--resolution', String(s.resolution), '--ch', String(s.ch), '--batch', String(s.batch), '--classes', String(s.classes), '--iters', String(iters), '--threads', String(threads)]);
    const j = JSON.parse(m.stdout.trim().split('\n').pop()!);
    const row = { shape: s.label, impl: `PyTorch 1.13 (${threads} thread${threads > 1 ? 's' : ''})`, sPerIter: j.s_per_iter, firstIterS: j.first_iter_s, peakMiB: m.peakRssMiB, wholeS: m.wallS };
    if (!best || row.sPerIter < best.sPerIter) best = row;
  }
  return best!;
}

export async function benchTraining(outDir: string, opts: { iters?: number } = {}): Promise<{ rows: TrainingRow[]; table: string }> {
  const iters = opts.iters ?? 3;
  const havePy = pytorchAvailable();
  const rows: TrainingRow[] = [];
  const ratios: string[] = [];
  for (const s of SHAPES) {
    const mine = (['per-step', 'single'] as const).map((g) => ours(s, g, iters, outDir));
    rows.push(...mine);
    if (havePy) {
      const t = torch(s, iters);
      rows.push(t);
      for (const o of mine) {
        ratios.push(`${s.label}, ${o.impl}: ${(t.sPerIter / o.sPerIter).toFixed(2)}x PyTorch's speed at ${(o.peakMiB / t.peakMiB).toFixed(2)}x its peak memory`);
      }
    }
  }
  const table = markdownTable(
    ['shape', 'implementation', 's / iteration (2 D + 1 G)', 'first iteration s', 'peak RSS MiB', 'whole process s'],
    rows.map((r) => [r.shape, r.impl, r.sPerIter, r.firstIterS, r.peakMiB, r.wholeS]),
  );
  return { rows, table: `${table}\n\n${havePy ? ratios.join('\n') : 'PyTorch not installed (apt-get install -y python3-torch libopenblas0-pthread): ours only.'}` };
}
