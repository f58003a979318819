/**
 * Training benchmark: seconds per iteration (2 D steps + 1 G step, EMA included) and
 * peak RSS of the whole training process, for
 *   (a) BigGAN 32x32, ch 64, batch 50, 10 classes (CIFAR-10's shape; attention "16",
 *       which upstream's D_arch[32] labels put after every D block);
 *   (b) BigGAN 128x128, ch 32, batch 8, 10 classes (attention at 64 in G and D);
 * ours = `biggan train` itself (per-step graphs, the default; the embedded data generator
 * at that shape; no sheets, standing statistics or singular values in between), against
 * torch_ref.py time-train on the same networks and iteration: one spec below gives both
 * our flags and the BigGAN-PyTorch constructor args torch_ref reads. The paper's recipe on
 * both sides: hier, shared embedding 128, BN eps 1e-5, SN eps 1e-6, D_wide, lr G 5e-5 /
 * D 2e-4, Adam betas (0, 0.999) eps 1e-6, 2 D steps, off-diagonal ortho 1e-4 on G, EMA 0.9999
 * from the first iteration. Iteration times: medians of the timed iterations (after one
 * warm-up) of each run, then the median over interleaved rounds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readRunLog } from '../src/train/run/run-log.js';
import type { TrainFlags } from '../src/train/run/config.js';
import { trainingIterationFlops } from './flops.js';
import { interleaved, markdownTable, measureProcess, median, rates, runTorchRef } from './measure.js';

const CLI = path.resolve('dist/src/cli/main.js');
const THREADS = 2;

interface Shape {
  label: string;
  resolution: number;
  ch: number;
  batch: number;
  classes: number;
  dimZ: number;
  attn: number;
}

const SHAPES: Shape[] = [
  { label: '(a) BigGAN 32x32, ch 64, batch 50', resolution: 32, ch: 64, batch: 50, classes: 10, dimZ: 128, attn: 16 },
  { label: '(b) BigGAN 128x128, ch 32, batch 8', resolution: 128, ch: 32, batch: 8, classes: 10, dimZ: 120, attn: 64 },
];

const RECIPE = { sharedDim: 128, bnEps: 1e-5, snEps: 1e-6, gLr: 5e-5, dLr: 2e-4, betas: [0, 0.999] as [number, number], adamEps: 1e-6, dSteps: 2, orthoBeta: 1e-4, emaDecay: 0.9999 };

function trainFlags(s: Shape, graphs: 'single' | 'per-step'): TrainFlags {
  const r = RECIPE;
  return {
    resolution: s.resolution, gCh: s.ch, dCh: s.ch, dimZ: s.dimZ, sharedDim: r.sharedDim, hier: true, gAttn: [s.attn], dAttn: [s.attn],
    bnEps: r.bnEps, snEps: r.snEps, batch: s.batch, dSteps: r.dSteps, gLr: r.gLr, dLr: r.dLr, gBetas: r.betas, dBetas: r.betas,
    adamEps: r.adamEps, orthoBeta: r.orthoBeta, orthoVariant: 'biggan', emaDecay: r.emaDecay, emaStart: 0, graphs,
  };
}

function cliArgs(s: Shape, graphs: 'single' | 'per-step', steps: number, dir: string): string[] {
  const f = trainFlags(s, graphs);
  return [
    CLI, 'train', '--out', dir, '--resolution', String(f.resolution), '--ch', String(f.gCh), '--dim-z', String(f.dimZ), '--shared-dim', String(f.sharedDim),
    '--g-attn', String(s.attn), '--d-attn', String(s.attn), '--bn-eps', String(f.bnEps), '--sn-eps', String(f.snEps), '--batch', String(f.batch),
    '--d-steps', String(f.dSteps), '--g-lr', String(f.gLr), '--d-lr', String(f.dLr), '--betas', RECIPE.betas.join(','), '--adam-eps', String(f.adamEps),
    '--ortho-beta', String(f.orthoBeta), '--ortho-variant', 'biggan', '--ema-decay', String(f.emaDecay), '--ema-start', '0', '--graphs', graphs,
    '--threads', String(THREADS), '--synthetic-classes', String(s.classes), '--synthetic-count', String(s.batch * 10), '--steps', String(steps),
    '--sv-every', '0', '--sample-every', '0', '--standing-passes', '0', '--log-every', '1', '--checkpoint-every', '100000', '--no-collapse-watch',
  ];
}

/** The same networks as BigGAN-PyTorch constructor args (what torch_ref.py reads). */
function torchArgs(s: Shape): object {
  const r = RECIPE;
  const attn = String(s.attn);
  return {
    G: {
      G_ch: s.ch, dim_z: s.dimZ, bottom_width: 4, resolution: s.resolution, G_kernel_size: 3, G_attn: attn, n_classes: s.classes, num_G_SVs: 1, num_G_SV_itrs: 1,
      G_shared: true, shared_dim: r.sharedDim, hier: true, BN_eps: r.bnEps, SN_eps: r.snEps, G_init: 'ortho', G_param: 'SN', norm_style: 'bn',
    },
    D: {
      D_ch: s.ch, D_wide: true, resolution: s.resolution, D_kernel_size: 3, D_attn: attn, n_classes: s.classes, num_D_SVs: 1, num_D_SV_itrs: 1,
      SN_eps: r.snEps, output_dim: 1, D_init: 'ortho', D_param: 'SN',
    },
    note: 'written by biggan-ts bench/training.ts to match its `biggan train` flags',
  };
}

interface Run {
  sPerIter: number;
  peakMiB: number;
}

function ours(s: Shape, graphs: 'single' | 'per-step', iters: number, outDir: string): Run {
  const dir = path.join(outDir, `train-${s.resolution}-${graphs}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const m = measureProcess(process.execPath, cliArgs(s, graphs, iters + 1, dir));
  const seconds = readRunLog(path.join(dir, 'log.jsonl'))
    .filter((r) => r.type === 'train')
    .map((r) => 1 / (r.it_per_s as number));
  return { sPerIter: median(seconds.slice(1)), peakMiB: m.peakRssMiB };
}

interface TimeTrain {
  s_per_iter: number;
  G_params: number;
  D_params: number;
}

function torch(argsFile: string, s: Shape, iters: number): Run & { j: TimeTrain } {
  const { m, j } = runTorchRef<TimeTrain>(['time-train', '--args', argsFile, '--resolution', String(s.resolution), '--batch', String(s.batch), '--iters', String(iters), '--threads', String(THREADS)]);
  return { sPerIter: j.s_per_iter, peakMiB: m.peakRssMiB, j };
}

const gf = (flops: number): string => (flops / 1e9).toFixed(1);

export async function benchTraining(outDir: string, opts: { rounds: number; ceiling: number; iters?: number; single?: boolean }): Promise<string> {
  const iters = opts.iters ?? 3;
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  for (const s of SHAPES) {
    const argsFile = path.join(outDir, `train-${s.resolution}-ch${s.ch}.constructor_args.json`);
    fs.writeFileSync(argsFile, JSON.stringify(torchArgs(s), null, 1));
    const flops = trainingIterationFlops(trainFlags(s, 'per-step'), s.classes);
    const sides: Record<string, () => Run> = {
      perStep: () => ours(s, 'per-step', iters, outDir),
      torch: () => torch(argsFile, s, iters),
      ...(opts.single ? { single: () => ours(s, 'single', iters, outDir) } : {}),
    };
    const r = await interleaved(opts.rounds, sides);
    const t = median(r.torch.map((x) => x.sPerIter)), tM = median(r.torch.map((x) => x.peakMiB));
    const row = (label: string, runs: Run[], ours: boolean): (string | number)[] => {
      const sec = median(runs.map((x) => x.sPerIter)), mem = median(runs.map((x) => x.peakMiB));
      return [s.label, label, sec, `${(t / sec).toFixed(2)}x`, mem, `${(mem / tM).toFixed(2)}x`, ...rates(flops.iteration, sec, opts.ceiling, ours)];
    };
    rows.push(row('biggan train, per-step graphs (default)', r.perStep, true));
    if (r.single) rows.push(row('biggan train --graphs single (one graph per iteration)', r.single, true));
    rows.push(row(`torch_ref.py time-train (${THREADS} threads)`, r.torch, false));
    const tj = (r.torch[0] as Run & { j: TimeTrain }).j;
    const same = tj.G_params === flops.gParams && tj.D_params === flops.dParams;
    notes.push(
      `${s.label}: ${gf(flops.iteration.model)} GFLOP per iteration as written (D step ${gf(flops.dStep.model)} x 2 + G step ${gf(flops.gStep.model)}), ` +
        `${gf(flops.iteration.executed)} as our graphs run it (D step ${gf(flops.dStep.executed)}, G step ${gf(flops.gStep.executed)}); ` +
        `parameters G ${flops.gParams} / D ${flops.dParams} ours, ${tj.G_params} / ${tj.D_params} PyTorch${same ? ' (same)' : ' -- DIFFER'}.`,
    );
  }
  const table = markdownTable(['shape', 'run', 's / iteration', 'ratio (PyTorch s / ours)', 'peak RSS MiB', 'memory ratio (ours / PyTorch)', 'model GFLOP/s', 'executed share of ceiling'], rows);
  return (
    `${table}\n\n${notes.join('\n')}\n` +
    `${opts.rounds} interleaved round${opts.rounds > 1 ? 's' : ''}, medians; ${iters} timed iteration${iters > 1 ? "s" : ""} after 1 warm-up per run; ${THREADS} threads both sides. ` +
    `FLOPs: 2 x multiply-accumulates of the Conv/ConvTranspose/MatMul/Gemm nodes of the per-step training graphs our trainer builds ` +
    `(D step: G forward for the fakes, D forward and backward on fakes and reals; G step: G and D forward, backward through D to its input and through G, ortho term), ` +
    `as written (upsampling before G's convs, pooling after D's) for both sides' model GFLOP/s; the share of the ${opts.ceiling.toFixed(0)} GFLOP/s ceiling uses what each side executes ` +
    `(our graphs run those convs at low resolution, see flops.ts).`
  );
}
