/** `biggan export-onnx`: the generator as a standalone .onnx file (onnxruntime-web / -node / Python can load it). */
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { loadGenerator } from '../../models/checkpoint.js';
import { generatorGraph } from '../../sample/sampler.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { positiveInt } from '../options.js';

interface ExportOptions {
  weights: string;
  config?: string;
  out: string;
  batch: number;
}

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description('write the generator as an ONNX model: inputs z, class_vector (and truncation for BigGAN-deep), output image')
    .requiredOption('--weights <file>', 'generator weights (.bin/.pth/.pt or .safetensors)')
    .option('--config <file>', 'config JSON (default: config.json beside the weights)')
    .requiredOption('--out <file.onnx>', 'output .onnx file')
    .option('--batch <b>', 'batch size baked into the graph', positiveInt, 1)
    .action((opts: ExportOptions) => runExportOnnx(opts));
}

export async function runExportOnnx(opts: ExportOptions): Promise<void> {
  if (!opts.out.toLowerCase().endsWith('.onnx')) throw new UserError(`--out must end in .onnx, got ${opts.out}`);
  const { model } = loadGenerator(opts.weights, opts.config);
  const exported = await generatorGraph(model, { batch: opts.batch });
  writeFileAtomic(opts.out, exported.bytes);
  const ins = exported.inputs.map((i) => `${i.name} ${i.dtype} [${i.shape}]`).join(', ');
  process.stderr.write(`wrote ${opts.out} (${(exported.bytes.length / 2 ** 20).toFixed(1)} MiB): inputs ${ins}; output image float32 [${exported.outputs[0].shape}]\n`);
}
