/** `biggan export-web`: the explorer as a static site (index.html, the app, onnxruntime-web, the model). */
import { Command } from 'commander';
import { exportSite } from '../../web/site-export.js';

interface ExportWebOptions {
  weights: string;
  config?: string;
  out: string;
  fp16?: boolean;
}

export function registerExportWeb(program: Command): void {
  program
    .command('export-web')
    .description('write the BigGAN explorer as a static site (runs in the browser with onnxruntime-web: WebGPU or WebAssembly)')
    .requiredOption('--weights <file>', 'generator weights (.bin/.pth/.pt or .safetensors, or a biggan-ts checkpoint)')
    .option('--config <file>', 'config JSON (default: config.json / constructor_args.json beside the weights)')
    .requiredOption('--out <dir>', 'output folder (new, empty, or a previous export, which is replaced)')
    .option('--fp16', 'store the weights in half precision (about half the download; computation stays float32)')
    .action(async (opts: ExportWebOptions) => {
      const t0 = performance.now();
      const { dir, model } = await exportSite(opts);
      process.stderr.write(`wrote ${dir}: ${model.title}, model ${model.file} ${(model.bytes / 2 ** 20).toFixed(1)} MiB${model.fp16 ? ' (fp16 weights)' : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      process.stderr.write(`serve the folder with any static web server, e.g. \`npx biggan explore --weights ${opts.weights}\` or \`python3 -m http.server -d ${opts.out}\`\n`);
    });
}
