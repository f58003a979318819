/**
 * `npm run fuzz -- [--count N] [--seed S] [--jobs J] [--formats a,b] [--time-limit MS] [--mem-limit MIB]`:
 * the loader fuzz test at any size (the test suite runs a few thousand inputs).
 * `--index I` loads input I of the seed in this process and prints what happened
 * (with the stack), to reproduce a failure; `--save FILE` also writes that input.
 * Runs only when started with `--run` (as the npm script does), so `node --test`
 * finding it under dist/test/ is harmless.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatReport, runFuzz } from './driver.js';
import { writeSeeds } from './formats.js';
import { makeInput, runInput, selectFormats } from './inputs.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function intOption(name: string, fallback: number): number {
  const v = option(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

async function reproduce(seed: number, index: number, formats: string[] | undefined): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-fuzz-one-'));
  try {
    await writeSeeds(root);
    const input = makeInput(seed, index, root, selectFormats(formats));
    console.log(`input ${index}: ${input.format.name}, seed file ${input.seedName}, mutations [${input.desc}], ${input.bytes.length} bytes`);
    const save = option('save');
    if (save) fs.writeFileSync(save, input.bytes);
    const ctx = { seedDir: root, cache: new Map<string, unknown>() };
    const r = await runInput(input, path.join(root, 'work'), root, ctx, { timeLimitMs: intOption('time-limit', 2000), memLimitBytes: intOption('mem-limit', 384) * 2 ** 20 });
    console.log(`${r.outcome} in ${r.ms.toFixed(0)} ms, memory +${(r.grow / 2 ** 20).toFixed(1)} MiB: ${r.message ?? ''}`);
    if (r.outcome !== 'loaded' && r.outcome !== 'user-error') process.exitCode = 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const seed = intOption('seed', 1);
  const formats = option('formats')?.split(',');
  const index = option('index');
  if (index !== undefined) return reproduce(seed, intOption('index', 0), formats);
  const count = intOption('count', 20000);
  let last = 0;
  const report = await runFuzz({
    count, seed, formats, jobs: intOption('jobs', Math.min(2, os.availableParallelism())), checkSeeds: true,
    timeLimitMs: intOption('time-limit', 2000), memLimitBytes: intOption('mem-limit', 384) * 2 ** 20,
    onProgress: (done, total) => {
      if (Date.now() - last > 10_000) {
        last = Date.now();
        console.log(`${done}/${total} inputs`);
      }
    },
  });
  for (const line of formatReport(report, seed)) console.log(line);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv.includes('--run')) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exitCode = 2;
  });
}
