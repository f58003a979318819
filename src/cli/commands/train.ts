/**
 * `biggan train`: train BigGAN (or any architecture of the registry, --arch) on an image folder, CIFAR-10 or .npy
 * arrays — or, without --data, the embedded demo on the synthetic dataset. Flags not
 * given take the paper's values (or, with --resume, the run's saved ones).
 * Exit status: 0 done (or stopped by Ctrl-C with a checkpoint), 1 user error or a
 * diverged run, 3 collapse detected.
 */
import { LOSSES, LOSS_NAMES } from '../../train/losses.js';
import { PENALTIES, PENALTY_NAMES } from '../../train/penalties/penalties.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../../errors.js';
import type { EvalInfo, PhaseInfo, ProgressInfo, TrainResult } from '../../train/run/train-run.js';
import { openTrainingRun, type TrainOptions } from '../../api/train.js';
import { LATENT_DISTRIBUTIONS, type LatentDistribution } from '../../train/run/latents.js';
import { ORTHO_VARIANTS, type OrthoVariant } from '../../train/orthogonal-regularization.js';
import { parseAttentionString } from '../../models/biggan-config.js';
import { ARCHITECTURE_NAMES, architecture } from '../../models/architectures.js';
import { D_NORMS } from '../../models/landscape/d-layers.js';
import { progressBar, type Progress } from '../progress.js';
import { finiteNumber, nonNegativeInt, port, positiveInt } from '../options.js';
import { DASHBOARD_DEFAULT_PORT } from '../../web/dashboard-protocol.js';
import type { Dashboard } from '../../web/dashboard-server.js';

function betas(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((b) => !Number.isFinite(b) || b < 0 || b >= 1)) throw new InvalidArgumentError(`expected two numbers in [0, 1) like "0,0.999", got "${value}"`);
  return parts as [number, number];
}

function attention(value: string): number[] {
  if (value === 'none') return [];
  try {
    return parseAttentionString(value, 'attention');
  } catch {
    throw new InvalidArgumentError(`expected resolutions joined by '_' (e.g. 64 or 32_64; 0 or none for none), got "${value}"`);
  }
}

type Opts = Record<string, unknown>;

/** The flags the user actually typed (commander fills in defaults for --no-* options). */
function given(cmd: Command, opts: Opts): Opts {
  return Object.fromEntries(Object.entries(opts).filter(([k]) => cmd.getOptionValueSource(k) === 'cli'));
}

export function registerTrain(program: Command): void {
  const num = finiteNumber;
  program
    .command('train')
    .description('train BigGAN (or another --arch) on a class-labelled image folder, CIFAR-10 or .npy arrays (without --data: a short demo on built-in synthetic data)')
    .option('--data <path>', 'image folder (one sub-folder per class, or images directly in it: class-less, with --unconditional), CIFAR-10 binary folder (training split) or one batch of it (DIR/test_batch.bin), images.npy[:labels.npy], or a prepared .bgd (default: embedded synthetic data and the demo settings)')
    .requiredOption('--out <dir>', 'run directory: checkpoint.safetensors, checkpoints/, log.jsonl, samples/')
    .option('--resume', 'continue the run in --out exactly where its last checkpoint left it (flags given again override the saved ones; an error when --out holds no checkpoint)')
    .addOption(new Option('--arch <arch>', `network architecture (default biggan): ${ARCHITECTURE_NAMES.map((n) => `${n}: ${architecture(n).summary}`).join('; ')}`).choices([...ARCHITECTURE_NAMES]))
    .option('--resolution <r>', 'image side: 32, 64, 128, 256, 512 as the architecture has them (default 128, resnet-cifar 32; demo 32 where the architecture has it)', positiveInt)
    .addOption(new Option('--d-norm <norm>', "D's normalisation (default spectral; sndcgan: spectral or none; resnet19, resnet-cifar: any)").choices([...D_NORMS]))
    .option('--unconditional', 'ignore the class labels: unconditional G and D (the GAN-landscape study; biggan, biggan-deep: one class)')
    .option('--ch <c>', 'channel width of G and D (default 64 at 32x32, 96 above; biggan-deep 128; sndcgan, resnet19 64; resnet-cifar 128; demo 8)', positiveInt)
    .option('--d-ch <c>', 'channel width of D (default: --ch)', positiveInt)
    .option('--dim-z <n>', 'latent size (paper: 128 at 32, 120 at 64/128, 140 at 256, 128 at 512; hier rounds it down to a multiple of the chunks; sndcgan, resnet19, resnet-cifar 128)', positiveInt)
    .option('--shared-dim <n>', 'size of the shared class embedding (default 128)', positiveInt)
    .option('--no-hier', 'feed the whole z to the first layer (default: hierarchical latents)')
    .option('--g-attn <res>', 'G self-attention resolutions, e.g. 64 or 32_64, 0 for none (default 64)', attention)
    .option('--d-attn <res>', 'D self-attention resolutions (default 64)', attention)
    .option('--bn-eps <e>', "G's batch-norm epsilon (default 1e-5; sndcgan 2e-5)", num)
    .option('--sn-eps <e>', 'spectral-norm epsilon (default 1e-6)', num)
    .option('--batch <b>', 'images per forward pass: per D step and per G step, or per micro-batch with accumulation (default 50; demo 16)', positiveInt)
    .option('--d-accumulations <k>', 'micro-batches of --batch whose gradients each D step sums before its Adam step (effective batch --batch x k; default 1)', positiveInt)
    .option('--g-accumulations <k>', 'the same for the G step (default 1)', positiveInt)
    .option('--steps <n>', 'total iterations of the run; one iteration = the D steps + one G step (default 100000; demo 600)', positiveInt)
    .option('--seed <s>', 'seed of init, latents and data order (default 0)', nonNegativeInt)
    .option('--g-lr <lr>', 'G learning rate (paper 5e-5; demo 5e-4)', num)
    .option('--d-lr <lr>', 'D learning rate (paper 2e-4; demo 5e-4)', num)
    .option('--betas <b1,b2>', 'Adam betas of G and D (paper 0,0.999)', betas)
    .option('--g-betas <b1,b2>', 'Adam betas of G', betas)
    .option('--d-betas <b1,b2>', 'Adam betas of D', betas)
    .option('--adam-eps <e>', 'Adam epsilon (default 1e-6)', num)
    .option('--d-steps <n>', 'D steps per G step (paper 2; demo 1)', positiveInt)
    .option('--ortho-beta <b>', 'orthogonal regularization beta (paper 1e-4; 0 = off)', num)
    .addOption(new Option('--ortho-variant <v>', `orthogonal regularization: biggan (off-diagonal, BigGAN-PyTorch's gradient; default), paper (exact gradient of the paper's term), full, none`).choices([...ORTHO_VARIANTS]))
    .option('--ema-decay <d>', 'EMA decay of G_ema (paper 0.9999; demo 0.99)', num)
    .option('--ema-start <n>', 'iteration from which G_ema averages (before: a copy of G; default 20000, demo 100)', nonNegativeInt)
    .option('--standing-passes <n>', 'forward passes gathering standing BN statistics for G_ema at each checkpoint (default 100; 0 = off)', nonNegativeInt)
    .option('--standing-batch <b>', 'images per standing-statistics pass (default: --batch)', positiveInt)
    .addOption(new Option('--latent <dist>', 'latent distribution (default normal)').choices([...LATENT_DISTRIBUTIONS]))
    .option('--z-std <s>', 'scale of the latents (default 1)', num)
    .addOption(new Option('--loss <loss>', `the GAN loss (default hinge, the paper's): ${LOSS_NAMES.map((n) => `${n}: ${LOSSES[n].description}`).join('; ')}`).choices([...LOSS_NAMES]))
    .addOption(new Option('--penalty <p>', `a penalty on D from the large-scale study (default none): ${PENALTY_NAMES.filter((n) => n !== 'none').map((n) => `${n}: ${PENALTIES[n].description}`).join('; ')}`).choices([...PENALTY_NAMES]))
    .option('--penalty-weight <l>', 'its weight λ: D loss += λ * penalty (default 10 for wgan-gp and dragan, 0.01 for l2)', num)
    .option('--r1-gamma <g>', 'R1 zero-centred gradient penalty on D: D loss += g/2 * mean |dD(x)/dx|^2 over reals (default 0 = off)', num)
    .option('--sigma-clamp <v>', "clamp the top singular value of G's weights to v after every G step", num)
    .option('--sigma-clamp-ratio <r>', "clamp the top singular value of G's weights to r * sigma1", num)
    .option('--sigma-reg <t>', "regularise sigma0 of G's SN weights towards t: G loss += b * sum (sigma0 - t)^2 (needs --sigma-reg-strength)", num)
    .option('--sigma-reg-ratio <r>', 'as --sigma-reg with target r * sigma1 (sigma1 re-measured with --sv-every)', num)
    .option('--sigma-reg-strength <b>', 'strength b of --sigma-reg / --sigma-reg-ratio', num)
    .addOption(new Option('--graphs <mode>', 'per-step: a D-step graph and a G-step graph (default: faster, less memory); single: one graph for the whole iteration').choices(['single', 'per-step']))
    .option('--checkpoint-every <k>', 'iterations between checkpoints (default 1000; demo 100)', positiveInt)
    .option('--keep-checkpoints <k>', 'periodic checkpoints kept in DIR/checkpoints (default 3)', nonNegativeInt)
    .option('--log-every <k>', 'iterations per log.jsonl train record (default 10; demo 1)', positiveInt)
    .option('--sv-every <m>', 'iterations between singular-value measurements (default 500; demo 25; 0 = never)', nonNegativeInt)
    .option('--sample-every <m>', 'iterations between sample sheets (default 1000; demo 100; 0 = only at the end)', nonNegativeInt)
    .option('--no-collapse-watch', 'do not stop when collapse is detected')
    .addOption(new Option('--collapse-action <a>', 'on collapse: stop (default), or rollback (make the last healthy checkpoint the current one, then stop)').choices(['stop', 'rollback']))
    .option('--collapse-warmup <n>', 'iterations before collapse signals count (default 2000; demo 100)', nonNegativeInt)
    .option('--collapse-sigma-factor <f>', "a G layer's sigma0 growing by this factor within the window is an explosion (default 4)", num)
    .option('--collapse-sigma-window <n>', 'singular-value measurements in that window (default 5)', positiveInt)
    .option('--collapse-d-loss-low <x>', "D's loss must first fall below this (default 0.1)", num)
    .option('--collapse-d-loss-high <x>', '...then rise above this (default 1.0)', num)
    .option('--collapse-d-loss-window <n>', "iterations averaged for D's loss (default 20)", positiveInt)
    .option('--collapse-diversity <f>', 'sample diversity below this fraction of its best is degenerate (default 0.25)', num)
    .option('--flip', 'random horizontal flips of the training images')
    .option('--skip-bad', 'leave out unreadable images (and say how many) instead of stopping')
    .option('--cache <path>', 'prepared-data cache file or folder (default: $BIGGAN_CACHE_DIR/data, else $XDG_CACHE_HOME/biggan-ts/data, else ~/.cache/biggan-ts/data)')
    .option('--synthetic-classes <k>', 'embedded data: number of classes (default 8)', positiveInt)
    .option('--synthetic-count <n>', 'embedded data: number of images (default 100 per class)', positiveInt)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores; demo 1)', positiveInt)
    // periodic evaluation of G_ema (IS, FID) into log.jsonl
    .option('--stats <file.npz>', 'FID reference statistics (from biggan fid-stats): evaluate IS and FID of G_ema during training')
    .option('--inception <file>', `Inception weights for --stats / --eval-every (default: $BIGGAN_INCEPTION); 'procedural' = the test fixtures' stand-in (testing aid, meaningless scores)`)
    .option('--eval-every <k>', 'iterations between evaluations (default: --checkpoint-every; without --stats: IS alone)', positiveInt)
    .option('--eval-n <n>', 'generated images per evaluation (default 5000)', positiveInt)
    .option('--eval-truncation <t>', 'truncation of the evaluated latents (default none)', num)
    .option('--dashboard [port]', `serve the live dashboard of this run while it trains (as biggan dashboard; port default ${DASHBOARD_DEFAULT_PORT}, 0 = any free port)`, port)
    .action(async (opts: Opts, cmd: Command) => runTrain(opts, cmd));
}

async function runTrain(opts: Opts, cmd: Command): Promise<void> {
  const { dashboard, ...flags } = given(cmd, opts);
  const o = flags as unknown as TrainOptions;
  const note = (line: string): void => void process.stderr.write(`${line}\n`);
  // started before the run opens, so a taken port fails before anything is written and the
  // page is there from the start (data preparation, compilation); it stops when training does
  const dash = dashboard === undefined ? null : await startTrainDashboard(opts.out as string, dashboard === true ? undefined : (dashboard as number));
  if (dash) note(`dashboard: ${dash.url}`);
  try {
    await trainWithProgress(o, opts, note);
  } finally {
    await dash?.close('training ended');
  }
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

async function trainWithProgress(o: TrainOptions, opts: Opts, note: (line: string) => void): Promise<void> {
  const fault = process.env.BIGGAN_TRAIN_FAULT; // testing hook: "nan@<step>"
  const nanAt = fault && /^nan@\d+$/.test(fault) ? Number(fault.slice(4)) : undefined;
  const shown = trainProgress();
  const run = await openTrainingRun({ ...o, out: opts.out as string, onNote: note, onProgress: shown.iteration, onPhase: shown.phase }, { faultNanAtStep: nanAt });
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
      bar ??= progressBar(p.total, 'training', ' | {ips} it/s | D real {dr} fake {df} | G {g}{at}{ev}{phase}');
      step = p.step;
      bar.update(p.step, {
        ips: Number.isFinite(p.itPerS) ? p.itPerS.toFixed(2) : '-', dr: fmt(p.dLossReal), df: fmt(p.dLossFake), g: fmt(p.gLoss),
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
