/**
 * Shared pieces of the benchmarks: running a whole process under /usr/bin/time for wall
 * time and peak RSS, finding PyTorch, and formatting tables.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export interface ProcessMeasurement {
  wallS: number;
  peakRssMiB: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; wall time and peak RSS of the whole process (GNU time). */
export function measureProcess(cmd: string, args: string[], env: Record<string, string> = {}): ProcessMeasurement {
  const timeFile = `/tmp/biggan-bench-time-${process.pid}.txt`;
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, cmd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const [wall, rssKb] = fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  fs.rmSync(timeFile, { force: true });
  return { wallS: wall, peakRssMiB: rssKb / 1024, stdout: r.stdout, stderr: r.stderr };
}

export function hasGnuTime(): boolean {
  return fs.existsSync('/usr/bin/time');
}

/** Debian's PyTorch (python3-torch), if installed. */
export function pytorchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : v);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`)].join('\n');
}
