// Access to the dashboard (and its search page, which reads the shipped logs with the
// outputs' credentials) when monitor_agent is bound to more than the loopback interface:
// a bearer token, or HTTP basic auth. The monitoring API, /metrics and the probes stay open
// as in Fluentd (scrapers and kubelets carry no credentials).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, MonitorServer } from './http-server.ts';

export interface DashboardAuth {
  token?: string;
  user?: string;
  password?: string;
}

const COOKIE = 'sluice_dashboard';

function same(a: string, b: string): boolean {
  // Hashes of equal length: the comparison time says nothing about the secret.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Whether a bind address reaches only this machine. */
export function isLoopback(bind: string): boolean {
  return bind === 'localhost' || bind === '::1' || bind === '[::1]' || /^127\./.test(bind);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

function allowed(auth: DashboardAuth, req: IncomingMessage): boolean {
  const header = req.headers.authorization ?? '';
  if (auth.token !== undefined) {
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (bearer !== undefined && same(bearer.trim(), auth.token)) return true;
    const c = cookieValue(req, COOKIE);
    if (c !== undefined && same(c, auth.token)) return true;
  }
  if (auth.user !== undefined) {
    const b64 = /^Basic\s+(.+)$/i.exec(header)?.[1];
    if (b64 !== undefined) {
      const text = Buffer.from(b64.trim(), 'base64').toString('utf8');
      const i = text.indexOf(':');
      if (i >= 0) {
        // both compared, so the time does not tell whether the user name was right
        const userOk = same(text.slice(0, i), auth.user);
        const passwordOk = same(text.slice(i + 1), auth.password ?? '');
        if (userOk && passwordOk) return true;
      }
    }
  }
  return false;
}

function guard(auth: DashboardAuth, h: Handler): Handler {
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    // `?token=` once (a link someone was given) sets a cookie, and the token leaves the URL
    // so it is not kept in the history or sent on as a Referer.
    const given = url.searchParams.get('token');
    if (auth.token !== undefined && given !== null && same(given, auth.token) && req.method === 'GET') {
      url.searchParams.delete('token');
      const cookie = `${COOKIE}=${encodeURIComponent(auth.token)}; Path=/; HttpOnly; SameSite=Strict`;
      res.writeHead(303, { location: `${url.pathname}${url.search}`, 'set-cookie': cookie }).end();
      return;
    }
    if (allowed(auth, req)) return h(req, res, url);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    };
    if (auth.user !== undefined)
      headers['www-authenticate'] = 'Basic realm="Sluice dashboard", charset="UTF-8"';
    else headers['www-authenticate'] = 'Bearer realm="Sluice dashboard"';
    res.writeHead(401, headers).end(
      JSON.stringify({
        error:
          auth.token !== undefined
            ? 'this dashboard needs its token: open /dashboard/?token=<dashboard_token> or send Authorization: Bearer <token>'
            : 'this dashboard needs a user name and password (HTTP basic auth)',
        code: 'MONITOR_DASHBOARD_AUTH',
      }),
    );
  };
}

/** Whether a Host header names this machine (or is absent: browsers always send one). */
function loopbackHost(host: string | undefined): boolean {
  if (!host) return true;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return isLoopback(name.toLowerCase());
}

/**
 * Without credentials (a loopback bind) a page of another site could still reach the
 * dashboard by pointing its own name at 127.0.0.1 (DNS rebinding) and read the records and
 * searches as its own origin: such a request carries that site's name in Host, and is refused.
 */
function loopbackOnly(h: Handler): Handler {
  return (req, res, url) => {
    if (loopbackHost(req.headers.host)) return h(req, res, url);
    res.writeHead(403, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(
      JSON.stringify({
        error: `this dashboard answers requests to localhost / 127.0.0.1 only (Host: ${String(req.headers.host).slice(0, 100)}); set dashboard_token or dashboard_user to serve it under another name`,
        code: 'MONITOR_DASHBOARD_HOST',
      }),
    );
  };
}

/**
 * The server as the dashboard's routes see it: each handler behind the auth check when one
 * is set, else behind the loopback Host check.
 */
export function guardedServer(server: MonitorServer, auth: DashboardAuth | undefined): MonitorServer {
  const wrap = (h: Handler) => (auth ? guard(auth, h) : loopbackOnly(h));
  return {
    get port() {
      return server.port;
    },
    get url() {
      return server.url;
    },
    route: (path, handler) => server.route(path, wrap(handler)),
    unroute: (path) => server.unroute(path),
    release: () => server.release(),
  };
}
