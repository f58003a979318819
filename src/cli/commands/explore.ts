/** `biggan explore`: the explorer site for a weights file, served locally (cross-origin isolated: WebAssembly threads). */
import { Command } from 'commander';
import path from 'node:path';
import { cacheRoot } from '../../cache-dir.js';
import { regularFileSize } from '../../io/read-file.js';
import { modelKey } from '../../sample/graph-cache.js';
import { packageVersion } from '../../package-info.js';
import { cachedSiteModel } from '../../web/site-export.js';
import { startStaticServer, webAppDir } from '../../web/static-server.js';
import { positiveInt } from '../options.js';

interface ExploreOptions {
  weights: string;
  config?: string;
  port?: number;
  host: string;
  fp16?: boolean;
}

export function registerExplore(program: Command): void {
  program
    .command('explore')
    .description('serve the BigGAN explorer for a generator on this machine and print its URL (Ctrl-C stops it)')
    .requiredOption('--weights <file>', 'generator weights (.bin/.pth/.pt or .safetensors, or a biggan-ts checkpoint)')
    .option('--config <file>', 'config JSON (default: config.json / constructor_args.json beside the weights)')
    .option('--port <p>', 'port (default 8080; 0 = any free port)', (v: string) => (v === '0' ? 0 : positiveInt(v)), 8080)
    .option('--host <h>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--fp16', 'serve half-precision weights (what `export-web --fp16` writes)')
    .action(async (opts: ExploreOptions) => {
      const app = await webAppDir('explorer');
      regularFileSize(opts.weights, 'weights file'); // before the cache key reads its identity
      const key = modelKey(path.resolve(opts.weights), opts.config, packageVersion());
      process.stderr.write('preparing the model for the browser (once per weights file)...\n');
      const { dir, model } = await cachedSiteModel(opts, path.join(cacheRoot(), 'explore'), key);
      const server = await startStaticServer({ roots: [dir, app], port: opts.port, host: opts.host, crossOriginIsolated: true });
      process.stderr.write(`${model.title}, model ${(model.bytes / 2 ** 20).toFixed(1)} MiB\n`);
      process.stdout.write(`${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => { void server.close().then(resolve); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
