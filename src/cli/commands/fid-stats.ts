/**
 * `biggan fid-stats`: reference statistics for FID.
 *   biggan fid-stats --data PATH --out stats.npz [--inception FILE] [--shard-out shard.npz]
 *   biggan fid-stats --data cifar10/test_batch.bin --out cifar10-test.npz     (CIFAR-10's test split alone)
 *   biggan fid-stats --merge a.npz b.npz ... --out all.npz [--shard-out all-shard.npz]
 * `--out` is pytorch-fid's layout (mu, sigma; float64), readable by pytorch-fid,
 * torch-fidelity and BigGAN-PyTorch; `--shard-out` is the exact accumulator that
 * `--merge` combines into the statistics of the union of the shards.
 */
import { Command, Option } from 'commander';
import { UserError } from '../../errors.js';
import { INCEPTION_PIPELINES, parseInceptionPipeline } from '../../metrics/inception/preprocess.js';
import { writeStatsFile } from '../../metrics/stats-file.js';
import { computeDataStats } from '../../eval/data-stats.js';
import { chooseInception, inceptionWeightsSha256, loadExtractor } from '../../eval/inception-source.js';
import { FULL_RANK_SAMPLES } from '../../eval/metric-plan.js';
import { mergeShards, writeShard } from '../../eval/stats-shards.js';
import { progressBar, type Progress } from '../progress.js';
import { positiveInt } from '../options.js';

interface FidStatsOptions {
  data?: string;
  merge?: string[];
  out: string;
  shardOut?: string;
  inception?: string;
  pipeline: string;
  batch: number;
  threads?: number;
  limit?: number;
  resolution?: number;
  cache?: string;
  skipBad?: boolean;
}

export function registerFidStats(program: Command): void {
  program
    .command('fid-stats')
    .description('FID reference statistics (mu, sigma of Inception pool3) of a dataset, or merged from shards')
    .option('--data <path>', 'images: a folder of PNG/JPEG/WebP (searched recursively), a CIFAR-10 binary folder (its training split) or one of its batches (DIR/test_batch.bin: the test split), an .npy (uint8 NHWC or float NCHW in [-1, 1]) or a prepared .bgd')
    .option('--merge <shards...>', 'combine shard files (from --shard-out) exactly instead of reading data')
    .requiredOption('--out <stats.npz>', "statistics in pytorch-fid's .npz layout (mu, sigma)")
    .option('--shard-out <file.npz>', 'also write the exact accumulator (count, sums) for a later --merge')
    .option('--inception <file>', `Inception weights pt_inception-2015-12-05-6726825d.pth (default: $BIGGAN_INCEPTION); 'procedural' = the test fixtures' stand-in (testing aid, meaningless scores)`)
    .addOption(new Option('--pipeline <name>', 'Inception input pipeline (must match the one eval uses)').choices([...INCEPTION_PIPELINES]).default('pytorch-fid'))
    .option('--batch <b>', 'images per Inception run', positiveInt, 16)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('-n, --limit <count>', 'use only the first N images', positiveInt)
    .option('--resolution <r>', 'score through the training data loader at this size (centre crop + area resize, cached) instead of at native size', positiveInt)
    .option('--cache <file|dir>', 'prepared-data cache location (with --resolution)')
    .option('--skip-bad', 'leave unreadable images out (and count them) instead of stopping')
    .action(async (opts: FidStatsOptions) => runFidStats(opts));
}

export async function runFidStats(opts: FidStatsOptions): Promise<void> {
  if (!opts.out.toLowerCase().endsWith('.npz')) throw new UserError(`--out must end in .npz, got ${opts.out}`);
  if (opts.shardOut && !opts.shardOut.toLowerCase().endsWith('.npz')) throw new UserError(`--shard-out must end in .npz, got ${opts.shardOut}`);
  if (opts.data && opts.merge) throw new UserError('give either --data (compute) or --merge (combine shards), not both');
  if (!opts.data && !opts.merge) throw new UserError('nothing to do: give --data PATH to compute statistics, or --merge SHARD... to combine shards');
  if (opts.merge) {
    const extra = (['inception', 'resolution', 'limit', 'cache'] as const).filter((k) => opts[k] !== undefined);
    if (extra.length) throw new UserError(`--merge combines existing shards; --${extra[0]} does not apply`);
    const { stats, meta } = mergeShards(opts.merge);
    writeStatsFile(opts.out, stats.toMeanCov('merged shards'));
    if (opts.shardOut) writeShard(opts.shardOut, stats, meta ?? { pipeline: 'unknown', inceptionSha256: 'unknown', sources: [] });
    process.stderr.write(`merged ${opts.merge.length} shard(s), ${stats.count} images${meta ? ` (pipeline ${meta.pipeline})` : ''}: wrote ${opts.out}${opts.shardOut ? ` and ${opts.shardOut}` : ''}\n`);
    warnFewSamples(stats.count);
    return;
  }
  if (opts.cache !== undefined && opts.resolution === undefined) throw new UserError('--cache applies only with --resolution (the training data loader)');

  const pipeline = parseInceptionPipeline(opts.pipeline);
  const choice = chooseInception(opts.inception);
  const extractor = loadExtractor(choice, { pipeline, batchSize: opts.batch, threads: opts.threads });
  const progress: { bar?: Progress } = {};
  try {
    const result = await computeDataStats(extractor, opts.data!, {
      resolution: opts.resolution,
      cache: opts.cache,
      limit: opts.limit,
      batch: opts.batch,
      skipBad: opts.skipBad,
      onStart: (total) => {
        // after the data opened, so a bad --data stays a one-line error
        if (choice.procedural) process.stderr.write('note: procedural Inception weights (a testing aid): these statistics are not comparable with any published ones\n');
        progress.bar = progressBar(total, 'fid-stats');
      },
      onProgress: (done) => progress.bar?.update(done),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    progress.bar?.stop();
    writeStatsFile(opts.out, result.stats.toMeanCov(`statistics of ${opts.data}`));
    if (opts.shardOut) {
      writeShard(opts.shardOut, result.stats, {
        pipeline,
        inceptionSha256: inceptionWeightsSha256(choice),
        sources: [`${result.source.kind}:${result.source.path}${result.source.resolution ? `@${result.source.resolution}px` : ''} (${result.count} images)`],
      });
    }
    const skipped = result.skipped ? `, ${result.skipped} unreadable skipped` : '';
    process.stderr.write(`${result.count} images${skipped} (pipeline ${pipeline}): wrote ${opts.out}${opts.shardOut ? ` and ${opts.shardOut}` : ''}\n`);
    warnFewSamples(result.count);
  } finally {
    await extractor.release();
  }
}

function warnFewSamples(n: number): void {
  if (n < FULL_RANK_SAMPLES) {
    process.stderr.write(`note: ${n} images < ${FULL_RANK_SAMPLES}: the 2048x2048 covariance is rank-deficient, so FID against it is biased upward (use 10000+, ideally 50000)\n`);
  }
}
