/** `biggan sample`: images from a generator checkpoint, as a labelled PNG sheet or an .npy array. */
import { Command, Option } from 'commander';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { readNpy } from '../../io/npy.js';
import { parseClasses } from '../../sample/classes.js';
import type { InterpolationKind } from '../../sample/interpolation.js';
import { loadGenerator, type Images } from '../../api/generator.js';
import { writeNpy } from '../../api/arrays.js';
import { progressBar, type Progress } from '../progress.js';
import { positiveInt, nonNegativeInt, finiteNumber } from '../options.js';

interface SampleOptions {
  weights: string;
  config?: string;
  z?: string;
  classVector?: string;
  classes?: string;
  truncation?: number;
  n?: number;
  seed: number;
  batch?: number;
  out: string;
  threads?: number;
  interpolate?: InterpolationKind | true;
  steps: number;
  columns?: number;
  cache: boolean;
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate images from a BigGAN / BigGAN-deep checkpoint')
    .requiredOption('--weights <file>', 'generator weights: .bin/.pth/.pt (PyTorch) or .safetensors')
    .option('--config <file>', 'pytorch-pretrained-BigGAN config.json, or JSON with "G"/"D" BigGAN-PyTorch constructor args (default: config.json beside the weights)')
    .option('--z <file.npy>', 'exact latents [N, z_dim] (float32/float64), used as given')
    .option('--class-vector <file.npy>', 'float class vectors [N, num_classes] (soft / mixed classes allowed)')
    .option('--classes <list|file.npy>', 'class ids or ImageNet names, comma-separated ("207,golden retriever"), or an .npy of int ids; cycled to N')
    .option('--truncation <t>', 'truncation: BigGAN-deep (0, 1] scales z and selects BN statistics; BigGAN resamples |z| > t', finiteNumber)
    .option('-n, --n <count>', 'number of images (default: rows of --z / --class-vector, else number of classes given, else 8)', positiveInt)
    .option('--seed <s>', 'seed for latents and random classes', nonNegativeInt, 0)
    .option('--batch <b>', 'images per forward pass (default: about 32K pixels per batch: 2 at 128x128, 32 at 32x32, 1 from 256x256)', positiveInt)
    .requiredOption('--out <file>', 'output: .png (labelled sheet) or .npy (float32 NCHW in [-1, 1])')
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .addOption(new Option('--interpolate [kind]', 'interpolation sheet: each row walks from one endpoint to another').choices(['z', 'class', 'both']))
    .option('--steps <k>', 'images per interpolation row', positiveInt, 8)
    .option('--columns <c>', 'images per row of the PNG sheet', positiveInt)
    .option('--no-cache', 'do not use or write the cache of optimized graphs (BIGGAN_CACHE_DIR, default $XDG_CACHE_HOME/biggan-ts or ~/.cache/biggan-ts)')
    .action(async (opts: SampleOptions) => runSample(opts));
}

/** The flag names, for error messages. */
const FLAG_NAMES = { n: '-n', z: '--z', classVector: '--class-vector', classes: '--classes', truncation: '--truncation' };

export async function runSample(opts: SampleOptions): Promise<void> {
  const ext = path.extname(opts.out).toLowerCase();
  if (ext !== '.png' && ext !== '.npy') throw new UserError(`--out must end in .png or .npy, got ${opts.out}`);
  if (opts.classVector && opts.classes) throw new UserError('give either --class-vector or --classes, not both');
  if (opts.interpolate && (opts.z || opts.classVector)) throw new UserError('--interpolate draws its own endpoints; use --classes (and --seed), not --z / --class-vector');

  // one request: the arena only when it takes more than one batch, weight prepacking only when
  // it takes many (Sampler's MemArena and Prepack; the latter is the library's default too)
  const G = await loadGenerator(opts.weights, { config: opts.config, threads: opts.threads, cache: opts.cache, memArena: 'multi-batch', prepack: 'many-batches' });
  const info = G.info;
  const classes = opts.classes ? parseClasses(opts.classes, info.numClasses, info.classNames) : undefined;
  let images: Images;
  const bar: { bar?: Progress } = {};
  const onProgress = (done: number, total: number): void => (bar.bar ??= progressBar(total, 'sampling')).update(done);
  try {
    if (opts.interpolate) {
      const kind: InterpolationKind = opts.interpolate === true ? 'z' : opts.interpolate;
      images = await G.interpolate({ kind, rows: opts.n, steps: opts.steps, classes, seed: opts.seed, truncation: opts.truncation, batch: opts.batch, onProgress });
      opts.columns = opts.steps;
    } else {
      // file names stand for the arrays in messages about their contents
      const names = { ...FLAG_NAMES, ...(opts.z ? { z: opts.z } : {}), ...(opts.classVector ? { classVector: opts.classVector } : {}) };
      const z = opts.z ? readNpy(opts.z) : undefined;
      const classVector = opts.classVector ? readNpy(opts.classVector) : undefined;
      images = await G.sample({ n: opts.n, seed: opts.seed, truncation: opts.truncation, classes, z, classVector, batch: opts.batch, onProgress }, names);
    }
  } finally {
    bar.bar?.stop();
    await G.dispose();
  }

  const n = images.shape[0];
  const R = info.resolution;
  if (ext === '.npy') await writeNpy(opts.out, images);
  else await (await import('../../api/image-sheet.js')).writeImageSheet(images, opts.out, { columns: opts.columns ?? Math.min(n, 8) }); // PNG code loads only for PNGs
  process.stderr.write(`wrote ${n} image${n === 1 ? '' : 's'} (${info.kind} ${R}x${R}${info.usesTruncation ? `, truncation ${opts.truncation ?? 1}` : ''}) to ${opts.out}\n`);
}
