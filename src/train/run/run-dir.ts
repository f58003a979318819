/**
 * The layout of a run directory (the contract `biggan train --out DIR` writes and
 * `biggan plot DIR` / `--resume` read):
 *
 *   DIR/checkpoint.safetensors          always the latest complete checkpoint
 *   DIR/checkpoints/step-00001000.safetensors   periodic checkpoints (the newest K,
 *                                        plus the newest one old enough to predate
 *                                        any collapse still being detected)
 *   DIR/log.jsonl                        one JSON record per line (run-log.ts)
 *   DIR/samples/step-00001000.png        fixed-latent sample sheets; samples/final.png
 *   DIR/config.json                      the run's configuration (for people; the
 *                                        checkpoint holds the authoritative copy)
 *   DIR/collapse-report.txt              written when the collapse watch stops the run
 *   DIR/plot.png                         `biggan plot DIR`
 *
 * Replacing DIR/checkpoint.safetensors: the periodic file is written atomically
 * (temporary file, fsync, rename), then hard-linked under a temporary name in DIR
 * and renamed over checkpoint.safetensors, and the directory is fsynced; so the
 * name always refers to one complete file and the data is written once. Where hard
 * links are not available the file is copied to the temporary name (and fsynced).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';

const STEP_FILE = /^step-(\d{8,})\.safetensors$/;

export class RunDir {
  readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  get checkpoint(): string {
    return path.join(this.root, 'checkpoint.safetensors');
  }
  get checkpointsDir(): string {
    return path.join(this.root, 'checkpoints');
  }
  get samplesDir(): string {
    return path.join(this.root, 'samples');
  }
  get log(): string {
    return path.join(this.root, 'log.jsonl');
  }
  get config(): string {
    return path.join(this.root, 'config.json');
  }
  get collapseReport(): string {
    return path.join(this.root, 'collapse-report.txt');
  }
  get plot(): string {
    return path.join(this.root, 'plot.png');
  }

  stepCheckpoint(step: number): string {
    return path.join(this.checkpointsDir, `step-${String(step).padStart(8, '0')}.safetensors`);
  }
  sampleSheet(step: number | 'final'): string {
    return path.join(this.samplesDir, step === 'final' ? 'final.png' : `step-${String(step).padStart(8, '0')}.png`);
  }

  /** DIR-relative name for logs and messages. */
  relative(file: string): string {
    return path.relative(this.root, file);
  }

  /** Folders create() made (deepest last), for removeIfEmpty(). */
  private created: string[] = [];

  create(): void {
    try {
      for (const d of [this.root, this.checkpointsDir, this.samplesDir]) {
        const first = fs.mkdirSync(d, { recursive: true });
        if (first !== undefined) this.created.push(first);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UserError(`cannot create the run directory ${this.root}: ${e.code ?? e.message}`);
    }
  }

  /**
   * Undoes create() for a run that never started (bad flags or data): releases the lock
   * and removes the folders create() made, as far as they are still empty, so a failed
   * validation leaves no empty run folder behind. Anything written in them is kept.
   */
  removeIfEmpty(): void {
    this.unlock();
    const made = (d: string): boolean => this.created.some((c) => d === c || d.startsWith(c + path.sep));
    const dirs = [this.samplesDir, this.checkpointsDir];
    for (let d = this.root; made(d); d = path.dirname(d)) dirs.push(d); // the root and the parents made for it
    for (const d of dirs.filter(made)) {
      try {
        fs.rmdirSync(d); // only empty folders
      } catch {
        /* not empty, or already gone */
      }
    }
    this.created = [];
  }

  hasCheckpoint(): boolean {
    return fs.existsSync(this.checkpoint);
  }

  /** Periodic checkpoints present, oldest first. */
  stepCheckpoints(): { step: number; file: string }[] {
    if (!fs.existsSync(this.checkpointsDir)) return [];
    return fs
      .readdirSync(this.checkpointsDir)
      .map((name) => ({ m: STEP_FILE.exec(name), name }))
      .filter((x) => x.m)
      .map((x) => ({ step: Number(x.m![1]), file: path.join(this.checkpointsDir, x.name) }))
      .sort((a, b) => a.step - b.step);
  }

  /** Makes `file` (a complete checkpoint in this run) the one under DIR/checkpoint.safetensors, atomically. */
  promote(file: string): void {
    const tmp = path.join(this.root, `.checkpoint.safetensors.${process.pid}.tmp`);
    fs.rmSync(tmp, { force: true });
    try {
      fs.linkSync(file, tmp);
    } catch {
      copyDurably(file, tmp);
    }
    fs.renameSync(tmp, this.checkpoint);
    fsyncDir(this.root);
  }

  /** Deletes periodic checkpoints except the newest `keep` and those in `pinned`. */
  prune(keep: number, pinned: Set<string>): string[] {
    const all = this.stepCheckpoints();
    const removed: string[] = [];
    all.slice(0, Math.max(0, all.length - keep)).forEach(({ file }) => {
      if (pinned.has(file)) return;
      fs.rmSync(file, { force: true });
      removed.push(file);
    });
    return removed;
  }

  get lockFile(): string {
    return path.join(this.root, '.lock');
  }

  /**
   * Claims the directory for this process: DIR/.lock is created exclusively and holds
   * "<pid> <start time>" (the start time from /proc where there is one). A lock whose
   * process no longer runs (kill -9, crash, a container restarted) is stale and taken
   * over, also when its pid has since been reused by another process (the start time
   * differs) or the file is damaged (empty, half-written).
   */
  lock(): void {
    const mine = lockText(process.pid);
    for (let attempt = 0; ; attempt++) {
      try {
        fs.writeFileSync(this.lockFile, mine, { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      let text = '';
      try {
        text = fs.readFileSync(this.lockFile, 'utf8');
      } catch {
        continue; // removed meanwhile: try again
      }
      const holder = liveHolder(text);
      if (holder !== null && holder !== process.pid) throw new RunDirBusyError(`${this.root} is in use by another biggan train (pid ${holder})`);
      fs.rmSync(this.lockFile, { force: true }); // stale (or our own): take it over
    }
  }

  /** The pid of the live process holding the lock (a run training in DIR), else null. */
  holder(): number | null {
    try {
      return liveHolder(fs.readFileSync(this.lockFile, 'utf8'));
    } catch {
      return null;
    }
  }

  unlock(): void {
    try {
      if (fs.readFileSync(this.lockFile, 'utf8') === lockText(process.pid)) fs.rmSync(this.lockFile, { force: true });
    } catch {
      /* already gone */
    }
  }

  /** Leftover temporary files of killed writers (never under a final name). */
  removeStaleTemporaries(): void {
    for (const dir of [this.root, this.checkpointsDir, this.samplesDir]) {
      if (!fs.existsSync(dir)) continue;
      for (const name of fs.readdirSync(dir)) if (name.startsWith('.') && name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/** The run directory is locked by a live process (a queue worker retries such a trial later: the holder may be a killed worker's trial still checkpointing). */
export class RunDirBusyError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'RunDirBusyError';
  }
}

/** The lock file's content for process pid. */
function lockText(pid: number): string {
  const start = processStartTime(pid);
  return `${pid}${start !== null ? ` ${start}` : ''}\n`;
}

/** The pid of the process holding a lock with this content, or null when the lock is stale. */
function liveHolder(text: string): number | null {
  const m = /^(\d+)(?: (\d+))?\n?$/.exec(text);
  if (!m) return null; // damaged
  const pid = Number(m[1]);
  if (!(pid > 0) || !processAlive(pid)) return null;
  const start = processStartTime(pid);
  // a different start time: the pid now belongs to another process
  if (m[2] !== undefined && start !== null && String(start) !== m[2]) return null;
  return pid;
}

/** A process's start time in clock ticks since boot (Linux /proc/PID/stat field 22), or null where unknown. */
function processStartTime(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const t = Number(fields[19]);
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/**
 * Whether pid still runs. A zombie does not: it has exited and waits for its parent to reap
 * it (Open MPI's mpirun exits without reaping the ranks it killed, and a container's init may
 * take a second or more to), yet signal 0 still reaches it.
 */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true; // no /proc: signal 0 is all there is
  }
}

function copyDurably(from: string, to: string): void {
  fs.copyFileSync(from, to);
  const fd = fs.openSync(to, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported everywhere; the rename itself is atomic */
  }
}
