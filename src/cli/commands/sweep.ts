/**
 * `biggan sweep SPEC.json --out DIR [--workers K | --queue redis://HOST:PORT]`: runs (or resumes)
 * every trial of a spec, here or on `biggan worker`s;
 * `biggan sweep report DIR [--out report.md]`: the study's tables and plots from its finished trials.
 * Ctrl-C stops the running trials with a checkpoint; running the command again resumes them.
 *
 * `report` is read from the first argument rather than declared as a subcommand: both forms
 * take --out, and commander gives a subcommand's options to the parent unless every level
 * above it turns on positional options (which would change every other command's parsing).
 */
import { Command } from 'commander';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { positiveInt } from '../options.js';

interface SweepOpts {
  out?: string;
  workers?: number;
  queue?: string;
}

async function runSpec(specFile: string, opts: SweepOpts): Promise<void> {
  if (!opts.out) throw new UserError('sweep: --out <dir> is required (the sweep directory)');
  const { readSpec } = await import('../../sweep/spec.js');
  const { runSweep } = await import('../../sweep/runner.js');
  const spec = readSpec(specFile);
  if (opts.queue && opts.workers !== undefined) throw new UserError('sweep: give either --workers (trials on this machine) or --queue (trials on `biggan worker`s), not both');
  // trials on the queue: this process coordinates, `biggan worker`s run them
  const client = opts.queue ? await (await import('../../queue/queue-client.js')).QueueClient.open(opts.queue) : undefined;
  const executor = client ? new (await import('../../queue/queue-executor.js')).QueueExecutor(client, opts.out) : undefined;
  const abort = new AbortController();
  const onSignal = (): void => {
    process.stderr.write('stopping: running trials checkpoint and stop (run the same command again to resume)\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const s = await runSweep(spec, opts.out, { workers: opts.workers, executor, signal: abort.signal, onNote: (line) => process.stderr.write(line + '\n') });
    process.stderr.write(`${s.finished} of ${s.total} trials finished${s.interrupted ? `, ${s.interrupted} to resume` : ''}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client?.close();
  }
}

async function report(dir: string, opts: SweepOpts): Promise<void> {
  if (opts.workers !== undefined) throw new UserError('sweep report: --workers applies only to running a spec');
  if (opts.queue !== undefined) throw new UserError('sweep report: --queue applies only to running a spec');
  const { writeSweepReport } = await import('../../sweep/report/write-report.js');
  const files = writeSweepReport(dir, opts.out ?? path.join(dir, 'report.md'));
  process.stderr.write(`wrote ${files.join(', ')}\n`);
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .usage('SPEC.json --out DIR [--workers K | --queue redis://HOST:PORT]  |  sweep report DIR [--out report.md]')
    .description(
      'run (or resume) every trial of a hyper-parameter sweep (grid, random search or GP-UCB rounds; seeds, budget, evaluation); ' +
        "`sweep report DIR` writes the study's views of its finished trials: per-setting median and best FID, top-5 % box plots, " +
        'the minimum FID for a budget of k settings, KID-FID agreement, heat maps (Markdown + PNG)',
    )
    .argument('<spec>', "sweep spec (JSON), or the word 'report' (a spec file named report: ./report)")
    .argument('[dir]', 'with report: the sweep directory')
    .option('--out <path>', 'running: the sweep directory (sweep.json, trials/<id>/); report: the Markdown file (default DIR/report.md, PNG plots beside it)')
    .option('--workers <k>', 'trials at once on this machine, each in its own process with cores/K threads (default 1)', positiveInt)
    .option('--queue <url>', 'put the trials on a Redis job queue (redis://HOST:PORT) for `biggan worker`s to run; DIR must be on storage they share, at the same path')
    .action(async (first: string, dir: string | undefined, opts: SweepOpts) => {
      if (first === 'report') {
        if (dir === undefined) throw new UserError('sweep report: give the sweep directory (biggan sweep report DIR)');
        return report(dir, opts);
      }
      if (dir !== undefined) throw new UserError(`sweep: unexpected argument ${dir} (biggan sweep SPEC.json --out DIR)`);
      return runSpec(first, opts);
    });
}
