import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { REPO_ROOT } from './fixture-paths.js';

/** Tests never touch the user's ~/.cache: one private graph cache per test process. */
export const TEST_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-test-cache-'));

export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `biggan` CLI as a user would, without a terminal. */
export function biggan(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, BIGGAN_CACHE_DIR: TEST_CACHE_DIR, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: non-zero exit, one line on stderr, no stack trace. */
export function isCleanError(r: CliResult): boolean {
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
  return r.status !== 0 && r.status !== null && lines.length === 1 && !/\n\s+at /.test(r.stderr);
}

/** Stopped with a one-line error as the last line (progress lines and notes may come before it), no stack trace. */
export function endsWithError(r: CliResult): boolean {
  const lines = r.stderr.trim().split('\n');
  return r.status === 1 && lines[lines.length - 1].startsWith('biggan: error: ') && lines.filter((l) => l.startsWith('biggan: error: ')).length === 1 && !/\n\s+at /.test(r.stderr);
}
