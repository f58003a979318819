/**
 * Shared pieces of the benchmarks: running a whole process under /usr/bin/time for wall
 * time and peak RSS, the PyTorch baseline (../shared/bench/torch_ref.py), interleaved
 * rounds, the machine's description, and formatting tables.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

/** The direct entry point: node_modules/.bin/biggan where npm linked it, else the file it links to. */
export function directEntry(): { cmd: string; pre: string[]; label: string } {
  const bin = path.resolve('node_modules/.bin/biggan');
  if (fs.existsSync(bin)) return { cmd: bin, pre: [], label: 'node_modules/.bin/biggan sample' };
  return { cmd: process.execPath, pre: [path.resolve('dist/src/cli/main.js')], label: 'node dist/src/cli/main.js sample (what node_modules/.bin/biggan runs where npm links it)' };
}

/** The last stdout line of a measured process, parsed as JSON (the scripts' result line). */
export function lastJson<T>(m: ProcessMeasurement): T {
  return JSON.parse(m.stdout.trim().split('\n').pop()!) as T;
}

export const PYTHON = '/usr/bin/python3';

/** The PyTorch baseline, beside the project checkout; exits with one line when it is missing. */
export function torchRef(): string {
  const file = path.resolve('../shared/bench/torch_ref.py');
  if (!fs.existsSync(file)) {
    console.error(`bench: PyTorch baseline ${file} not found (the project must be checked out beside ../shared)`);
    process.exit(2);
  }
  return file;
}

/** `torch_ref.py SUBCOMMAND ...` as a whole process (wall time, peak RSS), its JSON result line. */
export function runTorchRef<T>(args: string[]): { m: ProcessMeasurement; j: T } {
  const m = measureProcess(PYTHON, [torchRef(), ...args]);
  return { m, j: lastJson<T>(m) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Runs `rounds` rounds, each running every side once in the given order (ours, torch,
 * ours, torch, ...), so a noisy stretch of the shared machine hits both sides; returns
 * each side's results in round order.
 */
export async function interleaved<S extends Record<string, () => unknown>>(rounds: number, sides: S): Promise<{ [K in keyof S]: Awaited<ReturnType<S[K]>>[] }> {
  const out: Record<string, unknown[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const k of Object.keys(sides)) out[k]!.push(await sides[k]!());
  return out as { [K in keyof S]: Awaited<ReturnType<S[K]>>[] };
}

function cpuModel(): string {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** CPU model and core count, and the versions of both sides' stacks. */
export function machineLine(): string {
  const ort = JSON.parse(fs.readFileSync(path.resolve('node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string };
  const t = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  const torch = t.status === 0 ? t.stdout.trim() : 'not installed';
  return `${cpuModel()}, ${os.cpus().length} cores; Node ${process.version}, onnxruntime-node ${ort.version}, PyTorch ${torch} (${PYTHON})`;
}

/**
 * A row's rates: the model's FLOPs per second (the same work on both sides) and the share of
 * the ceiling that the FLOPs this side executes reach (ours run fewer: see flops.ts).
 */
export function rates(flops: { model: number; executed: number }, seconds: number, ceiling: number, ours: boolean): [number, string] {
  return [flops.model / seconds / 1e9, share((ours ? flops.executed : flops.model) / seconds / 1e9, ceiling)];
}

/** Share of the machine's measured ceiling, as a percentage. */
export function share(gflops: number, ceiling: number): string {
  return `${((100 * gflops) / ceiling).toFixed(0)} %`;
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : v);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`)].join('\n');
}
