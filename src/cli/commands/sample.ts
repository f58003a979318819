/** `biggan sample`: images from a generator checkpoint, as a labelled PNG sheet or an .npy array. */
import { Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { loadGenerator } from '../../models/checkpoint.js';
import { Rng } from '../../random/rng.js';
import { readNpy, writeNpy } from '../../io/npy.js';
import { sampleLatents, checkTruncation } from '../../sample/latents.js';
import { parseClasses, oneHotVectors, readClassVectors, argmaxRows, classLabel } from '../../sample/classes.js';
import { Sampler } from '../../sample/sampler.js';
import { GraphCache } from '../../sample/graph-cache.js';
import { interpolationInputs, InterpolationKind } from '../../sample/interpolation.js';
import { imagesToGrid, labelledTileScale, writePng } from '../../image/image-grid.js';
import { progressBar } from '../progress.js';
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
  batch: number;
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
    .option('--batch <b>', 'images per forward pass', positiveInt, 8)
    .requiredOption('--out <file>', 'output: .png (labelled sheet) or .npy (float32 NCHW in [-1, 1])')
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .addOption(new Option('--interpolate [kind]', 'interpolation sheet: each row walks from one endpoint to another').choices(['z', 'class', 'both']))
    .option('--steps <k>', 'images per interpolation row', positiveInt, 8)
    .option('--columns <c>', 'images per row of the PNG sheet', positiveInt)
    .option('--no-cache', 'do not use or write the cache of optimized graphs (BIGGAN_CACHE_DIR, default $XDG_CACHE_HOME/biggan-ts or ~/.cache/biggan-ts)')
    .action(async (opts: SampleOptions) => runSample(opts));
}

export async function runSample(opts: SampleOptions): Promise<void> {
  const ext = path.extname(opts.out).toLowerCase();
  if (ext !== '.png' && ext !== '.npy') throw new UserError(`--out must end in .png or .npy, got ${opts.out}`);
  if (opts.classVector && opts.classes) throw new UserError('give either --class-vector or --classes, not both');

  if (!fs.existsSync(opts.weights)) throw new UserError(`weights file ${opts.weights} does not exist`);
  const runtime = { threads: opts.threads };
  const sampler = opts.cache
    ? new Sampler({ weights: opts.weights, config: opts.config, cache: new GraphCache(), load: () => loadGenerator(opts.weights, opts.config) }, runtime)
    : new Sampler(loadGenerator(opts.weights, opts.config), runtime);
  const model = sampler.info();
  const classNames = model.classNames;
  const C = model.numClasses;
  const Z = model.zDim;
  const truncation = opts.truncation ?? 1;
  if (opts.truncation !== undefined) checkTruncation(opts.truncation, model.usesTruncation);
  const rng = new Rng(opts.seed);
  const style = model.usesTruncation ? 'scaled' : 'threshold';

  let z: Float32Array | undefined;
  let zRows: number | undefined;
  if (opts.z) {
    const a = readNpy(opts.z);
    if (a.shape.length !== 2 || a.shape[1] !== Z) throw new UserError(`${opts.z}: latents must have shape [N, ${Z}], got [${a.shape}]`);
    if (a.dtype !== 'float32' && a.dtype !== 'float64') throw new UserError(`${opts.z}: latents must be float, got ${a.dtype}`);
    z = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as Float64Array);
    if (z.some((v) => !Number.isFinite(v))) throw new UserError(`${opts.z}: latents contain NaN or Inf`);
    zRows = a.shape[0];
  }
  let vectors: Float32Array | undefined;
  let vectorRows: number | undefined;
  if (opts.classVector) {
    const cv = readClassVectors(opts.classVector, C);
    vectors = cv.vectors;
    vectorRows = cv.n;
  }
  const classIds = opts.classes ? parseClasses(opts.classes, C, classNames) : undefined;

  let n: number;
  let labels: string[];
  if (opts.interpolate) {
    if (opts.z || opts.classVector) throw new UserError('--interpolate draws its own endpoints; use --classes (and --seed), not --z / --class-vector');
    const kind: InterpolationKind = opts.interpolate === true ? 'z' : opts.interpolate;
    const rows = opts.n ?? Math.max(1, kind === 'z' ? (classIds?.length ?? 4) : Math.floor((classIds?.length ?? 8) / 2));
    const label = (id: number): string => classLabel(id, C, classNames);
    const inp = interpolationInputs({ kind, rows, steps: opts.steps, zDim: Z, numClasses: C, classIds, truncation: opts.truncation, style, rng, label });
    z = inp.z;
    vectors = inp.classVectors;
    n = rows * opts.steps;
    labels = inp.labels;
    opts.columns = opts.steps;
  } else {
    const declared = [zRows, vectorRows].filter((v): v is number => v !== undefined);
    if (declared.length === 2 && zRows !== vectorRows) throw new UserError(`--z has ${zRows} rows but --class-vector has ${vectorRows}`);
    n = opts.n ?? declared[0] ?? classIds?.length ?? 8;
    if (declared.length && declared[0] < n) throw new UserError(`-n ${n} asks for more images than the ${declared[0]} rows given`);
    if (!z) z = sampleLatents(n, Z, opts.truncation, style, rng);
    let ids: number[];
    if (vectors) {
      ids = argmaxRows(vectors.subarray(0, n * C), C);
    } else {
      ids = classIds ? Array.from({ length: n }, (_, i) => classIds[i % classIds.length]) : Array.from({ length: n }, () => rng.int(C));
      vectors = oneHotVectors(ids, C);
    }
    labels = ids.slice(0, n).map((id) => classLabel(id, C, classNames));
  }

  const bar = progressBar(n, 'sampling');
  const images = await sampler.generate({ z: z.subarray(0, n * Z), classVectors: vectors.subarray(0, n * C), n, truncation }, opts.batch, (done) => bar.update(done));
  bar.stop();
  await sampler.release();

  const R = model.resolution;
  if (ext === '.npy') {
    writeNpy(opts.out, { dtype: 'float32', shape: [n, 3, R, R], data: images });
  } else {
    // small tiles are magnified so their captions are readable (32 px: 3x)
    const grid = imagesToGrid(images, n, 3, R, R, { columns: opts.columns ?? Math.min(n, 8), labels, tileScale: labelledTileScale(R) });
    writePng(opts.out, grid.rgba, grid.width, grid.height);
  }
  process.stderr.write(`wrote ${n} image${n === 1 ? '' : 's'} (${model.kind} ${R}x${R}${model.usesTruncation ? `, truncation ${truncation}` : ''}) to ${opts.out}\n`);
}
