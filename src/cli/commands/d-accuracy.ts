/**
 * `biggan d-accuracy`: the share of training vs held-out images a discriminator
 * classifies as real (the paper's memorization test).
 */
import { Command } from 'commander';
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import { loadDiscriminator, readCheckpoint } from '../../models/checkpoint.js';
import { openDataset, PreparedDataset } from '../../data/prepared-dataset.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { looksLikeCifar10 } from '../../data/sources/cifar10.js';
import { pickIndices, realShare, type AccuracySet } from '../../train/run/d-accuracy.js';
import type { TrainingMeta } from '../../train/run/train-checkpoint.js';
import { nonNegativeInt, positiveInt } from '../options.js';

interface DAccuracyOptions {
  weights: string;
  config?: string;
  train?: string;
  heldOut?: string;
  n: number;
  batch: number;
  seed: number;
  skipBad?: boolean;
  cache?: string;
  json?: boolean;
  threads?: number;
}

export function registerDAccuracy(program: Command): void {
  program
    .command('d-accuracy')
    .description("share of training vs held-out images the discriminator classifies as real (the paper's memorization test)")
    .requiredOption('--weights <file>', 'discriminator: one of our training checkpoints, or a BigGAN-PyTorch D.pth')
    .option('--config <file>', 'JSON with a "D" object of BigGAN-PyTorch constructor args (D.pth only)')
    .option('--train <path>', "training images (any --data form of biggan train; default: the checkpoint's training data)")
    .option('--held-out <path>', 'held-out images of the same classes; "test" = the CIFAR-10 test batch of --train (default for the embedded synthetic data: a fresh synthetic draw)')
    .option('-n, --n <count>', 'images scored per set (a seeded random subset when the set is larger)', positiveInt, 1000)
    .option('--batch <b>', 'images per forward pass', positiveInt, 50)
    .option('--seed <s>', 'seed of the subsets', nonNegativeInt, 0)
    .option('--skip-bad', 'leave out unreadable images')
    .option('--cache <path>', 'prepared-data cache file or folder')
    .option('--json', 'print the result as JSON')
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .action(async (opts: DAccuracyOptions) => runDAccuracy(opts));
}

function trainingMeta(weights: string): TrainingMeta | null {
  const ck = readCheckpoint(weights);
  if (!ck?.metadata.training) return null;
  try {
    return JSON.parse(ck.metadata.training) as TrainingMeta;
  } catch {
    return null;
  }
}

async function runDAccuracy(opts: DAccuracyOptions): Promise<void> {
  if (!fs.existsSync(opts.weights)) throw new UserError(`weights file ${opts.weights} does not exist`);
  const { model: D } = loadDiscriminator(opts.weights, opts.config);
  const R = D.resolution;
  const meta = trainingMeta(opts.weights);
  const prep = { resolution: R, skipBad: opts.skipBad, cache: opts.cache, log: (l: string) => void process.stderr.write(`${l}\n`) };
  let train: AccuracySet;
  let heldOut: AccuracySet;
  const opened: PreparedDataset[] = [];
  const open = async (spec: string, includeTest = false): Promise<PreparedDataset> => {
    if (!fs.existsSync(spec.replace(/:[^:]*\.npy$/i, ''))) throw new UserError(`${spec} does not exist`);
    const ds = await openDataset(spec, { ...prep, includeTest });
    opened.push(ds);
    return ds;
  };
  try {
    const trainSpec = opts.train ?? (meta ? meta.config.data : undefined);
    if (trainSpec === undefined) throw new UserError('--train is required (the weights carry no training data record)');
    if (trainSpec === null) {
      // the embedded synthetic data: held out = the same generator with another seed
      const s = meta!.config.synthetic;
      if (opts.heldOut) throw new UserError('the run trained on the embedded synthetic data; give --train too to use your own --held-out');
      train = { dataset: syntheticDataset({ ...s, resolution: R }) };
      heldOut = { dataset: syntheticDataset({ ...s, seed: s.seed + 1, resolution: R }) };
    } else if (opts.heldOut === 'test') {
      if (!looksLikeCifar10(trainSpec)) throw new UserError('--held-out test needs a CIFAR-10 folder as --train');
      const trainSet = await open(trainSpec);
      const all = await open(trainSpec, true);
      if (all.count === trainSet.count) throw new UserError(`${trainSpec} has no test_batch.bin`);
      train = { dataset: trainSet };
      heldOut = { dataset: all, indices: Array.from({ length: all.count - trainSet.count }, (_, i) => trainSet.count + i) };
    } else {
      if (!opts.heldOut) throw new UserError('--held-out is required (images of the same classes that D was not trained on)');
      train = { dataset: await open(trainSpec) };
      heldOut = { dataset: await open(opts.heldOut) };
    }
    for (const [what, set] of [['training', train], ['held-out', heldOut]] as const) {
      if (set.dataset.numClasses > D.numClasses) {
        throw new UserError(`the ${what} images have ${set.dataset.numClasses} classes, but the discriminator knows ${D.numClasses}`);
      }
      const all = set.indices ?? Array.from({ length: set.dataset.count }, (_, i) => i);
      set.indices = pickIndices(all, opts.n, opts.seed);
    }
    const runtime = { threads: opts.threads };
    const a = await realShare(D, train, opts.batch, runtime);
    const b = await realShare(D, heldOut, opts.batch, runtime);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ train: a, held_out: b, gap: a.realShare - b.realShare }) + '\n');
    } else {
      const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
      process.stdout.write(`training images classified real: ${pct(a.realShare)} of ${a.n} (mean logit ${a.meanLogit.toFixed(3)})\n`);
      process.stdout.write(`held-out images classified real: ${pct(b.realShare)} of ${b.n} (mean logit ${b.meanLogit.toFixed(3)})\n`);
      process.stdout.write(`gap: ${(100 * (a.realShare - b.realShare)).toFixed(1)} points\n`);
    }
  } finally {
    for (const ds of opened) ds.close();
  }
}
