/**
 * A fuzz worker process (spawned by driver.ts with `--fuzz-worker <json>`): runs
 * its share of the inputs in order and prints one JSON line per input. It does
 * nothing without that argument, so `node --test` finding it under dist/test/ is harmless.
 */
import sharp from 'sharp';
import { type InputResult, makeInput, runInput, seedInput, selectFormats } from './inputs.js';
import type { LoadContext } from './formats.js';

export interface WorkerConfig {
  seed: number;
  seedDir: string;
  workDir: string;
  /** Inputs start, start + step, ... below end. */
  start: number;
  step: number;
  end: number;
  formats?: string[];
  timeLimitMs: number;
  memLimitBytes: number;
  /** Load every seed unmutated first (each must load). */
  checkSeeds?: boolean;
}

async function main(cfg: WorkerConfig): Promise<void> {
  sharp.cache(false); // libvips' operation cache would otherwise grow the RSS the memory check watches
  sharp.concurrency(1);
  const formats = selectFormats(cfg.formats);
  const ctx: LoadContext = { seedDir: cfg.seedDir, cache: new Map() };
  const limits = { timeLimitMs: cfg.timeLimitMs, memLimitBytes: cfg.memLimitBytes };
  const emit = (r: InputResult, seedCheck = false): void => {
    process.stdout.write(`${JSON.stringify({ ...r, seedCheck })}\n`);
  };
  if (cfg.checkSeeds) {
    for (const f of formats) for (const s of f.seeds) emit(await runInput(seedInput(f, s, cfg.seedDir), cfg.workDir, cfg.seedDir, ctx, { timeLimitMs: 60_000, memLimitBytes: 2 ** 40 }), true);
  }
  for (let i = cfg.start; i < cfg.end; i += cfg.step) {
    emit(await runInput(makeInput(cfg.seed, i, cfg.seedDir, formats), cfg.workDir, cfg.seedDir, ctx, limits));
  }
}

const at = process.argv.indexOf('--fuzz-worker');
if (at >= 0) {
  main(JSON.parse(process.argv[at + 1]!) as WorkerConfig).catch((err: unknown) => {
    process.stderr.write(`fuzz worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  });
}
