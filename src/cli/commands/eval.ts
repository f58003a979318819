/**
 * `biggan eval`: the registered metrics (metrics/registry.ts) of a generator or
 * of existing images. The metric flags, --metrics help and checks come from
 * the metrics' declarations.
 *   biggan eval --weights CKPT [--config FILE] --stats STATS.npz --inception FILE [-n 50000] [--truncation T] [--seed S] [--out report.json]
 *   biggan eval --images DIR_OR_NPY --stats STATS.npz ...
 *   biggan eval --weights CKPT ... --truncation-sweep 0.1:2.0:0.1 [--plot sweep.png]
 *   biggan eval --weights CKPT ... --queue redis://HOST:PORT --shards S   (on `biggan worker`s)
 * Class-conditional generators are sampled class-balanced by default (see
 * eval/class-balance.ts). The summary goes to stdout, notes to stderr, the full
 * record to --out.
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../../errors.js';
import { type MetricOption, optionSettingName } from '../../metrics/metric-spec.js';
import { listMetrics, metricOptions } from '../../metrics/registry.js';
import { INCEPTION_PIPELINES, parseInceptionPipeline } from '../../metrics/inception/preprocess.js';
import { loadGenerator, type LoadedGenerator } from '../../models/checkpoint.js';
import { checkTruncation } from '../../sample/latents.js';
import { CLASS_SAMPLINGS, parseClassSampling } from '../../eval/class-balance.js';
import { type EvalContext, type ScoreResult, checkImageInput, evaluateGenerator, evaluateImages, fakeCollectOptions, fidNote, generatedSetContext, loadReference, scoreCollected } from '../../eval/evaluate.js';
import { sha256File } from '../../eval/file-hash.js';
import { openImageInput, type ImageInput } from '../../eval/image-input.js';
import { chooseInception, inceptionWeightsSha256, loadExtractor } from '../../eval/inception-source.js';
import { EVAL_METRICS, FULL_RANK_SAMPLES, checkSampleCount, makeMetricPlan, parseMetricList } from '../../eval/metric-plan.js';
import { type EvalReport, formatMetrics, metricSettings, writeReport } from '../../eval/report.js';
import { shardRanges } from '../../eval/generation-shards.js';
import { readReferenceStats, writeShard } from '../../eval/stats-shards.js';
import { parseSweepSpec, plotSweep, runTruncationSweep, sweepTable, thresholdsForModel } from '../../eval/truncation-sweep.js';
import { progressBar, type Progress } from '../progress.js';
import { finiteNumber, nonNegativeInt, positiveInt } from '../options.js';

interface EvalOptions {
  weights?: string;
  config?: string;
  images?: string;
  stats?: string;
  real?: string;
  inception?: string;
  n?: number;
  truncation?: number;
  truncationSweep?: string;
  seed: number;
  out?: string;
  plot?: string;
  pipeline: string;
  batch: number;
  threads?: number;
  metrics?: string;
  classSampling: string;
  skipBad?: boolean;
  shardOut?: string;
  queue?: string;
  shards?: number;
  shardDir?: string;
  /** The metrics' settings, by the camelCase of their flags (splits, kidSubsetSize, fidEpsOffset, prK, ...). */
  [setting: string]: unknown;
}

const DEFAULT_N = 50000;
/** Appended to the summary of a run with `--inception procedural`, so no copied number loses it. */
const PROCEDURAL_SUMMARY = '[procedural Inception: a testing aid, these scores mean nothing]';

/** What each reference need asks of the command line, for the metric list in --help. */
const REFERENCE_HELP = {
  none: '',
  stats: ' [--stats or --real]',
  features: ' [--real]',
  'class-features': ' [--real with class labels; scored images need their classes]',
} as const;

/** A metric's option as a commander Option: integers parsed and range-checked, words restricted to their choices. */
function commanderOption(o: MetricOption): Option {
  const opt = new Option(`${o.flag} <${o.arg}>`, o.description);
  if (o.type.kind === 'choice') return opt.choices([...o.type.choices]).default(o.default);
  const min = o.type.min;
  return opt.argParser((v: string) => {
    const n = positiveInt(v);
    if (n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${v}"`);
    return n;
  });
}

export function registerEval(program: Command): void {
  const metricHelp = listMetrics().map((m) => `  ${m.name.padEnd(5)} ${m.description}${REFERENCE_HELP[m.needs.reference]}`).join('\n');
  const cmd = program
    .command('eval')
    .description(`${listMetrics().map((m) => m.label).join(', ')} of a generator checkpoint or of existing images (pytorch-fid / torch-fidelity conventions)`)
    .option('--weights <file>', 'generator checkpoint (ours, pytorch-pretrained-BigGAN or BigGAN-PyTorch) to sample from')
    .option('--config <file>', 'config / constructor args for --weights (default: beside the weights)')
    .option('--images <path>', 'score existing images instead: a folder of PNG/JPEG/WebP, an .npy (uint8 NHWC or float NCHW in [-1, 1]), a CIFAR-10 folder or a prepared .bgd')
    .option('--stats <file.npz>', 'reference FID statistics (pytorch-fid / BigGAN-PyTorch .npz with mu, sigma, or a shard); make them with `biggan fid-stats`')
    .option('--real <path>', 'reference images (same forms as --images): needed for KID, precision/recall, density/coverage and iFID (with class labels); used for FID when --stats is not given')
    .option('--inception <file>', `Inception weights pt_inception-2015-12-05-6726825d.pth (default: $BIGGAN_INCEPTION); 'procedural' = the test fixtures' stand-in (testing aid, meaningless scores)`)
    .option('-n, --n <count>', `images to generate (default ${DEFAULT_N}), or to take from --images (default all)`, positiveInt)
    .option('--truncation <t>', 'truncation: BigGAN resamples |z| > t (default none); BigGAN-deep scales z and picks BN stats, (0, 1] (default 1)', finiteNumber)
    .option('--truncation-sweep <spec>', 'score each threshold, start:stop:step (e.g. 0.1:2.0:0.1) or a list 0.25,0.5,1: a table and a PNG of the IS-FID curve')
    .option('--plot <file.png>', 'where the sweep plot goes (default: beside --out, else truncation-sweep.png)')
    .option('--seed <s>', 'seed for latents and classes (the same seed gives the same images)', nonNegativeInt, 0)
    .option('--out <report.json>', 'write the JSON report (metrics, n, truncation, seed, pipeline, SHA-256 of weights and statistics)')
    .addOption(new Option('--pipeline <name>', 'Inception input pipeline: pytorch-fid (what published FID statistics use) or torch-fidelity').choices([...INCEPTION_PIPELINES]).default('pytorch-fid'))
    .option('--batch <b>', 'images per generator / Inception run', positiveInt, 16)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('--metrics <list>', `metrics to compute: any of ${EVAL_METRICS.join(',')} (default: ${listMetrics().filter((m) => m.byDefault).map((m) => m.name).join(',')}, each when what it compares against is given; see below)`)
    .addOption(new Option('--class-sampling <how>', 'classes of generated images: balanced (each class equally often) or uniform (i.i.d.)').choices([...CLASS_SAMPLINGS]).default('balanced'))
    .option('--skip-bad', 'leave unreadable images out instead of stopping')
    .option('--shard-out <file.npz>', 'also write the exact pool3 accumulator of the scored images, for `biggan fid-stats --merge`')
    .option('--queue <url>', 'with --weights: generate and featurise on `biggan worker`s through a Redis job queue (redis://HOST:PORT), in --shards jobs merged exactly')
    .option('--shards <s>', 'with --queue: jobs to split the generated images into (whole batches each)', positiveInt)
    .option('--shard-dir <dir>', "with --queue: folder for the shards' results, on storage every worker shares (default ./eval-shards-<id>, removed after the merge)");
  for (const o of metricOptions()) cmd.addOption(commanderOption(o));
  cmd.addHelpText('after', `\nMetrics (--metrics), [what they compare against]:\n${metricHelp}\n`);
  cmd.action(async (opts: EvalOptions) => runEval(opts));
}

/** The metric settings given on the command line, by name. */
function metricSettingsOf(opts: EvalOptions): Record<string, unknown> {
  return Object.fromEntries(metricOptions().map((o) => [optionSettingName(o), opts[optionSettingName(o)]]));
}

export async function runEval(opts: EvalOptions): Promise<void> {
  const started = performance.now();
  // notes wait until the cheap checks pass, so a usage error stays one line
  const notes: string[] = [];
  let notesShown = 0;
  const showNotes = (): void => {
    for (; notesShown < notes.length; notesShown++) process.stderr.write(`note: ${notes[notesShown]}\n`);
  };
  let checked = false;
  const note = (line: string): void => {
    notes.push(line);
    if (checked) showNotes();
  };

  const constantFeatureNote = (): void => {
    if (plan.metrics.includes('fid') && plan.settings.fidEpsOffset === 'pytorch-fid') {
      note("some pool3 features are constant across a set: as pytorch-fid does then, FID's square root used (s1 + 1e-6 I)(s2 + 1e-6 I), which moves it by up to 0.004 (--fid-eps-offset never avoids this)");
    }
  };

  // --- flags that contradict each other, before anything is loaded
  if (!!opts.weights === !!opts.images) throw new UserError('give either --weights CKPT (generate and score) or --images PATH (score existing images)');
  if (opts.images) {
    for (const [flag, set] of [['--config', opts.config], ['--truncation', opts.truncation], ['--truncation-sweep', opts.truncationSweep]] as const) {
      if (set !== undefined) throw new UserError(`${flag} applies to --weights (generated images), not --images`);
    }
  }
  if (opts.truncation !== undefined && opts.truncationSweep !== undefined) throw new UserError('give either --truncation or --truncation-sweep, not both');
  if (opts.plot && !opts.truncationSweep) throw new UserError('--plot applies to --truncation-sweep');
  if (opts.shardOut && opts.truncationSweep) throw new UserError('--shard-out applies to a single evaluation, not to --truncation-sweep');
  if (opts.shardOut && !opts.shardOut.toLowerCase().endsWith('.npz')) throw new UserError(`--shard-out must end in .npz, got ${opts.shardOut}`);
  if (opts.plot && !opts.plot.toLowerCase().endsWith('.png')) throw new UserError(`--plot must end in .png, got ${opts.plot}`);
  if ((opts.queue === undefined) !== (opts.shards === undefined)) throw new UserError('--queue and --shards go together (biggan eval --weights CKPT ... --queue redis://HOST:PORT --shards S)');
  if (opts.shardDir !== undefined && opts.queue === undefined) throw new UserError('--shard-dir applies to --queue');
  if (opts.queue && opts.images) throw new UserError('--queue applies to --weights (generated images), not --images');
  if (opts.queue && opts.truncationSweep) throw new UserError('--queue applies to a single evaluation, not to --truncation-sweep');
  if (opts.queue) (await import('../../queue/connection.js')).parseQueueUrl(opts.queue);
  const pipeline = parseInceptionPipeline(opts.pipeline);
  const classSampling = parseClassSampling(opts.classSampling);
  const plan = makeMetricPlan({
    ...metricSettingsOf(opts),
    metrics: opts.metrics !== undefined ? parseMetricList(opts.metrics) : undefined,
    hasStats: opts.stats !== undefined,
    hasRealImages: opts.real !== undefined,
  });
  const thresholdsAsked = opts.truncationSweep !== undefined ? parseSweepSpec(opts.truncationSweep) : undefined;
  if (opts.weights) checkSampleCount(plan, opts.n ?? DEFAULT_N, '-n');

  // --- cheap checks of the files: Inception weights present, statistics well-formed
  const choice = chooseInception(opts.inception);
  if (choice.procedural) note('procedural Inception weights (a testing aid): these scores are not comparable with any published numbers');
  const refStats = opts.stats ? readReferenceStats(opts.stats) : undefined;
  if (refStats?.count !== undefined && refStats.count < FULL_RANK_SAMPLES && plan.metrics.includes('fid')) {
    note(`the reference statistics come from ${refStats.count} images (< ${FULL_RANK_SAMPLES}): FID against them is biased upward`);
  }

  let generator: LoadedGenerator | undefined;
  let input: ImageInput | undefined;
  let thresholds: number[] | undefined;
  if (opts.weights) {
    generator = loadGenerator(opts.weights, opts.config);
    const { model } = generator;
    checkSampleCount(plan, opts.n ?? DEFAULT_N, '-n', generatedSetContext(plan, model, { classSampling }));
    if (opts.truncation !== undefined) checkTruncation(opts.truncation, model.usesTruncation);
    if (thresholdsAsked) {
      const t = thresholdsForModel(thresholdsAsked, model);
      if (t.note) note(t.note);
      thresholds = t.values;
    }
  } else {
    input = openImageInput(opts.images!, { limit: opts.n });
    if (opts.n !== undefined && input.count < opts.n) {
      throw new UserError(`-n ${opts.n} asks for more images than the ${input.count} in ${opts.images}`);
    }
    checkImageInput(plan, input, opts.images!);
  }
  const n = generator ? opts.n ?? DEFAULT_N : input!.count;
  if (opts.queue) shardRanges(n, opts.batch, opts.shards!);
  if (plan.metrics.includes('fid') && n < FULL_RANK_SAMPLES) {
    note(`${n} samples < ${FULL_RANK_SAMPLES}: the 2048x2048 covariance is rank-deficient, so FID is biased upward (the paper uses 50000)`);
  }

  checked = true;
  showNotes();
  const extractor = loadExtractor(choice, { pipeline, batchSize: opts.batch, threads: opts.threads });
  try {
    // --- reference
    const realBar: { bar?: Progress } = {};
    const reference = await loadReference(extractor, plan, {
      statsFile: opts.stats,
      statsLoaded: refStats,
      real: opts.real,
      classes: generator?.model.numClasses,
      batch: opts.batch,
      skipBad: opts.skipBad,
      onProgress: (done, total) => (realBar.bar ??= progressBar(total, 'real images')).update(done),
    });
    realBar.bar?.stop();
    const ctx: EvalContext = { extractor, plan, reference };

    // --- score
    const report: EvalReport = {
      tool: 'biggan eval',
      created: new Date().toISOString(),
      mode: generator ? 'generator' : 'images',
      n,
      seed: generator ? opts.seed : null,
      truncation: null,
      class_sampling: null,
      inception: { weights: choice.file, sha256: '', procedural: choice.procedural, pipeline, batch: opts.batch },
      reference: {},
      metric_settings: metricSettings(plan),
      notes,
      elapsed_s: 0,
    };
    let single: ScoreResult | undefined;
    if (generator) {
      const { model } = generator;
      report.class_sampling = model.numClasses > 1 ? classSampling : 'unconditional';
      report.truncation = opts.truncation ?? (model.usesTruncation ? 1 : null);
      const base = { n, seed: opts.seed, classSampling, batch: opts.batch };
      if (thresholds) {
        const bar = progressBar(n * thresholds.length, 'eval sweep');
        const rows = await runTruncationSweep(model, ctx, base, thresholds, { threads: opts.threads, onProgress: (d) => bar.update(d) });
        bar.stop();
        report.truncation = null;
        report.sweep = rows.map((r) => ({ truncation: r.truncation, ...r.metrics }));
        if (rows.some((r) => r.constantFeatures)) constantFeatureNote();
        for (const r of rows) {
          const clamped = fidNote(r.metrics);
          if (clamped) note(`truncation ${r.truncation}: ${clamped}`);
        }
        process.stdout.write(`${sweepTable(rows)}\n${choice.procedural ? `${PROCEDURAL_SUMMARY}\n` : ''}`);
        const plotFile = opts.plot ?? (opts.out ? opts.out.replace(/(\.json)?$/i, '-sweep.png') : 'truncation-sweep.png');
        const title = `${model.kind} ${model.resolution}px: truncation sweep, n=${n} per point`;
        plotSweep(plotFile, rows, title);
        process.stderr.write(`wrote the sweep plot to ${plotFile}\n`);
      } else {
        const bar = progressBar(n, 'eval');
        const gen = { ...base, truncation: opts.truncation };
        if (opts.queue) {
          const { collectOnQueue } = await import('../../queue/eval-shards.js');
          const collected = await collectOnQueue({
            url: opts.queue, shards: opts.shards!, shardDir: opts.shardDir, weights: opts.weights!, config: opts.config, inception: choice.file, pipeline, gen, keep: fakeCollectOptions(plan), onProgress: (d) => bar.update(d),
          });
          single = scoreCollected(ctx, collected);
        } else {
          single = await evaluateGenerator(model, ctx, gen, { threads: opts.threads, onProgress: (d) => bar.update(d) });
        }
        bar.stop();
      }
      report.generator = {
        weights: { file: path.resolve(opts.weights!), sha256: sha256File(opts.weights!) },
        ...(opts.config ? { config: { file: path.resolve(opts.config), sha256: sha256File(opts.config) } } : {}),
        layout: generator.layout,
        kind: model.kind,
        resolution: model.resolution,
        num_classes: model.numClasses,
        z_dim: model.zDim,
      };
    } else {
      let skipped = 0;
      const bar = progressBar(n, 'eval');
      try {
        single = await evaluateImages(ctx, input!, { batch: opts.batch, skipBad: opts.skipBad, onSkip: (name, why) => {
          skipped++;
          note(`skipped unreadable image ${name}: ${why}`);
        }, onProgress: (d) => bar.update(d + skipped) });
      } finally {
        bar.stop();
      }
      report.n = single.collected.count;
      report.images = { path: input!.location, kind: input!.kind, count: single.collected.count, skipped, sha256: input!.sha256() };
    }

    if (single) {
      report.metrics = single.metrics;
      if (single.constantFeatures) constantFeatureNote();
      const clamped = fidNote(single.metrics);
      if (clamped) note(clamped);
      const t = report.truncation === null ? 'none' : String(report.truncation);
      const what = generator ? `n=${report.n}, truncation ${t}, seed ${opts.seed}` : `n=${report.n} images`;
      process.stdout.write(`${formatMetrics(single.metrics)}   (${what}, pipeline ${pipeline})${choice.procedural ? `   ${PROCEDURAL_SUMMARY}` : ''}\n`);
      if (opts.shardOut) {
        const source = generator ? `generator:${path.resolve(opts.weights!)} seed ${opts.seed} n ${n} truncation ${t}` : `${input!.kind}:${input!.location} (${report.n} images)`;
        writeShard(opts.shardOut, single.collected.stats, { pipeline, inceptionSha256: inceptionWeightsSha256(choice), sources: [source] });
      }
    }
    if (reference.statsFile) {
      const l = reference.statsFile.loaded;
      report.reference.stats = { file: path.resolve(reference.statsFile.file), sha256: sha256File(reference.statsFile.file), kind: l.kind, ...(l.count !== undefined ? { count: l.count } : {}) };
    }
    if (reference.real) report.reference.real = reference.real;
    if (opts.out) {
      report.inception.sha256 = inceptionWeightsSha256(choice);
      report.elapsed_s = Number(((performance.now() - started) / 1000).toFixed(3));
      writeReport(opts.out, report);
      process.stderr.write(`wrote the report to ${opts.out}\n`);
    }
  } finally {
    input?.close();
    await extractor.release();
  }
}
