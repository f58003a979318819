/** `biggan dashboard DIR [--port P]`: a web page that follows a training run live (or shows a finished one). */
import { Command } from 'commander';
import { DASHBOARD_DEFAULT_PORT } from '../../web/dashboard-protocol.js';
import { port } from '../options.js';

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('serve a live dashboard of a training run: losses, per-layer sigma0 of G and D, IS/FID, throughput, sample sheets and the config, updated as the run writes them')
    .argument('<dir>', 'a biggan train --out directory (running or finished)')
    .option('--port <p>', `port on 127.0.0.1 (default ${DASHBOARD_DEFAULT_PORT}; 0 = any free port)`, port)
    .action(async (dir: string, opts: { port?: number }) => {
      const { startDashboard } = await import('../../web/dashboard-server.js');
      const dash = await startDashboard({ dir, port: opts.port });
      process.stderr.write(`dashboard of ${dir}: ${dash.url} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => void dash.close('the dashboard server was stopped').then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
