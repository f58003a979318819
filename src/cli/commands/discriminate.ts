/** `biggan discriminate`: discriminator logits for images and their classes. */
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { readNpy } from '../../io/npy.js';
import { loadDiscriminator } from '../../api/discriminator.js';
import { writeNpy } from '../../api/arrays.js';
import { progressBar, type Progress } from '../progress.js';
import { positiveInt } from '../options.js';

interface DiscriminateOptions {
  weights: string;
  config?: string;
  images: string;
  classes: string;
  out: string;
  batch: number;
  threads?: number;
}

export function registerDiscriminate(program: Command): void {
  program
    .command('discriminate')
    .description('score images with a BigGAN discriminator (logits, higher = more real)')
    .requiredOption('--weights <file>', 'discriminator weights (.pth/.pt/.bin or .safetensors)')
    .option('--config <file>', 'JSON with a "D" object of BigGAN-PyTorch constructor args (default: constructor_args.json / config.json beside the weights)')
    .requiredOption('--images <file.npy>', 'images: float NCHW in [-1, 1], or uint8 NHWC / NCHW in [0, 255]')
    .requiredOption('--classes <file.npy>', 'int class ids [N]')
    .requiredOption('--out <file.npy>', 'output logits, float32 [N, 1]')
    .option('--batch <b>', 'images per forward pass', positiveInt, 16)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .action(async (opts: DiscriminateOptions) => runDiscriminate(opts));
}

export async function runDiscriminate(opts: DiscriminateOptions): Promise<void> {
  if (!opts.out.toLowerCase().endsWith('.npy')) throw new UserError(`--out must end in .npy, got ${opts.out}`);
  const D = await loadDiscriminator(opts.weights, { config: opts.config, threads: opts.threads });
  const images = readNpy(opts.images);
  const ids = readNpy(opts.classes);
  if (ids.dtype !== 'int64' && ids.dtype !== 'int32') throw new UserError(`${opts.classes}: class ids must be int64 or int32, got ${ids.dtype}`);
  const n = images.shape[0];
  if (ids.shape.length !== 1 || ids.shape[0] !== n) throw new UserError(`${opts.classes}: expected ${n} class ids (one per image), got shape [${ids.shape}]`);
  const bar: { bar?: Progress } = {};
  let logits;
  try {
    logits = await D.score({ ...images, shape: images.shape }, ids, { batch: opts.batch, onProgress: (d, total) => (bar.bar ??= progressBar(total, 'discriminating')).update(d) }, opts.images);
  } finally {
    bar.bar?.stop();
  }
  await writeNpy(opts.out, { data: logits.data, shape: [n, 1] });
  process.stderr.write(`wrote ${n} logits to ${opts.out}\n`);
}
