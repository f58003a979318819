/**
 * Follows a run's log.jsonl as the run appends to it: each poll() reads only the bytes added
 * since the last one and returns the records on the lines that are now complete. A line without
 * its newline yet (the writer is mid-append, or was killed mid-append) is held back until it is
 * complete, so a live log never yields a torn record. Lines that are complete but not records
 * are counted and skipped: a dashboard following a live run must not stop over one bad line.
 *
 * A log can also be replaced: a fresh run in the same --out deletes it, and --resume rewrites it
 * without the records past its checkpoint (an atomic rename: a new file). poll() notices that
 * (another inode, a shorter file, or different bytes where the last record it read ended) and
 * starts again from the top with `reset: true`.
 */
import fs from 'node:fs';
import type { DashboardRecord } from './dashboard-protocol.js';

export interface LogDelta {
  /** The file was replaced or removed: forget the earlier records, `records` starts from the top. */
  reset: boolean;
  records: DashboardRecord[];
  /** Complete lines that were not JSON records, as 1-based line numbers. */
  bad: number[];
}

const NEWLINE = 0x0a;
/** Bytes just before the read position remembered to recognise the same file (the end of the last line: its timestamp). */
const TAIL_CHECK = 64;

function isRecord(v: unknown): v is DashboardRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as DashboardRecord).type === 'string' && typeof (v as DashboardRecord).step === 'number';
}

export class LogFollower {
  private ino = -1;
  private offset = 0;
  /** Bytes of the unfinished last line. */
  private partial: Buffer = Buffer.alloc(0);
  /** The TAIL_CHECK bytes before `offset`. */
  private tail: Buffer = Buffer.alloc(0);
  private lines = 0;

  constructor(readonly file: string) {}

  /** Records appended since the last call; null when nothing changed. */
  poll(): LogDelta | null {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      // not there (yet, or removed by a fresh run starting over)
      if (this.ino === -1) return null;
      this.restart(-1);
      return { reset: true, records: [], bad: [] };
    }
    if (!st.isFile()) return null;
    let reset = false;
    if (st.ino !== this.ino || st.size < this.offset || !this.sameTail()) {
      reset = this.ino !== -1;
      this.restart(st.ino);
    }
    if (st.size === this.offset) return reset ? { reset, records: [], bad: [] } : null;
    const added = this.read(this.offset, st.size - this.offset);
    this.offset += added.length;
    this.tail = Buffer.concat([this.tail, added]).subarray(-TAIL_CHECK);
    const out: LogDelta = { reset, records: [], bad: [] };
    let data = this.partial.length ? Buffer.concat([this.partial, added]) : added;
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE)) {
      const line = data.subarray(0, nl).toString('utf8');
      data = data.subarray(nl + 1);
      this.lines++;
      if (!line.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      if (isRecord(value)) out.records.push(value);
      else out.bad.push(this.lines);
    }
    this.partial = Buffer.from(data);
    return out.reset || out.records.length || out.bad.length ? out : null;
  }

  private restart(ino: number): void {
    this.ino = ino;
    this.offset = 0;
    this.partial = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
    this.lines = 0;
  }

  /** The file still has, just before `offset`, the bytes this follower read there. */
  private sameTail(): boolean {
    if (!this.tail.length) return true;
    try {
      return this.read(this.offset - this.tail.length, this.tail.length).equals(this.tail);
    } catch {
      return false;
    }
  }

  private read(position: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    const fd = fs.openSync(this.file, 'r');
    try {
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, buf, done, length - done, position + done);
        if (n === 0) break; // shrank meanwhile: the next poll sees it
        done += n;
      }
      return buf.subarray(0, done);
    } finally {
      fs.closeSync(fd);
    }
  }
}
