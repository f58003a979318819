/**
 * The training dashboard's server (`biggan dashboard DIR`, `biggan train --dashboard`): the page
 * built from web/dashboard, and for it
 *
 *   GET /api/run               the run as JSON (dashboard-protocol.ts RunSnapshot)
 *   GET /api/events            server-sent events: a `snapshot`, then the changes as they happen
 *   GET /samples/<sheet>.png   the run's sample sheets (step-XXXXXXXX.png, final.png)
 *   POST /api/closed           a page has what it needs after a `closing` event
 *
 * A RunWatch polls the run directory; every change goes to every open event stream. Closing
 * (training ended) sends the last changes and `closing`, then keeps serving until every page said
 * /api/closed or CLOSE_GRACE_MS passed: the last changes name the final sample sheet, which the
 * pages can only fetch while the server is still there.
 */
import type http from 'node:http';
import fs from 'node:fs';
import { startStaticServer, webAppDir, type RunningServer } from './static-server.js';
import { RunWatch, type RunChange } from './run-watch.js';
import { DASHBOARD_DEFAULT_PORT } from './dashboard-protocol.js';

export interface DashboardOptions {
  /** The run directory: checked to be a run (RunWatch.existing) unless `live`. */
  dir: string;
  /** Default DASHBOARD_DEFAULT_PORT; 0 picks a free port. */
  port?: number;
  host?: string;
  /** The run is being created by this process (`biggan train --dashboard`): the folder may not exist yet. */
  live?: boolean;
  /** Milliseconds between polls of the run directory (default 500). */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  /** Sends what is new, tells the pages why the server goes (they stop reconnecting), then stops. */
  close(reason: string): Promise<void>;
}

/** Comments on the stream this often, so proxies and browsers keep an idle connection open. */
const KEEPALIVE_MS = 15_000;
/** Longest wait at close for the pages to fetch what the last changes name. */
const CLOSE_GRACE_MS = 5000;

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const watch = opts.live ? new RunWatch(opts.dir) : RunWatch.existing(opts.dir);
  if (opts.live) watch.poll();
  const clients = new Set<http.ServerResponse>();
  let pagesDone = 0;
  let allDone: (() => void) | null = null;

  // Server-sent events by hand (no library: the protocol is a few lines): a text/event-stream
  // response that stays open, one message per change as "event: NAME\ndata: JSON\n\n" (JSON.stringify
  // never emits a raw newline, so one data line suffices); lines starting with ':' are comments.
  const send = (res: http.ServerResponse, [event, data]: RunChange): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcast = (changes: RunChange[]): void => {
    for (const change of changes) for (const res of clients) send(res, change);
  };

  const events = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 2000\n\n'); // the browser's reconnection delay after a dropped connection
    send(res, ['snapshot', watch.snapshot()]);
    clients.add(res);
    req.on('close', () => clients.delete(res));
  };

  const json = (res: http.ServerResponse, value: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(JSON.stringify(value));
  };

  const sheet = (res: http.ServerResponse, name: string): void => {
    const file = watch.sheetFile(name);
    const stream = file ? fs.createReadStream(file) : null;
    const missing = (): void => {
      if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    };
    if (!stream) return missing();
    stream.once('open', () => {
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-cache' });
      stream.pipe(res);
    });
    stream.once('error', missing);
  };

  const server: RunningServer = await startStaticServer({
    roots: [await webAppDir('dashboard')],
    port: opts.port ?? DASHBOARD_DEFAULT_PORT,
    host: opts.host,
    routes: [
      (req, res) => {
        const { pathname } = new URL(req.url ?? '/', 'http://localhost');
        if (pathname === '/api/closed' && req.method === 'POST') {
          res.writeHead(204).end();
          pagesDone++;
          allDone?.();
          return true;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') return false;
        if (pathname === '/api/run') json(res, watch.snapshot());
        else if (pathname === '/api/events' && req.method === 'GET') events(req, res);
        else if (pathname.startsWith('/samples/')) sheet(res, pathname.slice('/samples/'.length));
        else return false;
        return true;
      },
    ],
  });

  const poll = (): void => broadcast(watch.poll());
  const timer = setInterval(poll, opts.pollMs ?? 500);
  const keepalive = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, KEEPALIVE_MS);
  // the dashboard alone never keeps the process alive: `biggan dashboard` waits on the server,
  // `biggan train --dashboard` on its training
  timer.unref();
  keepalive.unref();

  let closed = false;
  return {
    url: server.url,
    port: server.port,
    close: async (reason) => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      clearInterval(keepalive);
      poll(); // the last records (the run's end) reach the pages before the server goes
      const pages = clients.size;
      broadcast([['closing', { reason }]]);
      for (const res of clients) res.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        const grace = setTimeout(resolve, CLOSE_GRACE_MS);
        allDone = () => {
          if (pagesDone < pages) return;
          clearTimeout(grace);
          resolve();
        };
        allDone();
      });
      await server.close();
    },
  };
}
