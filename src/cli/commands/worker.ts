/**
 * `biggan worker --queue redis://HOST:PORT [--concurrency K]`: runs sweep trials and
 * evaluation shards from the job queue until stopped (Ctrl-C / SIGTERM: running trials
 * checkpoint and go back on the queue). Start any number, on any machines that share the
 * sweep and evaluation folders at the same paths.
 */
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { positiveInt } from '../options.js';

interface WorkerOpts {
  queue?: string;
  concurrency: number;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .usage('--queue redis://HOST:PORT [--concurrency K]')
    .description('run sweep trials and evaluation shards from a Redis job queue (`biggan sweep --queue`, `biggan eval --queue`) until stopped')
    .option('--queue <url>', 'the queue: redis://HOST:PORT (redis://[user:password@]HOST:PORT[/DB]; rediss:// for TLS)')
    .option('--concurrency <k>', 'jobs at once, each in its own process with cores/K threads (default 1)', positiveInt, 1)
    .action(async (opts: WorkerOpts) => {
      if (!opts.queue) throw new UserError('worker: --queue redis://HOST:PORT is required');
      const { runWorker } = await import('../../queue/worker.js');
      const abort = new AbortController();
      const onSignal = (): void => {
        process.stderr.write('stopping: running jobs checkpoint and go back on the queue\n');
        abort.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      await runWorker(opts.queue, { concurrency: opts.concurrency, signal: abort.signal, onNote: (line) => process.stderr.write(line + '\n') });
    });
}
