// Helpers of the out_elasticsearch tests: chunks as the buffer hands them out, a reader of what
// the index holds, and a real HTTP proxy on 127.0.0.1 in front of the OpenSearch node that
// speaks the bulk protocol: it can refuse chosen documents with 429 (passing the others on and
// merging the node's answers back into one bulk response, items in request order), hold a
// response past the client's timeout, or answer a whole request with a status.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** A chunk as the buffer engine hands one to write(); the id is a fresh 32-hex chunk id unless given. */
export { chunkOf } from '../../../helpers/chunk.ts';

export interface Hit {
  _id: string;
  _index: string;
  _routing?: string;
  _source: Record<string, unknown>;
}

/** Every document of `index` (a name or pattern), after a refresh. */
export async function hitsOf(url: string, index: string): Promise<Hit[]> {
  await fetch(`${url}/${index}/_refresh`, { method: 'POST' });
  const res = await fetch(`${url}/${index}/_search?size=10000&sort=_doc`, { method: 'GET' });
  if (res.status === 404) return [];
  const body = (await res.json()) as { hits?: { hits: Hit[] }; error?: unknown };
  if (!body.hits) throw new Error(`search ${index}: ${JSON.stringify(body)}`);
  return body.hits.hits;
}

/** Every document of `index`, however many (the scroll API), after a refresh. */
export async function allHits(url: string, index: string): Promise<Hit[]> {
  await fetch(`${url}/${index}/_refresh`, { method: 'POST' });
  const out: Hit[] = [];
  let res = (await json(url, `/${index}/_search?scroll=1m&size=5000&sort=_doc`)) as {
    _scroll_id?: string;
    hits?: { hits: Hit[] };
  };
  while (res.hits && res.hits.hits.length > 0) {
    out.push(...res.hits.hits);
    res = (await json(url, '/_search/scroll', 'POST', {
      scroll: '1m',
      scroll_id: res._scroll_id,
    })) as typeof res;
  }
  if (res._scroll_id) await json(url, '/_search/scroll', 'DELETE', { scroll_id: res._scroll_id });
  return out;
}

/** The number of documents in `index`, after a refresh (0 when it does not exist). */
export async function countOf(url: string, index: string): Promise<number> {
  await fetch(`${url}/${index}/_refresh`, { method: 'POST' });
  const body = (await json(url, `/${index}/_count`)) as { count?: number };
  return body.count ?? 0;
}

export async function json(url: string, path: string, method = 'GET', body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** bulk requests: [action, document] pairs as sent */
  docs?: { action: Record<string, Record<string, unknown>>; doc: unknown }[];
}

/** What the proxy does with a bulk request. */
export interface Plan {
  /** answer 429 (es_rejected_execution_exception) for these documents, by their place in the request */
  reject429?: (doc: { action: Record<string, unknown>; doc: unknown; attempt: number }) => boolean;
  /** hold the node's answer this long (ms) before sending it (the client may time out) */
  delayMs?: number;
  /** answer the whole request with this status, node untouched */
  status?: number;
  /** answer with this status and JSON body, node untouched (GET / claiming another server) */
  answer?: { status: number; body: unknown };
}

/** A real HTTP(S) proxy in front of `target` that speaks the bulk protocol (see the top of this file). */
export class BulkProxy {
  readonly requests: ProxiedRequest[] = [];
  /** how many times each _id was sent */
  readonly attempts = new Map<string, number>();
  plan: (r: ProxiedRequest) => Plan = () => ({});
  /** a path prefix the proxy strips (a server behind a reverse proxy at /es) */
  prefix = '';
  /** documents passed on to the node so far */
  forwarded = 0;
  private server: http.Server;
  private pending = new Set<NodeJS.Timeout>();
  private bulkWaiters: (() => void)[] = [];

  constructor(
    private readonly target: string,
    tls?: { cert: Buffer; key: Buffer; minVersion?: 'TLSv1.3' },
  ) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks), res).catch((e: Error) => {
          res.writeHead(502);
          res.end(String(e.message));
        });
      });
    };
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    let path = req.url ?? '/';
    if (this.prefix) {
      if (!path.startsWith(this.prefix)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `not under ${this.prefix}` }));
        return;
      }
      path = path.slice(this.prefix.length) || '/';
    }
    const r: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    const isBulk = /\/_bulk(\?|$)/.test(path);
    if (isBulk) {
      const lines = body
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      r.docs = [];
      for (let i = 0; i + 1 < lines.length; i += 2)
        r.docs.push({ action: JSON.parse(lines[i]!), doc: JSON.parse(lines[i + 1]!) });
    }
    this.requests.push(r);
    const plan = this.plan(r);
    if (plan.answer) {
      res.writeHead(plan.answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(plan.answer.body));
      return;
    }
    if (plan.status) {
      res.writeHead(plan.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { type: 'injected', reason: `status ${plan.status} from the test proxy` } }),
      );
      return;
    }
    let status: number;
    let text: string;
    if (isBulk && r.docs) {
      // decide per document, send the rest to the node, merge the answers in request order
      const refused: boolean[] = r.docs.map(({ action, doc }) => {
        const meta = Object.values(action)[0] as Record<string, unknown>;
        const id = String(meta._id ?? '');
        const attempt = (this.attempts.get(id) ?? 0) + 1;
        this.attempts.set(id, attempt);
        return plan.reject429?.({ action: meta, doc, attempt }) ?? false;
      });
      const forward = r.docs.filter((_, i) => !refused[i]);
      let nodeItems: unknown[] = [];
      let took = 0;
      let errors = refused.some(Boolean);
      if (forward.length > 0) {
        // _type (sent to an Elasticsearch 6 or 7 that GET / claimed) is kept in r.docs for the
        // test to read and taken out for the node: OpenSearch 2 refuses the whole request with it
        const actionLine = (a: Record<string, Record<string, unknown>>) => {
          const [op, meta] = Object.entries(a)[0]!;
          if (meta._type === undefined) return JSON.stringify(a);
          const { _type, ...rest } = meta;
          return JSON.stringify({ [op]: rest });
        };
        const ndjson = `${forward.map((d) => `${actionLine(d.action)}\n${JSON.stringify(d.doc)}\n`).join('')}`;
        const up = await fetch(`${this.target}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: ndjson,
        });
        const answer = (await up.json()) as { took: number; errors: boolean; items: unknown[] };
        this.forwarded += forward.length;
        nodeItems = answer.items;
        took = answer.took;
        errors ||= answer.errors;
      }
      let k = 0;
      const items = r.docs.map(({ action }, i) => {
        if (!refused[i]) return nodeItems[k++];
        const op = Object.keys(action)[0]!;
        const meta = Object.values(action)[0] as Record<string, unknown>;
        return {
          [op]: {
            _index: meta._index,
            _id: meta._id,
            status: 429,
            error: {
              type: 'es_rejected_execution_exception',
              reason: 'rejected execution of coordinating operation (injected by the test proxy)',
            },
          },
        };
      });
      status = 200;
      text = JSON.stringify({ took, errors, items });
    } else {
      const up = await fetch(`${this.target}${path}`, {
        method: r.method,
        headers: req.headers['content-type'] ? { 'content-type': String(req.headers['content-type']) } : {},
        body: r.method === 'GET' || r.method === 'HEAD' ? undefined : body,
      });
      status = up.status;
      text = await up.text();
    }
    const send = () => {
      if (!res.destroyed) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      }
      if (isBulk) for (const w of this.bulkWaiters.splice(0)) w();
    };
    if (plan.delayMs) {
      const t = setTimeout(() => {
        this.pending.delete(t);
        send();
      }, plan.delayMs);
      this.pending.add(t);
    } else send();
  }

  /** Resolves true once the next bulk request has been answered, false after `ms` without one. */
  nextBulk(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.bulkWaiters = this.bulkWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.bulkWaiters.push(done);
    });
  }

  /** Resolves once `cond()` holds after some bulk request was answered (checked at once too); bounded. */
  async until(cond: () => boolean | Promise<boolean>, what: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await this.nextBulk(Math.min(left, 2_000));
    }
  }

  /** Bulk requests seen so far. */
  bulks(): ProxiedRequest[] {
    return this.requests.filter((r) => r.docs);
  }

  close(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
