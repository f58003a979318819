/**
 * Peak memory of a browser: Chromium runs as a tree of processes (browser, zygotes, renderer,
 * GPU and utility processes), so no single process's peak is the browser's. A sampler walks
 * /proc every interval, finds the descendants of this Node process whose name matches (Playwright
 * spawns Chromium as our child), and keeps the largest sum of their resident set sizes. The sum
 * counts shared pages (libraries, zygote copy-on-write) once per process, so it overstates what
 * the tree costs the machine; the renderer's own peak (VmHWM, exact, kept by the kernel) is
 * reported beside it. Linux only.
 */
import fs from 'node:fs';
import { descendants, processes } from './proc.js';

const PAGE = 4096;

function rssBytes(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  } catch {
    return 0;
  }
}

function statusKb(pid: number, field: string): number {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

function isRenderer(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer');
  } catch {
    return false;
  }
}

export interface TreeMemory {
  /** Largest sampled sum of RSS over the tree, MiB. */
  peakTreeMiB: number;
  /** Largest VmHWM of a renderer process seen, MiB. */
  peakRendererMiB: number;
  /** Most processes seen in the tree at once. */
  processes: number;
}

/** Samples the tree of `name`-matching descendants of this process until stop() is called. */
export function sampleTreeMemory(name: RegExp, intervalMs = 100): { stop(): TreeMemory } {
  let peakTree = 0;
  let peakRenderer = 0;
  let most = 0;
  const sample = (): void => {
    const tree = descendants(process.pid).filter((p) => name.test(p.comm));
    most = Math.max(most, tree.length);
    peakTree = Math.max(peakTree, tree.reduce((s, p) => s + rssBytes(p.pid), 0));
    // VmHWM survives between samples, so the renderer's peak is exact; read it while it lives
    for (const p of tree) if (isRenderer(p.pid)) peakRenderer = Math.max(peakRenderer, statusKb(p.pid, 'VmHWM') * 1024);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  let result: TreeMemory | undefined;
  return {
    // idempotent: a later call (cleanup after an error) returns the first call's figures
    stop: () => {
      if (!result) {
        clearInterval(timer);
        sample();
        result = { peakTreeMiB: peakTree / 2 ** 20, peakRendererMiB: peakRenderer / 2 ** 20, processes: most };
      }
      return result;
    },
  };
}
