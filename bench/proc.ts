/**
 * Reading Linux's /proc for the bench's process-tree measurements (process-memory.ts,
 * machine-load.ts): every process's parent, name and CPU time, and the descendants of a pid.
 */
import fs from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime (all threads, children not included), in USER_HZ ticks */
  ticks: number;
}

/** Both /proc/stat and /proc/<pid>/stat count CPU time at USER_HZ, 100 per second on Linux. */
export const TICKS_PER_S = 100;

/** The fields of /proc/<pid>/stat after the command name: index 0 is field 3 (state). */
export function statFields(stat: string): number[] {
  // comm may contain spaces and parentheses: it ends at the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
}

export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = statFields(stat);
      out.push({ pid: Number(d), ppid: f[1]!, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: f[11]! + f[12]! });
    } catch {
      // exited between readdir and read
    }
  }
  return out;
}

export function descendants(root: number, all: Proc[] = processes()): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}
