import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/**
 * One HTTP server per bind:port shared by the monitoring plugins (monitor_agent,
 * prometheus, the dashboard): two of them configured on the same port mount their routes
 * on one listener instead of failing with EADDRINUSE. Port 0 is never shared.
 */
export interface MonitorServer {
  readonly port: number;
  readonly url: string;
  /** Mounts a handler on an exact path, or on every path under a prefix ending in '/'. */
  route(path: string, handler: Handler): void;
  unroute(path: string): void;
  release(): Promise<void>;
}

interface Shared {
  server: Server;
  routes: Map<string, Handler>;
  refs: number;
  port: number;
}

const servers = new Map<string, Promise<Shared>>();

function findHandler(routes: Map<string, Handler>, path: string): Handler | undefined {
  const exact = routes.get(path);
  if (exact) return exact;
  let best: string | undefined;
  for (const p of routes.keys()) {
    if (p.endsWith('/') && path.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  }
  return best === undefined ? undefined : routes.get(best);
}

async function open(bind: string, port: number, logger: Logger): Promise<Shared> {
  const routes = new Map<string, Handler>();
  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request target"}');
      return;
    }
    const h = findHandler(routes, url.pathname);
    if (!h) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'Not found', path: url.pathname }));
      return;
    }
    Promise.resolve()
      .then(() => h(req, res, url))
      .catch((e: Error) => {
        logger.warn({ code: 'MONITOR_REQUEST_FAILED', err: e, path: url.pathname }, 'monitor request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'Internal Server Error', message: e.message }));
      });
  });
  // Scrapers and browsers keep connections open; they must not hold a stop or a reload.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => logger.error({ code: 'MONITOR_LISTEN_FAILED', err: e }, 'monitor server error'));
  return { server, routes, refs: 0, port: (server.address() as AddressInfo).port };
}

/** Opens (or joins) the monitor server on bind:port. Rejects with the listen error (EADDRINUSE...). */
export async function acquireServer(bind: string, port: number, logger: Logger): Promise<MonitorServer> {
  const key = `${bind}:${port}`;
  let p = port === 0 ? undefined : servers.get(key);
  if (!p) {
    p = open(bind, port, logger);
    if (port !== 0) {
      servers.set(key, p);
      p.catch(() => servers.delete(key));
    }
  }
  const shared = await p;
  shared.refs++;
  const mine = new Set<string>();
  const host = bind.includes(':') ? `[${bind}]` : bind;
  let released = false;
  return {
    port: shared.port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${shared.port}`,
    route(path, handler) {
      shared.routes.set(path, handler);
      mine.add(path);
    },
    unroute(path) {
      if (mine.delete(path)) shared.routes.delete(path);
    },
    async release() {
      if (released) return;
      released = true;
      for (const path of mine) shared.routes.delete(path);
      if (--shared.refs > 0) return;
      if (port !== 0) servers.delete(key);
      await new Promise<void>((resolve) => {
        shared.server.close(() => resolve());
        // Open SSE streams and idle keep-alive sockets would keep close() waiting.
        shared.server.closeAllConnections();
      });
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, pretty = false): void {
  const text = pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}
