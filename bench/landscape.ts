/**
 * GAN-landscape benchmark (`npm run bench -- landscape`): seconds per D step and peak RSS of
 * the study's networks, ours (bench/landscape-worker.ts: the trainer's per-step D graph,
 * networks built as `biggan train` builds them) against the same networks and the same D step
 * in PyTorch 1.13 (bench/pytorch/landscape.py), side by side:
 *   SNDCGAN 32x32, batch 64, no D normalisation: no penalty, WGAN-GP, DRAGAN (λ 10)
 *   ResNet19 128x128, batch 64, spectral norm, no penalty
 * The study's non-saturating loss on both sides, unconditional. SNDCGAN's penalty rows run
 * without D normalisation, as the study pairs the gradient penalties with it, so the penalties'
 * overhead (step with penalty / plain step) compares like with like. PyTorch at its best:
 * before the rounds, one process per architecture times one step of each of its runtime
 * choices (threads 1 / 2, channels_last off / on, plain or fused resampling convs; see the
 * script) and the timed runs use the fastest. Each run is a fresh process (so its peak RSS
 * is its own): one warm-up step, then the timed steps, median; then the median over
 * interleaved rounds (ours, PyTorch, ours, ...). Other processes' CPU use during each run is
 * recorded (machine-load.ts), since the machine may be shared.
 */
import path from 'node:path';
import type { LandscapeCase, WorkerRequest, WorkerResult } from './landscape-worker.js';
import { watchOtherLoad } from './machine-load.js';
import { interleaved, lastJson, markdownTable, measureProcess, median, PYTHON } from './measure.js';

const THREADS = 2;
const WORKER = path.resolve('dist/bench/landscape-worker.js');
const SCRIPT = path.resolve('bench/pytorch/landscape.py');

interface BenchCase extends LandscapeCase {
  label: string;
  /** The row whose step time this row's penalty overhead divides by. */
  plainOf?: string;
  /** Timed steps per run (the ResNet's steps take about a minute each here). */
  steps: number;
  /** PyTorch's settings search: the batch it times (a smaller one where a step is long) and the thread counts tried. */
  pick: { batch: number; threads: readonly number[] };
}

const SNDCGAN = { arch: 'sndcgan', resolution: 32, batch: 64, dNorm: 'none', loss: 'ns', pick: { batch: 64, threads: [1, 2] } } as const;
const CASES: BenchCase[] = [
  { ...SNDCGAN, label: 'SNDCGAN 32x32, no norm, no penalty', penalty: 'none', steps: 3 },
  { ...SNDCGAN, label: 'SNDCGAN 32x32, no norm, WGAN-GP', penalty: 'wgan-gp', plainOf: 'SNDCGAN 32x32, no norm, no penalty', steps: 3 },
  { ...SNDCGAN, label: 'SNDCGAN 32x32, no norm, DRAGAN', penalty: 'dragan', plainOf: 'SNDCGAN 32x32, no norm, no penalty', steps: 3 },
  { arch: 'resnet19', resolution: 128, batch: 64, dNorm: 'spectral', loss: 'ns', label: 'ResNet19 128x128, spectral norm, no penalty', penalty: 'none', steps: 1,
    // one step of each setting at batch 16 (a quarter of the time); 2 threads, which SNDCGAN's search shows beat 1
    pick: { batch: 16, threads: [2] } },
];

interface Run {
  s: number;
  peakMiB: number;
  otherCores: number;
}

interface TorchChoice {
  threads: number;
  channels_last: number;
  form: 'plain' | 'fused';
  s: number;
}

interface TorchResult {
  G_params: number;
  D_params: number;
  step_seconds?: number[];
  tried?: TorchChoice[];
  best?: TorchChoice;
}

function caseArgs(c: LandscapeCase): string[] {
  return ['--arch', c.arch, '--resolution', String(c.resolution), '--batch', String(c.batch), '--d-norm', c.dNorm, '--penalty', c.penalty];
}

function measured<T>(cmd: string, args: string[]): { j: T; peakMiB: number; otherCores: number } {
  const load = watchOtherLoad('reaped');
  const m = measureProcess(cmd, args);
  return { j: lastJson<T>(m), peakMiB: m.peakRssMiB, otherCores: load.stop() };
}

function ours(c: BenchCase, steps: number): Run & { j: WorkerResult } {
  const req: WorkerRequest = { arch: c.arch, resolution: c.resolution, batch: c.batch, dNorm: c.dNorm, loss: c.loss, penalty: c.penalty, warmup: 1, steps, threads: THREADS };
  const { j, peakMiB, otherCores } = measured<WorkerResult>(process.execPath, [WORKER, JSON.stringify(req)]);
  return { s: median(j.stepSeconds), peakMiB, otherCores, j };
}

function torch(c: BenchCase, choice: TorchChoice, steps: number): Run & { j: TorchResult } {
  const args = [SCRIPT, ...caseArgs(c), '--threads', String(choice.threads), '--channels-last', String(choice.channels_last), '--form', choice.form, '--warmup', '1', '--steps', String(steps)];
  const { j, peakMiB, otherCores } = measured<TorchResult>(PYTHON, args);
  return { s: median(j.step_seconds!), peakMiB, otherCores, j };
}

/** PyTorch's fastest runtime choice for a case's architecture (one step of each, after a warm-up step, in one process). */
function pickTorch(c: BenchCase): { best: TorchChoice; tried: TorchChoice[] } {
  const args = [SCRIPT, ...caseArgs({ ...c, batch: c.pick.batch }), '--pick', '--pick-threads', c.pick.threads.join(',')];
  const { j } = measured<TorchResult>(PYTHON, args);
  return { best: j.best!, tried: j.tried! };
}

const describe = (t: TorchChoice): string => `${t.threads} thread${t.threads > 1 ? 's' : ''}, channels_last ${t.channels_last ? 'on' : 'off'}, ${t.form} resampling`;

/** The architectures `--cases` can pick. */
export const LANDSCAPE_ARCHS = [...new Set(CASES.map((c) => c.arch))];

export async function benchLandscape(opts: { rounds: number; quick?: boolean; archs?: string[] }): Promise<string> {
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const picks = new Map<string, TorchChoice>();
  const stepTimes = new Map<string, { ours: number; torch: number }>();
  const summary: (string | number)[][] = [];
  for (const c of CASES.filter((k) => !opts.archs || opts.archs.includes(k.arch))) {
    const steps = opts.quick ? 1 : c.steps;
    let choice = picks.get(c.arch);
    if (!choice) {
      console.error(`  landscape: picking PyTorch's fastest settings for ${c.arch} ...`);
      const p = pickTorch({ ...c, penalty: 'none' });
      choice = p.best;
      picks.set(c.arch, choice);
      notes.push(`PyTorch settings for ${c.arch} (one step each after a warm-up step, batch ${c.pick.batch}, no penalty): ${p.tried.map((t) => `${describe(t)} ${t.s.toFixed(2)} s`).join('; ')}; fastest: ${describe(choice)}.`);
    }
    console.error(`  landscape: ${c.label} ...`);
    const chosen = choice;
    const r = await interleaved(opts.rounds, { ours: () => ours(c, steps), torch: () => torch(c, chosen, steps) });
    const med = (runs: Run[], k: keyof Run): number => median(runs.map((x) => x[k]));
    const [os, ts, om, tm] = [med(r.ours, 's'), med(r.torch, 's'), med(r.ours, 'peakMiB'), med(r.torch, 'peakMiB')];
    stepTimes.set(c.label, { ours: os, torch: ts });
    const load = (runs: Run[]): string => runs.map((x) => x.otherCores.toFixed(2)).join(' / ');
    rows.push([c.label, 'ours (biggan-ts trainer, per-step graph)', os, `${(ts / os).toFixed(2)}x`, om, `${(om / tm).toFixed(2)}x`, load(r.ours)]);
    rows.push([c.label, `PyTorch ${describe(chosen)}`, ts, '1.00x', tm, '1.00x', load(r.torch)]);
    const oj = r.ours[0]!.j, tj = r.torch[0]!.j;
    const same = oj.gParams === tj.G_params && oj.dParams === tj.D_params;
    notes.push(`${c.label}: parameters G ${oj.gParams} / D ${oj.dParams} ours, ${tj.G_params} / ${tj.D_params} PyTorch${same ? ' (same)' : ' -- DIFFER'}.`);
    const plain = c.plainOf ? stepTimes.get(c.plainOf) : undefined;
    summary.push([
      c.label, `${(ts / os).toFixed(2)}x`, `${(om / tm).toFixed(2)}x`,
      plain ? `${(os / plain.ours).toFixed(2)}x` : '-', plain ? `${(ts / plain.torch).toFixed(2)}x` : '-',
    ]);
  }
  const table = markdownTable(['case (batch 64)', 'run', 's / D step', 'speed ratio (PyTorch s / ours)', 'peak RSS MiB', 'memory ratio (ours / PyTorch)', 'other processes, cores (per round)'], rows);
  const ratios = markdownTable(['case', 'speed (target ≥ 1.2x)', 'memory (target ≤ 1.0x)', 'penalty overhead, ours (step / plain step)', 'penalty overhead, PyTorch'], summary);
  return (
    `${table}\n\n${ratios}\n\n${notes.join('\n')}\n` +
    `${opts.rounds} interleaved round${opts.rounds > 1 ? 's' : ''}, medians; each run a fresh process: 1 warm-up D step, then ${opts.quick ? 1 : 'the case\'s'} timed step(s) (SNDCGAN 3, ResNet19 1)` +
    `; ${THREADS} threads on our side. D step: G forward without grad (BN batch statistics), D on 64 fakes + 64 reals in one call, the non-saturating loss ` +
    `[+ 10 x penalty by double backprop], Adam. Peak RSS of the whole process (GNU time). "Other processes": CPU cores the rest of the machine used during the run.`
  );
}
