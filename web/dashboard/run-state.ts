/**
 * What the page knows about the run: the server's snapshot plus the changes streamed since
 * (dashboard-protocol.ts), and what follows from the log's records (the current segment of a
 * resumed run, how it ended, its length).
 */
import type { DashboardEvents, DashboardRecord, RunSnapshot, SampleSheetEntry } from '../../src/web/dashboard-protocol.js';

export type RunPhase = 'connecting' | 'waiting' | 'training' | 'finished' | 'interrupted' | 'collapsed' | 'diverged' | 'stopped';

/** Log records that end a run, and the phase each means. */
const ENDINGS: Record<string, RunPhase> = { end: 'finished', interrupted: 'interrupted', collapse: 'collapsed', diverged: 'diverged' };

export class RunState {
  dir = '';
  records: DashboardRecord[] = [];
  samples: SampleSheetEntry[] = [];
  config: Record<string, unknown> | null = null;
  training = false;
  badLines = 0;
  connected = false;
  /** Why the server went away, once it said so. */
  closed: string | null = null;

  applySnapshot(s: RunSnapshot): void {
    this.dir = s.dir;
    this.records = [...s.records];
    this.samples = s.samples;
    this.config = s.config;
    this.training = s.training;
    this.badLines = s.badLines;
    this.connected = true;
  }

  addRecords(e: DashboardEvents['records']): void {
    this.records.push(...e.records);
    this.badLines = e.badLines;
  }

  ofType(type: string): DashboardRecord[] {
    return this.records.filter((r) => r.type === type);
  }

  last(type: string): DashboardRecord | undefined {
    return this.lastWhere((r) => r.type === type);
  }

  lastWhere(pred: (r: DashboardRecord) => boolean): DashboardRecord | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) if (pred(this.records[i])) return this.records[i];
    return undefined;
  }

  /** The latest start or resume record: where the current process's part of the run began. */
  get segmentStart(): DashboardRecord | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i].type === 'start' || this.records[i].type === 'resume') return this.records[i];
    return undefined;
  }

  /** The run's configuration: config.json, else the one the latest start/resume record carries. */
  get runConfig(): Record<string, unknown> | null {
    const c = this.segmentStart?.config;
    return this.config ?? (typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : null);
  }

  get totalSteps(): number | null {
    const steps = this.runConfig?.steps;
    return typeof steps === 'number' ? steps : null;
  }

  get step(): number {
    return this.records.reduce((m, r) => Math.max(m, r.step), 0);
  }

  get phase(): RunPhase {
    if (!this.connected) return 'connecting';
    const start = this.segmentStart;
    const from = start ? this.records.lastIndexOf(start) : 0;
    for (let i = this.records.length - 1; i >= from; i--) {
      const ending = ENDINGS[this.records[i].type];
      if (ending) return ending;
    }
    if (this.training) return 'training';
    return this.records.length ? 'stopped' : 'waiting';
  }
}
