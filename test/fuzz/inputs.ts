/**
 * One fuzz input: made deterministically from (seed, index), written to its own
 * folder, loaded, and judged. The two allowed outcomes are "loaded" and the
 * format's clean error (a UserError with a one-line message naming the file);
 * anything else, or a load over the time or memory limit, is a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Rng } from '../../src/random/rng.js';
import { UserError } from '../../src/errors.js';
import { FORMATS, type FuzzFormat, type LoadContext } from './formats.js';
import { GENERIC_MUTATORS, pick } from './mutators.js';

export interface FuzzInput {
  index: number;
  format: FuzzFormat;
  seedName: string;
  bytes: Uint8Array;
  /** The mutations applied, in order ('' = the seed as is). */
  desc: string;
}

export type Outcome = 'loaded' | 'user-error' | 'bug' | 'slow' | 'memory';

export interface InputResult {
  i: number;
  format: string;
  seedName: string;
  desc: string;
  outcome: Outcome;
  ms: number;
  /** Growth of ArrayBuffer memory or of the process's peak RSS during the load, in bytes. */
  grow: number;
  /** The error's first line (and for bugs its stack head). */
  message?: string;
}

export interface Limits {
  timeLimitMs: number;
  memLimitBytes: number;
}

function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/** The formats in use (all, or those named). */
export function selectFormats(names?: readonly string[]): FuzzFormat[] {
  if (!names || names.length === 0) return [...FORMATS];
  const out = FORMATS.filter((f) => names.includes(f.name));
  if (out.length !== names.length) throw new Error(`unknown format in ${names.join(',')} (have ${FORMATS.map((f) => f.name).join(', ')})`);
  return out;
}

/** Input `index` of the run with `seed`: formats in turn, a random seed file, one to three mutations. */
export function makeInput(seed: number, index: number, seedDir: string, formats: readonly FuzzFormat[]): FuzzInput {
  const rng = new Rng(hash32(seed, index));
  const format = formats[index % formats.length]!;
  const seedName = pick(rng, format.seeds);
  let bytes: Uint8Array = fs.readFileSync(path.join(seedDir, seedName));
  const n = rng.int(3) === 0 ? 1 + rng.int(3) : 1;
  const descs: string[] = [];
  for (let k = 0; k < n; k++) {
    const useFormat = format.mutators.length > 0 && rng.int(2) === 0;
    const mutator = useFormat ? pick(rng, format.mutators) : pick(rng, GENERIC_MUTATORS);
    try {
      const m = mutator(bytes, rng);
      bytes = m.bytes;
      descs.push(m.desc);
    } catch (err) {
      // A format-aware mutator may not understand an already mutated file: keep the bytes as they are.
      descs.push(`(mutator gave up: ${(err as Error).message.split('\n')[0]!.slice(0, 60)})`);
    }
  }
  return { index, format, seedName, bytes, desc: descs.join('; ') };
}

/** The seed file itself, unmutated (every seed must load). */
export function seedInput(format: FuzzFormat, seedName: string, seedDir: string): FuzzInput {
  return { index: -1, format, seedName, bytes: fs.readFileSync(path.join(seedDir, seedName)), desc: '' };
}

/** Writes the input (and its companions) into a fresh folder; returns the input's path. */
export function writeInput(input: FuzzInput, dir: string, seedDir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const c of input.format.companions ?? []) fs.copyFileSync(path.join(seedDir, c.seed), path.join(dir, c.as));
  const file = path.join(dir, input.format.inputName ?? input.seedName);
  fs.writeFileSync(file, input.bytes);
  return file;
}

/** Why an error is not the clean outcome, or null when it is. */
function cleanErrorProblem(err: unknown, format: FuzzFormat, file: string, dir: string): string | null {
  const clean = format.isCleanError ? format.isCleanError(err) : err instanceof UserError;
  if (!clean) return 'not a UserError';
  const msg = (err as Error).message;
  if (msg.includes('\n')) return 'message is not one line';
  if (!msg.includes(file) && !msg.includes(dir)) return 'message does not name the file';
  return null;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Loads one input in this process and judges the outcome against the limits. */
export async function runInput(input: FuzzInput, workDir: string, seedDir: string, ctx: LoadContext, limits: Limits): Promise<InputResult> {
  const dir = path.join(workDir, `in-${input.index}`);
  const file = writeInput(input, dir, seedDir);
  gc?.();
  const ab0 = process.memoryUsage().arrayBuffers;
  const rss0 = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  let outcome: Outcome = 'loaded';
  let message: string | undefined;
  try {
    await input.format.load(file, dir, ctx);
  } catch (err) {
    const problem = cleanErrorProblem(err, input.format, file, dir);
    if (problem === null) {
      outcome = 'user-error';
      message = (err as Error).message;
    } else {
      outcome = 'bug';
      const e = err as Error;
      message = `${problem}: ${e?.name}: ${String(e?.message).split('\n')[0]!.slice(0, 300)} | ${(e?.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' | ')}`;
    }
  }
  const ms = performance.now() - t0;
  const grow = Math.max(process.memoryUsage().arrayBuffers - ab0, (process.resourceUsage().maxRSS - rss0) * 1024);
  fs.rmSync(dir, { recursive: true, force: true });
  if (outcome !== 'bug' && ms > limits.timeLimitMs) {
    message = `took ${ms.toFixed(0)} ms (limit ${limits.timeLimitMs}); ${outcome}: ${message ?? ''}`;
    outcome = 'slow';
  } else if (outcome !== 'bug' && grow > limits.memLimitBytes) {
    message = `grew memory by ${(grow / 2 ** 20).toFixed(0)} MiB (limit ${(limits.memLimitBytes / 2 ** 20).toFixed(0)}); ${outcome}: ${message ?? ''}`;
    outcome = 'memory';
  }
  return { i: input.index, format: input.format.name, seedName: input.seedName, desc: input.desc, outcome, ms, grow, message };
}
