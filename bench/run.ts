/**
 * `npm run bench [-- SECTION ...] [--rounds N] [--quick] [--single-graph] [--cases ARCH,...]`: every workload side by side with PyTorch
 * at its best (../shared/bench/torch_ref.py and bench/pytorch/*.py), medians over N
 * interleaved rounds (default 3), each workload's achieved GFLOP/s and its share of the
 * machine's ceiling (the faster side's GFLOP/s on one large 3x3 convolution, measured
 * first). Sections: ceiling, sampling, training, inception (the default: all four), and
 * browser (only when named: our own runtimes in Chromium and Node, no PyTorch, no ceiling), queue (only when
 * named: the job queue's overhead per trial and per evaluation shard, bench/queue.ts),
 * landscape (only when named: the GAN-landscape networks' D steps against PyTorch, no ceiling), and
 * distributed (only when named: data-parallel training over MPI, its Allreduces, the queue's
 * overhead and a scaling estimate on paper, bench/distributed.ts).
 * Results go to stdout and .bench-out/results.md. --quick is a smoke test of the bench itself
 * (N = 8 only, 1 timed training iteration, 16 Inception images, 2 timed browser images, 1 timed landscape D step,
 * 1 timed data-parallel iteration): its
 * figures are measured but not the ones to publish. --single-graph adds the training row of
 * `biggan train --graphs single` (off by default: it adds a third of the bench's time). --cases
 * limits the landscape section to the named architectures (sndcgan, resnet19; ResNet19 takes most of its time).
 */
import fs from 'node:fs';
import path from 'node:path';
import { benchBrowser } from './browser.js';
import { benchQueue } from './queue.js';
import { benchDistributed } from './distributed.js';
import { benchCeiling } from './ceiling.js';
import { benchSampling } from './sampling.js';
import { benchTraining } from './training.js';
import { benchInception } from './inception.js';
import { benchLandscape, LANDSCAPE_ARCHS } from './landscape.js';
import { machineLine, torchRef } from './measure.js';

const OUT = path.resolve('.bench-out');
const SECTIONS = ['ceiling', 'sampling', 'training', 'inception', 'browser', 'queue', 'landscape', 'distributed'] as const;
type Section = (typeof SECTIONS)[number];
/** The sections against PyTorch, which report shares of the ceiling: what a plain `npm run bench` runs. */
const PYTORCH_SECTIONS: Section[] = ['ceiling', 'sampling', 'training', 'inception'];

function parseArgs(argv: string[]): { sections: Section[]; rounds: number; quick: boolean; single: boolean; cases?: string[] } {
  let rounds = 3;
  let cases: string[] | undefined;
  let quick = false;
  let single = false;
  const sections: Section[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rounds') {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds needs a positive integer, got ${argv[i]}`);
    } else if (a === '--cases') {
      cases = (argv[++i] ?? '').split(',');
      const bad = cases.filter((c) => !(LANDSCAPE_ARCHS as readonly string[]).includes(c));
      if (bad.length || !cases.length) fail(`--cases needs landscape architectures from ${LANDSCAPE_ARCHS.join(', ')}, got ${argv[i] ?? 'nothing'}`);
    } else if (a === '--quick') quick = true;
    else if (a === '--single-graph') single = true;
    else if ((SECTIONS as readonly string[]).includes(a)) sections.push(a as Section);
    else fail(`unknown bench argument ${a}; sections: ${SECTIONS.join(', ')}; options: --rounds N, --quick, --single-graph, --cases ARCH,...`);
  }
  return { sections: sections.length ? sections : PYTORCH_SECTIONS, rounds, quick, single, cases };
}

function fail(msg: string): never {
  console.error(msg);
  process.exit(2);
}

async function main(): Promise<void> {
  const { sections, rounds, quick, single, cases } = parseArgs(process.argv.slice(2));
  const ceilingNeeded = sections.some((s) => PYTORCH_SECTIONS.includes(s));
  if (ceilingNeeded) torchRef(); // one-line failure up front when the baseline is missing
  fs.mkdirSync(OUT, { recursive: true });
  const machine = machineLine();
  console.log(`# biggan-ts benchmarks\n\n${new Date().toISOString()}; ${machine}; ${rounds} interleaved round${rounds > 1 ? 's' : ''}${quick ? ' (--quick smoke test)' : ''}`);
  let report = `# biggan-ts benchmarks\n\nMachine: ${machine}. ${new Date().toISOString()}, ${rounds} interleaved round${rounds > 1 ? 's' : ''} per figure${quick ? ' (--quick smoke test: not for publishing)' : ''}.\n`;
  const emit = (name: string, text: string): void => {
    report += `\n## ${name}\n\n${text}\n`;
    console.log(`\n## ${name}\n\n${text}`);
  };
  // The ceiling comes first: the PyTorch sections report their share of it. When it is not
  // asked for, a quick one-round measurement stands in; the browser section needs none.
  if (ceilingNeeded) console.error(`running ceiling${sections.includes('ceiling') ? '' : ' (quick, 1 round)'} ...`);
  const ceiling = ceilingNeeded ? await benchCeiling({ rounds: sections.includes('ceiling') ? rounds : 1 }) : undefined;
  if (ceiling && sections.includes('ceiling')) emit('ceiling', ceiling.table);
  else if (ceiling) console.log(`\n(ceiling: ${ceiling.gflops.toFixed(0)} GFLOP/s, one quick round: ours ${ceiling.oursGflops.toFixed(0)}, PyTorch ${ceiling.torchGflops.toFixed(0)})`);
  const gflops = (): number => ceiling!.gflops;
  const run: Record<Exclude<Section, 'ceiling'>, () => Promise<string>> = {
    sampling: () => benchSampling(OUT, { rounds, ceiling: gflops(), ...(quick ? { counts: [8] } : {}) }),
    training: () => benchTraining(OUT, { rounds, ceiling: gflops(), ...(quick ? { iters: 1, single: false } : { single }) }),
    inception: () => benchInception(OUT, { rounds, ceiling: gflops(), ...(quick ? { images: 16, repeats: 1 } : {}) }),
    browser: () => benchBrowser(OUT, { rounds, quick }),
    queue: () => benchQueue(OUT, { rounds, quick }),
    landscape: () => benchLandscape({ rounds, quick, archs: cases }),
    distributed: () => benchDistributed(OUT, { rounds, quick }),
  };
  for (const name of sections) {
    if (name === 'ceiling') continue;
    console.error(`running ${name} ...`);
    emit(name, await run[name]());
  }
  if (ceiling && !sections.includes('ceiling')) report += `\nCeiling (quick, 1 round): ${ceiling.gflops.toFixed(0)} GFLOP/s (ours ${ceiling.oursGflops.toFixed(0)}, PyTorch ${ceiling.torchGflops.toFixed(0)}).\n`;
  fs.writeFileSync(path.join(OUT, 'results.md'), report);
}

await main();
