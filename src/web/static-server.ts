/**
 * A local HTTP server for the browser apps (`biggan explore`, `biggan dashboard`): static files
 * from one or more folders (sirv), optional extra routes, and — for the explorer — the two headers
 * that make the page cross-origin isolated, which multi-threaded WebAssembly needs.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { UserError } from '../errors.js';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface StaticServerOptions {
  /** Folders served at the root, first match wins. */
  roots: string[];
  port?: number;
  host?: string;
  /** Send COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer, WebAssembly threads). */
  crossOriginIsolated?: boolean;
  /** Handlers tried before the static files; return true when handled. */
  routes?: Route[];
}

export interface RunningServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export async function startStaticServer(opts: StaticServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const handlers = opts.roots.map((dir) => sirv(dir, { dev: true, etag: true, dotfiles: false }));
  const server = http.createServer((req, res) => {
    if (opts.crossOriginIsolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    try {
      for (const route of opts.routes ?? []) if (route(req, res)) return;
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err instanceof Error ? err.message : String(err));
      return;
    }
    let i = 0;
    const next = (): void => {
      const h = handlers[i++];
      if (h) h(req, res, next);
      else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    };
    next();
  });
  const port = opts.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UserError(`port ${port} on ${host} is in use (give another with --port)`));
      else if (err.code === 'EACCES') reject(new UserError(`no permission to listen on ${host}:${port}`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UserError(`cannot listen on host ${host}: ${err.code}`));
      else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/`,
    port: bound,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Where the built browser apps live (dist/web/<app>, made by `npm run build`). */
export async function webAppDir(app: 'explorer' | 'dashboard'): Promise<string> {
  // this file is dist/src/web/static-server.js; the apps are dist/web/<app>
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', app);
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    throw new UserError(`the ${app} web app is not built (${dir} is missing); run \`npm run build\``);
  }
  return dir;
}
