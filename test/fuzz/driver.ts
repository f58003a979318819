/**
 * The loader fuzz driver shared by test/fuzz-loaders.test.ts and `npm run fuzz`:
 * writes the seed files, runs the inputs in worker processes (one per job), and
 * collects the outcomes. A worker that hangs past the hard timeout is killed and
 * one that dies (stack overflow in native code, out of memory) is restarted after
 * the input it was on; both count as failures of that input.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSeeds } from './formats.js';
import { selectFormats, type InputResult } from './inputs.js';
import type { WorkerConfig } from './worker.js';

export interface FuzzOptions {
  count: number;
  seed: number;
  jobs?: number;
  formats?: string[];
  /** Per input (default 2000 ms). */
  timeLimitMs?: number;
  /** Per input: growth of ArrayBuffers or of peak RSS (default 384 MiB). */
  memLimitBytes?: number;
  /** A worker silent this long is killed (default 30 s). */
  hardTimeoutMs?: number;
  /** Load every seed unmutated first. */
  checkSeeds?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface FormatCounts {
  inputs: number;
  loaded: number;
  userErrors: number;
  failures: number;
}

export interface FuzzReport {
  inputs: number;
  byFormat: Record<string, FormatCounts>;
  failures: InputResult[];
  seedChecks: InputResult[];
  wallMs: number;
  slowestMs: number;
  slowest?: InputResult;
  largestGrowBytes: number;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

interface WorkerRun {
  results: InputResult[];
  seedChecks: InputResult[];
  /** Index the worker was on when it died or hung, with why. */
  died?: { i: number; why: string };
}

function runWorker(cfg: WorkerConfig, hardTimeoutMs: number, onResult: () => void): Promise<WorkerRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--stack-size=984', WORKER, '--fuzz-worker', JSON.stringify(cfg)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BIGGAN_CACHE_DIR: path.join(cfg.workDir, 'cache') },
    });
    const run: WorkerRun = { results: [], seedChecks: [] };
    let next = cfg.start;
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout;
    let hung = false;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, hardTimeoutMs);
    };
    arm();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const r = JSON.parse(line) as InputResult & { seedCheck: boolean };
        if (r.seedCheck) run.seedChecks.push(r);
        else {
          run.results.push(r);
          next = r.i + cfg.step;
          onResult();
        }
        arm();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      stderr = (stderr + c).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && next < cfg.end) {
        const why = hung ? `hung (no result within ${hardTimeoutMs} ms)` : `worker died (exit ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
        run.died = { i: next, why };
      }
      resolve(run);
    });
  });
}

/** Runs `count` inputs (indices 0..count-1 of `seed`) and reports the outcomes. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const formats = selectFormats(opts.formats);
  const jobs = Math.max(1, opts.jobs ?? Math.min(2, os.availableParallelism()));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-fuzz-'));
  const seedDir = path.join(root, 'seeds');
  fs.mkdirSync(seedDir);
  try {
    await writeSeeds(seedDir);
    const all: InputResult[] = [];
    const seedChecks: InputResult[] = [];
    let done = 0;
    const lane = async (k: number): Promise<void> => {
      let start = k;
      let first = true;
      while (start < opts.count) {
        const cfg: WorkerConfig = {
          seed: opts.seed, seedDir, workDir: path.join(root, `work-${k}`), start, step: jobs, end: opts.count,
          formats: opts.formats, timeLimitMs: opts.timeLimitMs ?? 2000, memLimitBytes: opts.memLimitBytes ?? 384 * 2 ** 20,
          checkSeeds: first && k === 0 && opts.checkSeeds,
        };
        first = false;
        const run = await runWorker(cfg, opts.hardTimeoutMs ?? 30_000, () => opts.onProgress?.(++done, opts.count));
        all.push(...run.results);
        seedChecks.push(...run.seedChecks);
        if (!run.died) break;
        const format = formats[run.died.i % formats.length]!.name;
        all.push({ i: run.died.i, format, seedName: '?', desc: '(see --index)', outcome: 'bug', ms: 0, grow: 0, message: run.died.why });
        opts.onProgress?.(++done, opts.count);
        start = run.died.i + jobs;
      }
    };
    await Promise.all(Array.from({ length: jobs }, (_, k) => lane(k)));
    all.sort((a, b) => a.i - b.i);
    const byFormat: Record<string, FormatCounts> = {};
    for (const f of formats) byFormat[f.name] = { inputs: 0, loaded: 0, userErrors: 0, failures: 0 };
    let slowest: InputResult | undefined;
    let largestGrowBytes = 0;
    for (const r of all) {
      const c = byFormat[r.format]!;
      c.inputs++;
      if (r.outcome === 'loaded') c.loaded++;
      else if (r.outcome === 'user-error') c.userErrors++;
      else c.failures++;
      if (!slowest || r.ms > slowest.ms) slowest = r;
      largestGrowBytes = Math.max(largestGrowBytes, r.grow);
    }
    const failures = all.filter((r) => r.outcome !== 'loaded' && r.outcome !== 'user-error');
    for (const s of seedChecks) if (s.outcome !== 'loaded') failures.unshift({ ...s, message: `seed does not load: ${s.message}` });
    return { inputs: all.length, byFormat, failures, seedChecks, wallMs: Date.now() - t0, slowestMs: slowest?.ms ?? 0, slowest, largestGrowBytes };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** The report as text lines: counts per format, then each failure with what reproduces it. */
export function formatReport(r: FuzzReport, seed: number): string[] {
  const lines = [`${r.inputs} inputs in ${(r.wallMs / 1000).toFixed(1)} s (seed ${seed}); slowest ${r.slowestMs.toFixed(0)} ms (${r.slowest?.format} #${r.slowest?.i}), largest memory growth ${(r.largestGrowBytes / 2 ** 20).toFixed(1)} MiB`];
  lines.push('format            inputs  loaded  user-error  failures');
  for (const [name, c] of Object.entries(r.byFormat)) {
    lines.push(`${name.padEnd(17)} ${String(c.inputs).padStart(6)}  ${String(c.loaded).padStart(6)}  ${String(c.userErrors).padStart(10)}  ${String(c.failures).padStart(8)}`);
  }
  for (const f of r.failures.slice(0, 50)) {
    lines.push(`FAIL ${f.format} #${f.i} (${f.outcome}) seed file ${f.seedName}, mutations [${f.desc}]: ${f.message ?? ''}`);
    if (f.i >= 0) lines.push(`  reproduce: npm run fuzz -- --seed ${seed} --index ${f.i}`);
  }
  if (r.failures.length > 50) lines.push(`... and ${r.failures.length - 50} more failures`);
  return lines;
}
