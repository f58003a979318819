/**
 * `biggan sweep SPEC.json --out DIR [--workers K]`: runs (or resumes) every trial of a spec;
 * `biggan sweep report DIR [--out report.md]`: the study's tables and plots from its finished trials.
 * Ctrl-C stops the running trials with a checkpoint; running the command again resumes them.
 */
import { Command } from 'commander';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { positiveInt } from '../options.js';

export function registerSweep(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('run (or resume) every trial of a hyper-parameter sweep (grid or random search); `sweep report DIR` tabulates and plots its results')
    .enablePositionalOptions()
    .argument('<spec>', 'sweep spec (JSON): fixed options, what to vary (grid or random), seeds, steps, eval')
    .option('--out <dir>', 'sweep directory: sweep.json (spec + status per trial) and trials/<id>/ (one training run each)')
    .option('--workers <k>', 'trials at once on this machine, each in its own process with cores/K threads (default 1)', positiveInt)
    .action(async (specFile: string, opts: { out?: string; workers?: number }) => {
      if (!opts.out) throw new UserError("sweep: --out <dir> is required (or use `biggan sweep report DIR`)");
      const { readSpec } = await import('../../sweep/spec.js');
      const { runSweep } = await import('../../sweep/runner.js');
      const spec = readSpec(specFile);
      const abort = new AbortController();
      const onSignal = (): void => {
        process.stderr.write('stopping: running trials checkpoint and stop (run the same command again to resume)\n');
        abort.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const s = await runSweep(spec, opts.out, { workers: opts.workers, signal: abort.signal, onNote: (line) => process.stderr.write(line + '\n') });
        process.stderr.write(`${s.finished} of ${s.total} trials finished${s.interrupted ? `, ${s.interrupted} to resume` : ''}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  sweep
    .command('report')
    .description("the study's views of a sweep's finished trials: per-setting median and best FID, top-5 % box plots, budget curve, KID-FID agreement, heat maps")
    .argument('<dir>', 'a biggan sweep --out directory')
    .option('--out <file.md>', 'Markdown report (default DIR/report.md); PNG plots beside it')
    .action(async (dir: string, opts: { out?: string }) => {
      const { writeSweepReport } = await import('../../sweep/report/write-report.js');
      const out = opts.out ?? path.join(dir, 'report.md');
      const files = writeSweepReport(dir, out);
      process.stderr.write(`wrote ${files.join(', ')}\n`);
    });
}
