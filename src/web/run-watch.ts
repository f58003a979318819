/**
 * The dashboard's view of a run directory (layout: src/train/run/run-dir.ts), kept current by
 * polling: log.jsonl through a LogFollower, the sample sheets in DIR/samples, DIR/config.json and
 * whether a live process holds DIR/.lock. Polling (stat + small reads every half second) rather
 * than fs.watch: it behaves the same on every platform and filesystem (network mounts, containers
 * with bind mounts), and a run writes a record every few seconds at most.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { RunDir } from '../train/run/run-dir.js';
import { LogFollower } from './log-follower.js';
import type { DashboardEventName, DashboardEvents, DashboardRecord, RunSnapshot, SampleSheetEntry } from './dashboard-protocol.js';

/** Sample sheets served: the names sample-sheet.ts writes (run-dir.ts sampleSheet()). */
export const SHEET_NAME = /^(?:step-(\d{8,})|final)\.png$/;

export type RunChange = { [K in DashboardEventName]: [K, DashboardEvents[K]] }[DashboardEventName];

export class RunWatch {
  readonly dir: RunDir;
  private readonly log: LogFollower;
  private records: DashboardRecord[] = [];
  private badLines = 0;
  private samples: SampleSheetEntry[] = [];
  private config: Record<string, unknown> | null = null;
  private configKey = '';
  private training = false;

  constructor(dir: string) {
    this.dir = new RunDir(dir);
    this.log = new LogFollower(this.dir.log);
  }

  /**
   * Opens an existing run for `biggan dashboard DIR`: the folder must hold a run's log or config,
   * and every complete line already in the log must be a record (a damaged log is an error, as
   * for `biggan plot`; later bad lines of a live log are skipped and counted).
   */
  static existing(dir: string): RunWatch {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new UserError(`${dir} does not exist (give a biggan train --out directory)`);
    }
    if (!st.isDirectory()) throw new UserError(`${dir} is not a directory (give a biggan train --out directory)`);
    const watch = new RunWatch(dir);
    if (!fs.existsSync(watch.dir.log) && !fs.existsSync(watch.dir.config)) {
      throw new UserError(`${dir} is not a training run (no log.jsonl or config.json; give a biggan train --out directory)`);
    }
    const first = watch.log.poll();
    if (first?.bad.length) throw new UserError(`${watch.dir.log}:${first.bad[0]}: not a JSON record`);
    if (first) watch.records.push(...first.records);
    watch.poll();
    return watch;
  }

  snapshot(): RunSnapshot {
    return { dir: this.dir.root, records: this.records, samples: this.samples, config: this.config, training: this.training, badLines: this.badLines };
  }

  /** Reads what changed since the last poll; a replaced log gives one `snapshot` change. */
  poll(): RunChange[] {
    const changes: RunChange[] = [];
    const delta = this.log.poll();
    if (delta?.reset) {
      this.records = [];
      this.badLines = 0;
    }
    if (delta) {
      this.records.push(...delta.records);
      this.badLines += delta.bad.length;
      if (!delta.reset) changes.push(['records', { records: delta.records, badLines: this.badLines }]);
    }
    const samples = this.listSamples();
    if (JSON.stringify(samples) !== JSON.stringify(this.samples)) {
      this.samples = samples;
      changes.push(['samples', samples]);
    }
    if (this.readConfig()) changes.push(['config', this.config]);
    const training = this.dir.holder() !== null;
    if (training !== this.training) {
      this.training = training;
      changes.push(['training', training]);
    }
    return delta?.reset ? [['snapshot', this.snapshot()]] : changes;
  }

  /** The file of a sample sheet name, or null for any other name. */
  sheetFile(name: string): string | null {
    return SHEET_NAME.test(name) ? path.join(this.dir.samplesDir, name) : null;
  }

  private listSamples(): SampleSheetEntry[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir.samplesDir);
    } catch {
      return [];
    }
    const out: SampleSheetEntry[] = [];
    for (const name of names) {
      const m = SHEET_NAME.exec(name);
      if (!m) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(path.join(this.dir.samplesDir, name));
      } catch {
        continue; // removed meanwhile
      }
      // sheets are replaced by rename (a new inode), possibly within one mtime tick
      out.push({ name, step: m[1] !== undefined ? Number(m[1]) : null, url: `samples/${name}?v=${st.ino}-${Math.round(st.mtimeMs)}` });
    }
    return out.sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity));
  }

  /** Re-reads config.json when it changed; true when the value did. */
  private readConfig(): boolean {
    let key = 'absent';
    try {
      const st = fs.statSync(this.dir.config);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      /* absent */
    }
    if (key === this.configKey) return false;
    let config: Record<string, unknown> | null = null;
    if (key !== 'absent') {
      try {
        const v: unknown = JSON.parse(fs.readFileSync(this.dir.config, 'utf8'));
        config = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
      } catch {
        return false; // being written (writeFileSync is not atomic): read it at the next poll
      }
    }
    this.configKey = key;
    const changed = JSON.stringify(config) !== JSON.stringify(this.config);
    this.config = config;
    return changed;
  }
}
