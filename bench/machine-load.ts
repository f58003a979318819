/**
 * How busy the rest of the machine was while a stretch of the bench ran: the CPU time the whole
 * machine spent (/proc/stat) minus the bench's own, as an average number of cores. On a shared
 * machine this tells a round that ran beside another job from a quiet one.
 *
 * The bench's own time: this process's utime + stime, plus its children's, counted one of two
 * ways. 'reaped': cutime + cstime, for children run to completion and waited for (spawnSync).
 * 'sampled': a walk of the descendants every 100 ms, keeping each one's latest utime + stime, for
 * Chromium, whose renderers and zygotes are reaped by Chromium, not by us (their time never
 * reaches our cutime); what a descendant spends after its last sample (under 100 ms) is missed,
 * so short-lived ones count a little as "other". Linux only.
 */
import fs from 'node:fs';
import { descendants, statFields, TICKS_PER_S } from './proc.js';

function machineBusyTicks(): number {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}

/** utime + stime of this process, and cutime + cstime (waited-for children) when asked. */
function selfTicks(withReaped: boolean): number {
  const f = statFields(fs.readFileSync('/proc/self/stat', 'utf8'));
  return f[11]! + f[12]! + (withReaped ? f[13]! + f[14]! : 0);
}

export function watchOtherLoad(children: 'reaped' | 'sampled'): { stop(): number } {
  const reaped = children === 'reaped';
  const busy0 = machineBusyTicks();
  const self0 = selfTicks(reaped);
  const t0 = performance.now();
  // per descendant: ticks when first seen, latest ticks (a process already running at the start
  // counts from there; one that starts later, from 0)
  const seen = new Map<number, { first: number; last: number }>();
  const sample = (initial: boolean): void => {
    for (const p of descendants(process.pid)) {
      const s = seen.get(p.pid);
      if (s) s.last = p.ticks;
      else seen.set(p.pid, { first: initial ? p.ticks : 0, last: p.ticks });
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (!reaped) {
    sample(true);
    timer = setInterval(() => sample(false), 100);
  }
  let result: number | undefined;
  return {
    // idempotent: a later call (cleanup after an error) returns the first call's figure
    stop: () => {
      if (result === undefined) {
        if (timer) {
          clearInterval(timer);
          sample(false);
        }
        const seconds = (performance.now() - t0) / 1000;
        let own = selfTicks(reaped) - self0;
        for (const s of seen.values()) own += s.last - s.first;
        result = Math.max(0, (machineBusyTicks() - busy0 - own) / TICKS_PER_S / seconds);
      }
      return result;
    },
  };
}
