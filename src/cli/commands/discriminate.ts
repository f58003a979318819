/** `biggan discriminate`: discriminator logits for images and their classes. */
import { Command } from 'commander';
import { UserError } from '../../errors.js';
import { loadDiscriminator } from '../../models/checkpoint.js';
import { readNpy, writeNpy } from '../../io/npy.js';
import { NdArray } from '../../io/ndarray.js';
import { discriminate } from '../../discriminate/runner.js';
import { progressBar } from '../progress.js';
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

/** Float NCHW in [-1, 1] from the accepted image layouts. */
export function imagesAsNchw(a: NdArray, resolution: number, file: string): Float32Array {
  const R = resolution;
  if (a.shape.length !== 4) throw new UserError(`${file}: images must be 4-d, got shape [${a.shape}]`);
  const [n, d1, d2, d3] = a.shape;
  if (a.dtype === 'float32' || a.dtype === 'float64') {
    if (d1 !== 3 || d2 !== R || d3 !== R) throw new UserError(`${file}: float images must be [N, 3, ${R}, ${R}], got [${a.shape}]`);
    const x = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as Float64Array);
    if (x.some((v) => !Number.isFinite(v))) throw new UserError(`${file}: images contain NaN or Inf`);
    return x;
  }
  if (a.dtype === 'uint8') {
    const src = a.data as Uint8Array;
    const out = new Float32Array(n * 3 * R * R);
    const nhwc = d3 === 3 && d1 === R && d2 === R;
    const nchw = d1 === 3 && d2 === R && d3 === R;
    if (!nhwc && !nchw) throw new UserError(`${file}: uint8 images must be [N, ${R}, ${R}, 3] or [N, 3, ${R}, ${R}], got [${a.shape}]`);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < R * R; p++) {
          const v = nhwc ? src[(i * R * R + p) * 3 + c] : src[(i * 3 + c) * R * R + p];
          out[(i * 3 + c) * R * R + p] = v / 127.5 - 1;
        }
    return out;
  }
  throw new UserError(`${file}: images must be float or uint8, got ${a.dtype}`);
}

export async function runDiscriminate(opts: DiscriminateOptions): Promise<void> {
  if (!opts.out.toLowerCase().endsWith('.npy')) throw new UserError(`--out must end in .npy, got ${opts.out}`);
  const { model } = loadDiscriminator(opts.weights, opts.config);
  const images = imagesAsNchw(readNpy(opts.images), model.resolution, opts.images);
  const ids = readNpy(opts.classes);
  if (ids.dtype !== 'int64' && ids.dtype !== 'int32') throw new UserError(`${opts.classes}: class ids must be int64 or int32, got ${ids.dtype}`);
  const n = images.length / (3 * model.resolution ** 2);
  if (ids.shape.length !== 1 || ids.shape[0] !== n) throw new UserError(`${opts.classes}: expected ${n} class ids (one per image), got shape [${ids.shape}]`);
  const classIds = BigInt64Array.from(ids.data as ArrayLike<number | bigint>, (v) => BigInt(v));
  for (const id of classIds) {
    if (id < 0n || id >= BigInt(model.numClasses)) throw new UserError(`${opts.classes}: class id ${id} out of range 0..${model.numClasses - 1}`);
  }
  const bar = progressBar(n, 'discriminating');
  const logits = await discriminate(model, images, classIds, opts.batch, { threads: opts.threads }, (d) => bar.update(d));
  bar.stop();
  writeNpy(opts.out, { dtype: 'float32', shape: [n, 1], data: logits });
  process.stderr.write(`wrote ${n} logits to ${opts.out}\n`);
}
