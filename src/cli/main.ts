#!/usr/bin/env node
/**
 * `biggan` command line: thin commands over the library. User errors (bad files,
 * flags, shapes) print one line and exit 1; anything else is a bug and keeps its stack.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';
import { packageVersion } from '../package-info.js';
/**
 * Commands load on demand: a run imports only its own command's modules (onnxruntime,
 * sharp, the model code, ...), which keeps the process start of `biggan sample` ~0.2 s
 * shorter; help and unknown commands load them all.
 */
type Register = (program: Command) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  sample: async () => (await import('./commands/sample.js')).registerSample,
  discriminate: async () => (await import('./commands/discriminate.js')).registerDiscriminate,
  'export-onnx': async () => (await import('./commands/export-onnx.js')).registerExportOnnx,
  'export-web': async () => (await import('./commands/export-web.js')).registerExportWeb,
  explore: async () => (await import('./commands/explore.js')).registerExplore,
  eval: async () => (await import('./commands/eval.js')).registerEval,
  'fid-stats': async () => (await import('./commands/fid-stats.js')).registerFidStats,
  train: async () => (await import('./commands/train.js')).registerTrain,
  sweep: async () => (await import('./commands/sweep.js')).registerSweep,
  worker: async () => (await import('./commands/worker.js')).registerWorker,
  plot: async () => (await import('./commands/plot.js')).registerPlot,
  dashboard: async () => (await import('./commands/dashboard.js')).registerDashboard,
  'd-accuracy': async () => (await import('./commands/d-accuracy.js')).registerDAccuracy,
  classes: async () => (await import('./commands/classes.js')).registerClasses,
};

/** The program with `only`'s command (all commands when it names none of them). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('biggan')
    .description('BigGAN and BigGAN-deep in TypeScript: train, sample, discriminate, evaluate, export (onnxruntime)')
    .version(packageVersion(), '-V, --version', 'print the version of biggan-ts')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((n) => COMMANDS[n]()))) register(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await (await buildProgram(process.argv[2])).parseAsync(process.argv);
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
