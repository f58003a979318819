/**
 * Progress on stderr. On a terminal: a cli-progress bar. Otherwise (logs, CI, nohup,
 * pipes): plain lines, one at the first update, then at most one every
 * BIGGAN_PROGRESS_INTERVAL seconds (default 15), and one at the end, each with the
 * count, rate, ETA and the payload, so a long command never goes silent and a log
 * never fills with bar redraws.
 *
 * Payload fields are named in the bar's format as {name}; every name the format uses
 * starts as '' (cli-progress would otherwise print the raw template, e.g. "{loss}").
 */
import cliProgress from 'cli-progress';

export type Payload = Record<string, string | number>;

export interface Progress {
  update(done: number, payload?: Payload): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Default: whether stderr is a terminal. */
  tty?: boolean;
  /** Seconds between plain lines (default $BIGGAN_PROGRESS_INTERVAL, else 15). */
  intervalSeconds?: number;
  /** Where lines go (default stderr). */
  write?: (text: string) => void;
  /** Where the terminal bar goes (default stderr). */
  stream?: NodeJS.WriteStream;
  /** Clock in ms (tests). */
  now?: () => number;
}

export const DEFAULT_PROGRESS_INTERVAL_S = 15;

/** BIGGAN_PROGRESS_INTERVAL (seconds, > 0), else the default. */
export function progressIntervalSeconds(): number {
  const v = Number(process.env.BIGGAN_PROGRESS_INTERVAL);
  return process.env.BIGGAN_PROGRESS_INTERVAL !== undefined && Number.isFinite(v) && v > 0 ? v : DEFAULT_PROGRESS_INTERVAL_S;
}

/** The {names} of a format's payload fields (not cli-progress's own). */
function payloadKeys(format: string): string[] {
  const own = new Set(['bar', 'value', 'total', 'percentage', 'eta', 'eta_formatted', 'duration', 'duration_formatted']);
  return [...format.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).filter((k) => !own.has(k));
}

/**
 * A progress display for `total` units. `extraFormat` is appended to the line, with
 * payload fields as {name} (e.g. ' | loss {loss}').
 */
export function progressBar(total: number, label: string, extraFormat = '', opts: ProgressOptions = {}): Progress {
  const blank: Payload = Object.fromEntries(payloadKeys(extraFormat).map((k) => [k, '']));
  if (!(opts.tty ?? process.stderr.isTTY)) return new LineProgress(total, label, extraFormat, blank, opts);
  const bar = new cliProgress.SingleBar(
    {
      stream: opts.stream ?? process.stderr,
      format: `${label} |{bar}| {value}/{total} | {percentage}% | ETA {eta_formatted}${extraFormat}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, blank);
  let last = 0;
  return {
    // the same count again only changes the payload: feeding it to cli-progress's ETA would make it INF / NULL
    update: (done, payload) => (done === last ? bar.update(payload ?? {}) : ((last = done), bar.update(done, payload))),
    stop: () => bar.stop(),
  };
}

/** Plain progress lines at a bounded interval (non-terminal output). */
export class LineProgress implements Progress {
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly started: number;
  private payload: Payload;
  private done = 0;
  /** The first update: rates count from it (the command may resume part-way). */
  private first: { done: number; t: number } | null = null;
  private lastLine = -Infinity;
  private printedDone = -1;
  private printedAny = false;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly extraFormat: string,
    blank: Payload,
    opts: ProgressOptions,
  ) {
    this.write = opts.write ?? ((t) => void process.stderr.write(t));
    this.now = opts.now ?? (() => performance.now());
    this.intervalMs = 1000 * (opts.intervalSeconds ?? progressIntervalSeconds());
    this.started = this.now();
    this.payload = { ...blank };
  }

  update(done: number, payload?: Payload): void {
    const t = this.now();
    this.first ??= { done, t };
    this.done = done;
    if (payload) this.payload = { ...this.payload, ...payload };
    if (!this.printedAny || t - this.lastLine >= this.intervalMs || (done >= this.total && this.printedDone !== done)) this.print(t);
  }

  stop(): void {
    if (this.printedAny && this.printedDone !== this.done) this.print(this.now());
  }

  /** The line for the current state (no newline). */
  line(t = this.now()): string {
    const pct = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    const seconds = (t - this.started) / 1000;
    const f = this.first;
    const rate = f && t > f.t ? (this.done - f.done) / ((t - f.t) / 1000) : 0;
    const eta = this.done >= this.total ? 'done' : rate > 0 ? `ETA ${formatDuration((this.total - this.done) / rate)}` : 'ETA -';
    const extra = this.extraFormat.replace(/\{(\w+)\}/g, (_, k: string) => (k in this.payload ? String(this.payload[k]) : ''));
    return `${this.label} ${this.done}/${this.total} (${pct}%) | ${formatDuration(seconds)} elapsed, ${eta}${extra}`;
  }

  private print(t: number): void {
    this.write(`${this.line(t)}\n`);
    this.lastLine = t;
    this.printedDone = this.done;
    this.printedAny = true;
  }
}

/** 75 -> "1m15s", 3725 -> "1h02m", 8.2 -> "8s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
