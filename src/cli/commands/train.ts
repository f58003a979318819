/**
 * `biggan train`: train BigGAN (or any architecture of the registry, --arch) on an image folder, CIFAR-10 or .npy
 * arrays — or, without --data, the embedded demo on the synthetic dataset. Flags not
 * given take the paper's values (or, with --resume, the run's saved ones).
 * Exit status: 0 done (or stopped by Ctrl-C with a checkpoint), 1 user error or a
 * diverged run, 3 collapse detected.
 */
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import type { EvalInfo, PhaseInfo, ProgressInfo, TrainResult } from '../../train/run/train-run.js';
import { followTrainingRun, openTrainingRun, type TrainOptions } from '../../api/train.js';
import { openCommunicator } from '../../distributed/open-communicator.js';
import type { Communicator } from '../../distributed/communicator.js';
import { trainCommanderOptions } from '../train-flag-options.js';
import { progressBar, type Progress } from '../progress.js';
import { port } from '../options.js';
import { DASHBOARD_DEFAULT_PORT } from '../../web/dashboard-protocol.js';
import type { Dashboard } from '../../web/dashboard-server.js';

type Opts = Record<string, unknown>;

/** The flags the user actually typed (commander fills in defaults for --no-* options). */
function given(cmd: Command, opts: Opts): Opts {
  return Object.fromEntries(Object.entries(opts).filter(([k]) => cmd.getOptionValueSource(k) === 'cli'));
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('train BigGAN (or another --arch) on a class-labelled image folder, CIFAR-10 or .npy arrays (without --data: a short demo on built-in synthetic data)');
  // the flags of train/run/train-flags.ts; --dashboard is the CLI's own
  for (const o of trainCommanderOptions()) cmd.addOption(o);
  cmd
    .option('--dashboard [port]', `serve the live dashboard of this run while it trains (as biggan dashboard; port default ${DASHBOARD_DEFAULT_PORT}, 0 = any free port)`, port)
    .action(async (opts: Opts, c: Command) => runTrain(opts, c));
}

async function runTrain(opts: Opts, cmd: Command): Promise<void> {
  const { dashboard, ...flags } = given(cmd, opts);
  const o = flags as unknown as TrainOptions;
  // under mpiexec: one rank of a data-parallel job (a plain process never loads MPI)
  const comm = openCommunicator();
  if (comm.rank !== 0) {
    await followRank({ ...o, out: opts.out as string }, comm);
    return;
  }
  const note = (line: string): void => void process.stderr.write(`${line}\n`);
  // started before the run opens, so a taken port fails before anything is written and the
  // page is there from the start (data preparation, compilation); it stops when training does
  const dash = dashboard === undefined ? null : await startTrainDashboard(opts.out as string, dashboard === true ? undefined : (dashboard as number));
  if (dash) note(`dashboard: ${dash.url}`);
  try {
    await trainWithProgress(o, opts, note, comm);
  } finally {
    await dash?.close('training ended');
  }
  comm.close();
}

/** A rank other than 0: prints nothing but errors; stops when rank 0 says so (Ctrl-C reaches every rank: rank 0 decides). */
async function followRank(o: TrainOptions, comm: Communicator): Promise<void> {
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  try {
    // the job's exit status is the ranks': stopped by Ctrl-C, every rank says 130 as rank 0 does
    if ((await followTrainingRun(o, comm)).interrupted) process.exitCode = 130;
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
  }
  comm.close();
}

async function startTrainDashboard(dir: string, p: number | undefined): Promise<Dashboard> {
  const { startDashboard } = await import('../../web/dashboard-server.js');
  try {
    return await startDashboard({ dir, port: p, live: true });
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`--dashboard: ${err.message.replace('--port', '--dashboard PORT')}`);
    throw err;
  }
}

async function trainWithProgress(o: TrainOptions, opts: Opts, note: (line: string) => void, comm: Communicator): Promise<void> {
  const fault = process.env.BIGGAN_TRAIN_FAULT; // testing hook: "nan@<step>"
  const nanAt = fault && /^nan@\d+$/.test(fault) ? Number(fault.slice(4)) : undefined;
  const shown = trainProgress();
  const run = await openTrainingRun({ ...o, out: opts.out as string, onNote: note, onProgress: shown.iteration, onPhase: shown.phase }, { faultNanAtStep: nanAt, comm });
  const tty = process.stderr.isTTY;
  const stop = (): void => {
    run.requestStop();
    if (!tty) note('stopping after this iteration (writing a checkpoint)');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let result: TrainResult;
  try {
    result = await run.train();
  } finally {
    shown.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  report(result, run.dir.root);
}

/**
 * The training progress display: a bar on a terminal, else a plain line at least every
 * BIGGAN_PROGRESS_INTERVAL seconds (progress.ts). It shows the latest log.jsonl 'train'
 * record's values, and the long parts between iterations (standing statistics,
 * checkpoint, sample sheet, evaluation) as they run; before training, data preparation
 * and graph compilation get their own lines.
 */
function trainProgress(): { iteration: (p: ProgressInfo) => void; phase: (p: PhaseInfo) => void; stop: () => void } {
  const tty = process.stderr.isTTY;
  let bar: Progress | null = null;
  let before: { what: string; bar: Progress } | null = null;
  let step = 0;
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '-');
  return {
    iteration: (p) => {
      before?.bar.stop();
      before = null;
      bar ??= progressBar(p.total, 'training', ' | {ips} it/s{img} | D real {dr} fake {df} | G {g}{at}{ev}{phase}');
      step = p.step;
      bar.update(p.step, {
        ips: Number.isFinite(p.itPerS) ? p.itPerS.toFixed(2) : '-',
        img: p.ranks > 1 ? `, ${Number.isFinite(p.imagesPerS) ? p.imagesPerS.toFixed(1) : '-'} img/s on ${p.ranks} ranks` : '',
        dr: fmt(p.dLossReal), df: fmt(p.dLossFake), g: fmt(p.gLoss),
        at: p.loggedStep > 0 && p.loggedStep !== p.step ? ` (log step ${p.loggedStep})` : '',
        ev: p.eval ? ` | ${evalText(p.eval)}` : '', phase: '',
      });
      if (!tty && p.eval?.step === p.step) process.stderr.write(`step ${p.step}/${p.total}: ${evalText(p.eval)}\n`);
    },
    phase: (ph) => {
      if (bar) {
        bar.update(step, { phase: ph.done < ph.total ? ` | ${ph.what} ${ph.done}/${ph.total}` : '' });
        return;
      }
      if (before?.what !== ph.what) {
        before?.bar.stop();
        before = { what: ph.what, bar: progressBar(ph.total, ph.what) };
      }
      before.bar.update(ph.done);
    },
    stop: () => {
      before?.bar.stop();
      bar?.stop();
    },
  };
}

function evalText(e: EvalInfo): string {
  return `IS ${e.isMean.toFixed(3)} ± ${e.isStd.toFixed(3)}${e.fid !== undefined ? `, FID ${e.fid.toFixed(2)}` : ''} (step ${e.step})`;
}

function report(r: TrainResult, dir: string): void {
  const out = (line: string): void => void process.stderr.write(`${line}\n`);
  switch (r.status) {
    case 'completed':
      out(`trained to step ${r.step}: ${r.checkpoint}; samples ${r.sheet}`);
      out(`sample from it: biggan sample --weights ${r.checkpoint} --out samples.png`);
      return;
    case 'interrupted':
      out(`stopped at step ${r.step} with a checkpoint; continue with: biggan train --out ${dir} --resume`);
      process.exitCode = 130;
      return;
    case 'collapsed':
      out(r.report);
      process.exitCode = 3;
      return;
    case 'diverged':
      throw new UserError(
        `training diverged at step ${r.step} (${r.what}); stopped without writing a checkpoint` +
          (r.lastGood ? `; the last good one is ${r.lastGood.file} (step ${r.lastGood.step})` : ''),
      );
  }
}
