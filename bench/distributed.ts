/**
 * `npm run bench -- distributed`: data-parallel training over MPI and the job queue (no PyTorch).
 *  - seconds per iteration of `biggan train` at BigGAN 32x32 ch 64 on CIFAR-10 (the synthetic set
 *    where ../shared/datasets/cifar10 is absent), effective batch 50: 1 process x 2 threads
 *    (--batch 50); 2 ranks x 1 thread (--batch 25, per-replica BN: the accumulation form); 2 ranks
 *    x 1 thread --cross-replica-bn. Interleaved rounds; medians of the timed iterations (after one
 *    warm-up) from the run's log.jsonl, then over rounds.
 *  - the Allreduces of an iteration, from the runs themselves (BIGGAN_MPI_STATS): calls, bytes,
 *    seconds inside MPI on rank 0 (waiting for the other rank included) and the per-call minimum
 *    over ranks (the last rank to arrive waits least: the transfer).
 *  - the queue's overhead per trial and per evaluation shard (bench/queue.ts).
 *  - a scaling estimate on paper for BigGAN-128 (ch 96, the paper's 128x128 config) at the
 *    paper's global batch 2048 (bench/scaling-model.ts), from the measured per-worker compute
 *    rate and the parameter counts of our own model code.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openDataset } from '../src/data/prepared-dataset.js';
import { readCollectiveStats, type CollectiveCall } from '../src/distributed/collective-stats.js';
import type { TrainFlags } from '../src/train/run/config.js';
import { readRunLog } from '../src/train/run/run-log.js';
import { MPICH } from '../test/mpi/launchers.js';
import { trainingIterationFlops } from './flops.js';
import { watchOtherLoad } from './machine-load.js';
import { benchQueue } from './queue.js';
import { interleaved, markdownTable, median } from './measure.js';
import { scalingPoint, type IterationCost, type Network } from './scaling-model.js';

const CLI = path.resolve('dist/src/cli/main.js');
const CIFAR = path.resolve('../shared/datasets/cifar10');
const EFFECTIVE_BATCH = 50;
const CLASSES = 10;
/** Allreduces at least this large are the gradients (and the BN replay gather); smaller ones are latency-bound */
const LARGE_BYTES = 2 ** 20;

/** The paper's recipe, as bench/training.ts runs it (shape (a) there). */
const RECIPE_ARGS = [
  '--resolution', '32', '--ch', '64', '--dim-z', '128', '--shared-dim', '128', '--g-attn', '16', '--d-attn', '16', '--bn-eps', '1e-5', '--sn-eps', '1e-6',
  '--d-steps', '2', '--g-lr', '5e-5', '--d-lr', '2e-4', '--betas', '0,0.999', '--adam-eps', '1e-6', '--ortho-beta', '1e-4', '--ortho-variant', 'biggan',
  '--ema-decay', '0.9999', '--ema-start', '0', '--sv-every', '0', '--sample-every', '0', '--standing-passes', '0', '--log-every', '1',
  '--checkpoint-every', '100000', '--no-collapse-watch',
];

interface Mode {
  label: string;
  ranks: number;
  batch: number;
  threads: number;
  extra: string[];
}

const MODES: Record<'solo' | 'perReplica' | 'crossReplica', Mode> = {
  solo: { label: '1 process x 2 threads, --batch 50', ranks: 1, batch: 50, threads: 2, extra: [] },
  perReplica: { label: '2 ranks x 1 thread, --batch 25 (per-replica BN)', ranks: 2, batch: 25, threads: 1, extra: [] },
  crossReplica: { label: '2 ranks x 1 thread, --batch 25 --cross-replica-bn', ranks: 2, batch: 25, threads: 1, extra: ['--cross-replica-bn'] },
};

interface AllreduceIteration {
  calls: number;
  largeCalls: number;
  bytes: number;
  /** rank 0's seconds inside MPI_Allreduce, waiting for the other rank included */
  rank0S: number;
  /** per call the least seconds over the ranks, summed */
  transferS: number;
}

interface Run {
  sPerIter: number;
  allreduce?: AllreduceIteration;
}

/** CIFAR-10 prepared once into the bench's folder (reused when valid), so no timed run prepares it. */
async function dataArgs(outDir: string): Promise<{ args: string[]; label: string }> {
  if (fs.existsSync(CIFAR)) {
    const bgd = path.join(outDir, 'distributed-cifar10-32.bgd');
    (await openDataset(CIFAR, { resolution: 32, cache: bgd })).close();
    return { args: ['--data', bgd], label: 'CIFAR-10 (../shared/datasets/cifar10, its training batches, prepared once)' };
  }
  return { args: ['--synthetic-classes', String(CLASSES), '--synthetic-count', '500'], label: 'the embedded synthetic set (10 classes; ../shared/datasets/cifar10 is absent)' };
}

/**
 * The iterations' Allreduces: each iteration makes the same calls, so the last `steps` runs of
 * equal byte sequences are the iterations and what comes before them is setup; the first
 * iteration (the warm-up) is left out of the figures.
 */
export function allreducePerIteration(ranks: CollectiveCall[][], steps: number): AllreduceIteration {
  const calls = ranks.map((r) => r.filter((c) => c.op === 'MPI_Allreduce'));
  const bytes = calls[0]!.map((c) => c.bytes);
  if (calls.some((r) => r.length !== bytes.length || r.some((c, i) => c.bytes !== bytes[i]))) throw new Error('bench distributed: the ranks made different Allreduce calls');
  const repeats = (m: number): boolean => {
    const tail = bytes.slice(bytes.length - steps * m);
    return tail.every((b, i) => b === tail[i % m]);
  };
  let m = 1;
  while (steps * m <= bytes.length && !repeats(m)) m++;
  if (steps * m > bytes.length) throw new Error(`bench distributed: no per-iteration pattern of Allreduces over ${steps} iterations in ${bytes.length} calls`);
  const start = bytes.length - steps * m;
  const per: AllreduceIteration[] = [];
  for (let it = 1; it < steps; it++) {
    const at = start + it * m;
    const block = (r: CollectiveCall[]): CollectiveCall[] => r.slice(at, at + m);
    const b0 = block(calls[0]!);
    per.push({
      calls: m,
      largeCalls: b0.filter((c) => c.bytes >= LARGE_BYTES).length,
      bytes: b0.reduce((s, c) => s + c.bytes, 0),
      rank0S: b0.reduce((s, c) => s + c.seconds, 0),
      transferS: b0.reduce((s, _c, i) => s + Math.min(...calls.map((r) => block(r)[i]!.seconds)), 0),
    });
  }
  return { ...per[0]!, rank0S: median(per.map((p) => p.rank0S)), transferS: median(per.map((p) => p.transferS)) };
}

function runMode(mode: Mode, steps: number, outDir: string, data: string[], env: NodeJS.ProcessEnv): Run {
  const dir = path.join(outDir, `distributed-${mode.ranks}-${mode.extra.length ? 'xr' : 'pr'}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const stats = path.join(outDir, 'distributed-mpi-stats');
  const train = [CLI, 'train', '--out', dir, ...RECIPE_ARGS, ...data, '--batch', String(mode.batch), '--threads', String(mode.threads), '--steps', String(steps), ...mode.extra];
  const [cmd, args] = mode.ranks === 1 ? [process.execPath, train] : [MPICH.command, ['-n', String(mode.ranks), process.execPath, ...train]];
  const r = spawnSync(cmd, args, { env: mode.ranks === 1 ? env : { ...env, BIGGAN_MPI_STATS: stats }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`bench distributed: ${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const seconds = readRunLog(path.join(dir, 'log.jsonl'))
    .filter((x) => x.type === 'train')
    .map((x) => 1 / (x.it_per_s as number));
  if (seconds.length !== steps) throw new Error(`bench distributed: expected ${steps} train records in ${dir}/log.jsonl, found ${seconds.length}`);
  const run: Run = { sPerIter: median(seconds.slice(1)) };
  if (mode.ranks > 1) {
    const ranks = Array.from({ length: mode.ranks }, (_, k) => readCollectiveStats(stats, k).calls);
    run.allreduce = allreducePerIteration(ranks, steps);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return run;
}

/** The paper's BigGAN at 128x128 (BigGAN-PyTorch's launch_BigGAN_bs256x8.sh networks), at a given per-worker batch. */
function biggan128(batch: number): TrainFlags {
  return {
    resolution: 128, gCh: 96, dCh: 96, dimZ: 120, sharedDim: 128, hier: true, gAttn: [64], dAttn: [64], bnEps: 1e-5, snEps: 1e-6, batch, dSteps: 2,
    gLr: 1e-4, dLr: 4e-4, gBetas: [0, 0.999], dBetas: [0, 0.999], adamEps: 1e-6, orthoBeta: 1e-4, orthoVariant: 'biggan', emaDecay: 0.9999, emaStart: 0, graphs: 'per-step',
  };
}

function biggan32(batch: number): TrainFlags {
  return {
    resolution: 32, gCh: 64, dCh: 64, dimZ: 128, sharedDim: 128, hier: true, gAttn: [16], dAttn: [16], bnEps: 1e-5, snEps: 1e-6, batch, dSteps: 2,
    gLr: 5e-5, dLr: 2e-4, gBetas: [0, 0.999], dBetas: [0, 0.999], adamEps: 1e-6, orthoBeta: 1e-4, orthoVariant: 'biggan', emaDecay: 0.9999, emaStart: 0, graphs: 'per-step',
  };
}

/** Executed FLOPs of an iteration as a + b x batch (the ortho term is per iteration, the rest per image). */
function flopsLine(flags: (batch: number) => TrainFlags, classes: number): { fixed: number; perImage: number; gParams: number; dParams: number } {
  const f1 = trainingIterationFlops(flags(1), classes), f2 = trainingIterationFlops(flags(2), classes);
  const perImage = f2.iteration.executed - f1.iteration.executed;
  return { fixed: f1.iteration.executed - perImage, perImage, gParams: f1.gParams, dParams: f1.dParams };
}

export const NETWORKS: Network[] = [
  { label: '25 Gbit/s Ethernet (3.125 GB/s, 30 µs per message)', bytesPerS: 25e9 / 8, latencyS: 30e-6 },
  { label: '100 Gbit/s InfiniBand (12.5 GB/s, 2 µs per message)', bytesPerS: 100e9 / 8, latencyS: 2e-6 },
];
const WORKERS = [8, 64, 256];
const GLOBAL_BATCH = 2048;

function scalingSection(perReplica: Run, crossReplica: Run): string {
  // the measured worker: one single-threaded rank of the per-replica run, 25 images per step
  const f32 = flopsLine(biggan32, CLASSES);
  const rankFlops = f32.fixed + f32.perImage * MODES.perReplica.batch;
  const computeS = perReplica.sPerIter - perReplica.allreduce!.rank0S;
  const rate = rankFlops / computeS;
  const f128 = flopsLine(biggan128, 1000);
  const dSteps = 2;
  const gradBytes = [...Array<number>(dSteps).fill(4 * f128.dParams), 4 * f128.gParams];
  // small Allreduces: per-replica's as measured (loss gathers); cross-replica BN's extra ones scaled by G's
  // BatchNorm layers (128x128: 5 blocks x 2 + the output BN = 11; 32x32: 3 x 2 + 1 = 7)
  const smallPr = perReplica.allreduce!.calls - perReplica.allreduce!.largeCalls;
  const smallXr = crossReplica.allreduce!.calls - crossReplica.allreduce!.largeCalls;
  const xrExtra = Math.round(((smallXr - smallPr) * 11) / 7);
  const rows: (string | number)[][] = [];
  const cost = (small: number): IterationCost => ({ perImageSeconds: f128.perImage / rate, globalBatch: GLOBAL_BATCH, fixedSeconds: f128.fixed / rate, ringAllreduceBytes: gradBytes, smallAllreduces: small });
  for (const net of NETWORKS) {
    for (const [label, small] of [['per-replica', smallPr], ['cross-replica', smallPr + xrExtra]] as const) {
      for (const p of WORKERS) {
        const pt = scalingPoint(cost(small), p, net);
        const shareS = pt.computeS - f128.fixed / rate;
        rows.push([net.label.split(' (')[0]!, label, p, GLOBAL_BATCH / p, shareS, f128.fixed / rate, pt.communicationS.toFixed(4), pt.iterationS, `${(100 * pt.efficiency).toFixed(2)} %`]);
      }
    }
  }
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  // compute rate at which one iteration's communication would equal its compute on 256 workers (100 Gbit/s)
  const ib = NETWORKS[1]!;
  const comm256 = scalingPoint({ ...cost(smallPr + xrExtra), perImageSeconds: 0, fixedSeconds: 0 }, 256, ib).communicationS;
  const breakEven = ((f128.perImage * GLOBAL_BATCH) / 256 + f128.fixed) / comm256;
  return (
    `**Scaling estimate (a model on paper, not measured)**: BigGAN-128 (G and D ch 96, z 120, shared embedding 128, hier, attention at 64, ` +
    `1000 classes, 2 D steps per G step) at the paper's global batch ${GLOBAL_BATCH}, split evenly over p workers.\n\n` +
    `- Parameters (trainable, counted from our model code): G ${f128.gParams.toLocaleString('en-US')}, D ${f128.dParams.toLocaleString('en-US')}; ` +
    `one iteration's gradient Allreduces: 2 x ${mb(4 * f128.dParams)} MB (D) + ${mb(4 * f128.gParams)} MB (G), float32.\n` +
    `- Compute: ${(f128.perImage / 1e9).toFixed(1)} GFLOP per image of the batch per iteration plus ${(f128.fixed / 1e9).toFixed(1)} GFLOP per worker ` +
    `(the ortho term), as our per-step graphs execute them (bench/flops.ts), at the rate measured above for one single-threaded rank of the per-replica run: ` +
    `${(rankFlops / 1e9).toFixed(1)} GFLOP (32x32 ch 64, batch 25) in ${computeS.toFixed(2)} s (its s/iteration less its Allreduce time) = ${(rate / 1e9).toFixed(2)} GFLOP/s. ` +
    `A scale from FLOPs, not a timed 128x128 iteration.\n` +
    `- Communication (bench/scaling-model.ts): each gradient Allreduce as a ring, 2(p-1)/p x bytes / bandwidth + 2(p-1) x latency, not overlapped with compute ` +
    `(the trainer reduces after the gradient pass); each small Allreduce latency-bound, ceil(log2 p) x latency: ${smallPr} per iteration with per-replica BN ` +
    `(as measured at 32x32), ${smallPr + xrExtra} with cross-replica BN (the ${smallXr - smallPr} extra measured at 32x32 scaled by G's BatchNorm layers, 11 at 128 vs 7 at 32).\n` +
    `- Networks assumed: ${NETWORKS.map((n) => n.label).join('; ')}.\n\n` +
    markdownTable(['network', 'BN', 'workers p', 'images per worker', 'compute s (its images)', 'compute s (fixed: ortho)', 'communication s', 's / iteration', 'scaling efficiency T(1) / (p T(p))'], rows) +
    `\n\nAt this CPU rate compute dwarfs communication on every network; what efficiency is lost at 256 workers is mostly the ortho term, ` +
    `which every worker computes on all of G's weights whatever its share of the batch (computing it once per G step and sharing it would remove that). ` +
    `The 1-byte broadcast per iteration (rank 0 telling the others whether the run goes on) is left out: one more latency.` +
    `\n\nThe communication of an iteration on 256 workers over 100 Gbit/s ` +
    `(${(comm256 * 1000).toFixed(1)} ms, cross-replica BN) would equal its compute on a worker running ${(breakEven / 1e12).toFixed(1)} TFLOP/s: ` +
    `accelerator speeds, where overlapping the Allreduce with the backward pass would start to matter.`
  );
}

export async function benchDistributed(outDir: string, opts: { rounds: number; quick: boolean }): Promise<string> {
  const steps = opts.quick ? 2 : 4;
  const data = await dataArgs(outDir);
  const env = { ...process.env, BIGGAN_CACHE_DIR: path.join(outDir, 'distributed-cache') };
  const load = watchOtherLoad('reaped');
  const started = new Date().toISOString();
  const r = await interleaved(opts.rounds, {
    solo: () => runMode(MODES.solo, steps, outDir, data.args, env),
    perReplica: () => runMode(MODES.perReplica, steps, outDir, data.args, env),
    crossReplica: () => runMode(MODES.crossReplica, steps, outDir, data.args, env),
  });
  const otherCores = load.stop();
  const rows: (string | number)[][] = [];
  const summary = (runs: Run[]): Run => {
    const s: Run = { sPerIter: median(runs.map((x) => x.sPerIter)) };
    if (runs[0]!.allreduce) {
      s.allreduce = { ...runs[0]!.allreduce, rank0S: median(runs.map((x) => x.allreduce!.rank0S)), transferS: median(runs.map((x) => x.allreduce!.transferS)) };
    }
    return s;
  };
  const sums = { solo: summary(r.solo), perReplica: summary(r.perReplica), crossReplica: summary(r.crossReplica) };
  for (const k of ['solo', 'perReplica', 'crossReplica'] as const) {
    const s = sums[k], a = s.allreduce;
    rows.push([
      MODES[k].label, s.sPerIter, `${(EFFECTIVE_BATCH / s.sPerIter).toFixed(2)}`,
      a ? `${a.calls} (${a.largeCalls} ≥ 1 MiB)` : '-', a ? (a.bytes / 1e6).toFixed(2) : '-', a ? a.rank0S.toFixed(3) : '-', a ? a.transferS.toFixed(3) : '-',
    ]);
  }
  const train =
    `BigGAN 32x32 ch 64 (the training bench's shape (a) and recipe) on ${data.label}, effective batch ${EFFECTIVE_BATCH}; ` +
    `\`biggan train\` from dist/ (MPI runs: \`mpiexec -n 2 node dist/src/cli/main.js train ...\`, MPICH); ${opts.rounds} interleaved round${opts.rounds > 1 ? 's' : ''} from ${started}, ` +
    `${steps - 1} timed iteration${steps > 2 ? 's' : ''} after 1 warm-up per run, medians; other processes used ${otherCores.toFixed(2)} cores on average meanwhile.\n\n` +
    markdownTable(['run', 's / iteration', 'images / s', 'Allreduces / iteration', 'MB / iteration', 'Allreduce s (rank 0, waiting included)', 'Allreduce s (per call least over ranks)'], rows) +
    `\n\nAllreduce figures from the runs themselves (BIGGAN_MPI_STATS): rank 0's seconds inside MPI_Allreduce include waiting for the other rank to arrive; ` +
    `the least over the ranks of each call is close to the transfer alone.`;
  console.error('running the queue overhead ...');
  const queue = await benchQueue(outDir, opts);
  return `${train}\n\n${queue}\n\n${scalingSection(sums.perReplica, sums.crossReplica)}`;
}
