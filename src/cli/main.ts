#!/usr/bin/env node
/**
 * `biggan` command line: thin commands over the library. User errors (bad files,
 * flags, shapes) print one line and exit 1; anything else is a bug and keeps its stack.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';
import { packageVersion } from '../package-info.js';
import { registerSample } from './commands/sample.js';
import { registerDiscriminate } from './commands/discriminate.js';
import { registerExportOnnx } from './commands/export-onnx.js';
import { registerEval } from './commands/eval.js';
import { registerFidStats } from './commands/fid-stats.js';
import { registerTrain } from './commands/train.js';
import { registerPlot } from './commands/plot.js';
import { registerDAccuracy } from './commands/d-accuracy.js';
import { registerClasses } from './commands/classes.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('biggan')
    .description('BigGAN and BigGAN-deep in TypeScript: train, sample, discriminate, evaluate, export (onnxruntime)')
    .version(packageVersion(), '-V, --version', 'print the version of biggan-ts')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerSample(program);
  registerDiscriminate(program);
  registerExportOnnx(program);
  registerEval(program);
  registerFidStats(program);
  registerTrain(program);
  registerPlot(program);
  registerDAccuracy(program);
  registerClasses(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its one-line message (or help/version output)
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`biggan: error: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

await main();
