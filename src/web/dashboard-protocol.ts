/**
 * What the training dashboard's server sends its page (`biggan dashboard`, `biggan train --dashboard`):
 * GET /api/run answers a RunSnapshot; GET /api/events is a server-sent-event stream that starts
 * with a `snapshot` event and then carries the changes. Platform-neutral (no node:*): the page
 * (web/dashboard) and the server (dashboard-server.ts) both compile against it.
 */

/** A record of DIR/log.jsonl (src/train/run/run-log.ts documents the types and fields). */
export interface DashboardRecord {
  type: string;
  step: number;
  [key: string]: unknown;
}

/** A sample sheet in DIR/samples (step-XXXXXXXX.png, final.png), oldest first in lists. */
export interface SampleSheetEntry {
  name: string;
  /** The iteration it shows; null for final.png (the end of the run). */
  step: number | null;
  /** Path on the dashboard server, with the file's mtime as a query so a rewritten sheet is fetched anew. */
  url: string;
}

export interface RunSnapshot {
  /** The run directory (absolute). */
  dir: string;
  /** Every complete record of log.jsonl so far, in file order. */
  records: DashboardRecord[];
  samples: SampleSheetEntry[];
  /** DIR/config.json, or null while it does not exist (yet). */
  config: Record<string, unknown> | null;
  /** A live process holds the run's lock (DIR/.lock): training is under way. */
  training: boolean;
  /** Complete log lines that were not JSON records (skipped). */
  badLines: number;
}

/**
 * The stream's events, by SSE event name. `snapshot` replaces everything the page knows (first
 * event of every connection, and after the log was replaced: a fresh run or a resume that dropped
 * records); the others update one part; `closing` says the server is about to stop: the page
 * fetches what it still shows (the newest sample sheet), then answers POST /api/closed.
 */
export interface DashboardEvents {
  snapshot: RunSnapshot;
  records: { records: DashboardRecord[]; badLines: number };
  samples: SampleSheetEntry[];
  config: Record<string, unknown> | null;
  training: boolean;
  closing: { reason: string };
}

export type DashboardEventName = keyof DashboardEvents;

export const DASHBOARD_EVENTS: readonly DashboardEventName[] = ['snapshot', 'records', 'samples', 'config', 'training', 'closing'];

/** `biggan dashboard` / `biggan train --dashboard` listen here unless given a port (0: any free port). */
export const DASHBOARD_DEFAULT_PORT = 6006;
