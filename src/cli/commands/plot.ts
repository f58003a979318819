/** `biggan plot DIR`: losses, per-layer sigma0 curves and (when evaluated) FID/IS of a training run, as one PNG. */
import { Command } from 'commander';
import path from 'node:path';
import { plotRun } from '../../train/run/plot-run.js';
import { RunDir } from '../../train/run/run-dir.js';
import { positiveInt } from '../options.js';

interface PlotOptions {
  out?: string;
  width?: number;
  height?: number;
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description("plot a training run: losses and the top singular value of every layer of G and D (the paper's Figure 3 view), plus FID and IS when the run was evaluated")
    .argument('<dir>', 'a biggan train --out directory (or its log.jsonl)')
    .option('--out <file.png>', 'output PNG (default DIR/plot.png)')
    .option('--width <px>', 'image width', positiveInt)
    .option('--height <px>', 'height of each panel', positiveInt)
    .action((dir: string, opts: PlotOptions) => {
      const isLog = dir.endsWith('.jsonl');
      const run = new RunDir(isLog ? path.dirname(dir) : dir);
      const out = opts.out ?? run.plot;
      const size = plotRun(isLog ? dir : run.log, out, { width: opts.width, panelHeight: opts.height });
      process.stderr.write(`wrote ${out} (${size.width}x${size.height})\n`);
    });
}
