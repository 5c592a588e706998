// The servers a bulk request may go to (host/port, or hosts), and the HTTP client.
//
// Why undici and not an official client: @elastic/elasticsearch (8.x) refuses to talk to
// OpenSearch ("The client noticed that the server is not a supported distribution of
// Elasticsearch", fluent-plugin-elasticsearch #915 is the Ruby side of the same check), and
// @opensearch-project/opensearch is for OpenSearch; Sluice must speak to both with one
// implementation. The bulk API is one POST of NDJSON, which undici (already the HTTP client
// of out_http) sends from a Buffer written straight from the chunk, over a keep-alive pool,
// with the raw response text to read: no per-document objects on the way in or out, which
// either official client would build (they serialise a JS array of actions and documents).
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { ConfigError, type SourceLocation } from '../../../core/errors.ts';
import type { Params } from './params.ts';

const TLS_VERSIONS: Record<string, string> = {
  TLSv1: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

export interface Server {
  /** scheme://host:port */
  origin: string;
  /** path prefix without a trailing slash ('' for none) */
  prefix: string;
  authorization?: string;
  /** ms since the epoch before which this server is skipped (it failed), while another answers */
  deadUntil: number;
}

function basic(user: string | undefined, password: string | undefined): string | undefined {
  if (user === undefined && password === undefined) return undefined;
  return `Basic ${Buffer.from(`${user ?? ''}:${password ?? ''}`).toString('base64')}`;
}

function trimPath(path: string | undefined): string {
  if (!path) return '';
  const p = path.startsWith('/') ? path : `/${path}`;
  return p.replace(/\/+$/, '');
}

/** The servers of host/port/scheme/path, or of hosts (fluent-plugin-elasticsearch's get_connection_options). */
export function parseServers(p: Params, where: SourceLocation | undefined): Server[] {
  const auth = basic(p.user, p.password);
  if (!p.hosts) {
    const host = p.host.includes(':') && !p.host.startsWith('[') ? `[${p.host}]` : p.host;
    return [
      {
        origin: `${p.scheme}://${host}:${p.port}`,
        prefix: trimPath(p.path),
        authorization: auth,
        deadUntil: 0,
      },
    ];
  }
  const servers: Server[] = [];
  for (const raw of p.hosts.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    let url: URL;
    try {
      url = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? new URL(s) : new URL(`${p.scheme}://${s}`);
    } catch (e) {
      throw new ConfigError(
        `ES_BAD_HOSTS: hosts: '${s}' is not host:port or a URL (${(e as Error).message})`,
        where,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError(`ES_BAD_HOSTS: hosts: '${s}': the scheme must be http or https`, where);
    const port = url.port || String(p.port);
    const user = url.username ? decodeURIComponent(url.username) : p.user;
    const password = url.password ? decodeURIComponent(url.password) : p.password;
    servers.push({
      origin: `${url.protocol}//${url.hostname}:${port}`,
      prefix: trimPath(url.pathname !== '/' ? url.pathname : p.path),
      authorization: basic(user, password),
      deadUntil: 0,
    });
  }
  if (servers.length === 0) throw new ConfigError('ES_BAD_HOSTS: hosts names no server', where);
  return servers;
}

/** The keep-alive pool every request goes through; timeouts from request_timeout. */
export function createAgent(p: Params, where: SourceLocation | undefined): Dispatcher {
  const tls: Record<string, unknown> = { rejectUnauthorized: p.ssl_verify };
  const min = p.ssl_min_version ?? (p.ssl_version === 'SSLv23' ? undefined : p.ssl_version);
  if (min) tls.minVersion = TLS_VERSIONS[min];
  if (p.ssl_max_version) tls.maxVersion = TLS_VERSIONS[p.ssl_max_version];
  if (p.ca_file) {
    try {
      tls.ca = readFileSync(p.ca_file);
    } catch (e) {
      throw new ConfigError(
        `ES_CA_FILE: ca_file cannot be read: ${p.ca_file} (${(e as Error).message})`,
        where,
      );
    }
  }
  const timeout = Math.max(1, Math.round(p.request_timeout * 1000));
  return new Agent({
    connections: 8,
    keepAliveTimeout: 4000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connect: { timeout: Math.min(timeout, 10_000), ...tls },
  });
}

/** Round robin over the servers, skipping those that failed lately while another is alive. */
export class Servers {
  private next = 0;

  constructor(
    readonly list: Server[],
    private readonly resurrectMs: number,
  ) {}

  pick(now = Date.now()): Server {
    const n = this.list.length;
    for (let k = 0; k < n; k++) {
      const s = this.list[(this.next + k) % n]!;
      if (s.deadUntil <= now) {
        this.next = (this.next + k + 1) % n;
        return s;
      }
    }
    // all failed lately: try them in turn anyway
    const s = this.list[this.next % n]!;
    this.next = (this.next + 1) % n;
    return s;
  }

  failed(s: Server, now = Date.now()): void {
    if (this.list.length > 1) s.deadUntil = now + this.resurrectMs;
  }
}
