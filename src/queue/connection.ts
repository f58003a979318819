/**
 * Where the job queue lives: a redis:// (or rediss:// for TLS) URL, parsed into the
 * connection options BullMQ takes, and a reachability check with a bounded wait, so a
 * wrong address is a one-line error rather than a client retrying forever.
 *   redis://[user:password@]HOST:PORT[/DB]
 */
import { UserError } from '../errors.js';

export interface QueueConnection {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
  /** BullMQ's workers block on Redis: their commands must not time out into errors. */
  maxRetriesPerRequest: null;
}

/** The URL as the user wrote it, without the password (for messages). */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export function parseQueueUrl(url: string): QueueConnection {
  const bad = (why: string): UserError => new UserError(`--queue ${redactedUrl(url)}: ${why} (expected redis://HOST:PORT, e.g. redis://127.0.0.1:6379)`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`unsupported scheme ${u.protocol.replace(/:$/, '')}`);
  if (!u.hostname) throw bad('no host');
  if (!u.port) throw bad('no port');
  const port = Number(u.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw bad(`port ${u.port} out of range`);
  if (u.search || u.hash) throw bad('query strings and fragments are not supported');
  const conn: QueueConnection = { host: u.hostname.replace(/^\[|\]$/g, ''), port, maxRetriesPerRequest: null };
  const dbPath = u.pathname.replace(/^\//, '');
  if (dbPath !== '') {
    if (!/^\d+$/.test(dbPath)) throw bad(`database '${dbPath}' is not a number`);
    conn.db = Number(dbPath);
  }
  if (u.username) conn.username = decodeURIComponent(u.username);
  if (u.password) conn.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') conn.tls = {};
  return conn;
}

/** Something BullMQ opened (Queue, Worker, QueueEvents): ready when connected, 'error' events while it is not. */
interface Connectable {
  waitUntilReady(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(): Promise<void>;
}

/** Resolves when `c` is connected; a UserError naming the URL after `timeoutMs` without a connection. */
export async function connected<T extends Connectable>(c: T, url: string, timeoutMs = 10_000): Promise<T> {
  let last = '';
  c.on('error', (err) => {
    last = err.message;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UserError(`cannot reach the queue's Redis at ${redactedUrl(url)} within ${timeoutMs / 1000} s${last ? ` (${last})` : ''}`)), timeoutMs);
  });
  try {
    await Promise.race([c.waitUntilReady(), timeout]);
    return c;
  } catch (err) {
    await c.close().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
