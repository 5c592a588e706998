// The search page's server side (docs/operations.md, "The search page"):
//   GET  /dashboard/api/search-targets          the targets (name, index pattern, time field)
//   POST /dashboard/api/search/<target>/_search  a structured search, answered as JSON
// Sluice builds the `_search` body itself and sends it with the target's credentials to the
// target's indices only; any other path or method under /dashboard/api/search/ is refused.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { request } from 'undici';
import type { MonitorServer } from './http-server.ts';
import { sendJson } from './http-server.ts';
import { allowedIndex, buildSearch, SearchError, type SearchRequest } from './search-query.ts';
import { describeTarget, type SearchTarget } from './search-targets.ts';

const MAX_BODY = 64 * 1024;
const TIMEOUT_MS = 30_000;

interface EsHit {
  _index: string;
  _id: string;
  _source?: Record<string, unknown>;
  sort?: unknown[];
}

interface EsAnswer {
  took?: number;
  timed_out?: boolean;
  hits?: { total?: { value: number; relation: string } | number; hits?: EsHit[] };
  aggregations?: {
    histogram?: { buckets: { key: number; doc_count: number }[] };
    top?: {
      buckets: { key: unknown; key_as_string?: string; doc_count: number }[];
      sum_other_doc_count: number;
    };
  };
  _shards?: { failed?: number; failures?: { reason?: { type?: string; reason?: string } }[] };
  error?: { type?: string; reason?: string; root_cause?: { type?: string; reason?: string }[] } | string;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (b: Buffer) => {
      n += b.length;
      if (n > MAX_BODY) {
        reject(
          new SearchError(413, 'SEARCH_BODY_TOO_LARGE', `a search request is at most ${MAX_BODY} bytes`),
        );
        req.destroy();
        return;
      }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function reasonOf(a: EsAnswer, text: string): string {
  const e = a.error;
  if (typeof e === 'string') return e;
  const root = e?.root_cause?.[0];
  return root?.reason ?? e?.reason ?? text.slice(0, 300);
}

export class SearchService {
  constructor(
    private readonly targets: Map<string, SearchTarget>,
    private readonly logger: Logger,
  ) {}

  mount(server: MonitorServer): void {
    server.route('/dashboard/api/search-targets', (_req, res) =>
      sendJson(res, 200, { targets: [...this.targets.values()].map(describeTarget) }),
    );
    server.route('/dashboard/api/search/', (req, res, url) => this.handle(req, res, url));
  }

  private async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      const rest = url.pathname.slice('/dashboard/api/search/'.length).split('/');
      const [rawName, api] = rest;
      if (rest.length !== 2 || api !== '_search' || req.method !== 'POST')
        throw new SearchError(
          403,
          'SEARCH_API_REFUSED',
          `only POST /dashboard/api/search/<target>/_search is served (got ${req.method} ${url.pathname.slice(0, 200)})`,
        );
      const name = decodeURIComponent(rawName ?? '');
      const target = this.targets.get(name);
      if (!target)
        throw new SearchError(404, 'SEARCH_UNKNOWN_TARGET', `no search target named '${name.slice(0, 100)}'`);
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
        throw new SearchError(415, 'SEARCH_BAD_REQUEST', 'the request body must be application/json');
      let body: SearchRequest;
      try {
        body = JSON.parse(await readBody(req)) as SearchRequest;
      } catch (e) {
        if (e instanceof SearchError) throw e;
        throw new SearchError(400, 'SEARCH_BAD_REQUEST', 'the request body is not JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new SearchError(400, 'SEARCH_BAD_REQUEST', 'the request body must be a JSON object');
      const index = allowedIndex(target.index, body.index);
      sendJson(res, 200, await this.search(target, index, body));
    } catch (e) {
      if (e instanceof SearchError) return sendJson(res, e.status, { error: e.message, code: e.code }, false);
      throw e;
    }
  }

  private async search(target: SearchTarget, index: string, req: SearchRequest): Promise<unknown> {
    const now = Date.now();
    if (req.top !== undefined) return this.topValues(target, index, req, now);
    const built = buildSearch(req, target.timeField, now);
    const a = await this.send(target, index, built.body);
    const total = a.hits?.total;
    return {
      index,
      timeField: target.timeField,
      took: a.took,
      from: built.from,
      to: built.to,
      total: typeof total === 'number' ? total : (total?.value ?? 0),
      interval: built.interval,
      histogram: (a.aggregations?.histogram?.buckets ?? []).map((b) => ({ t: b.key, n: b.doc_count })),
      hits: (a.hits?.hits ?? []).map((h) => ({ _index: h._index, _id: h._id, _source: h._source ?? {} })),
      shardFailures: a._shards?.failed ?? 0,
    };
  }

  /**
   * Top values of a field: text fields are searched through their `.keyword` sub-field (how
   * Elasticsearch and OpenSearch map JSON strings by default), other fields directly.
   */
  private async topValues(target: SearchTarget, index: string, req: SearchRequest, now: number) {
    const field = String(req.top);
    const tries = field.endsWith('.keyword') ? [field] : [`${field}.keyword`, field];
    let last: EsAnswer | undefined;
    for (const f of tries) {
      const built = buildSearch(req, target.timeField, now, f);
      try {
        last = await this.send(target, index, built.body);
      } catch (e) {
        // a text field without a keyword sub-field cannot be aggregated: no top values
        if (e instanceof SearchError && e.code === 'SEARCH_BAD_QUERY' && f === field) break;
        throw e;
      }
      const buckets = last.aggregations?.top?.buckets ?? [];
      if (buckets.length > 0 || f === tries[tries.length - 1])
        return {
          field,
          aggregated: f,
          values: buckets.map((b) => ({ value: b.key_as_string ?? b.key, count: b.doc_count })),
          other: last.aggregations?.top?.sum_other_doc_count ?? 0,
        };
    }
    return { field, aggregated: null, values: [], other: 0 };
  }

  /** One read-only `_search` on the target's servers, tried in turn while they cannot be reached. */
  private async send(target: SearchTarget, index: string, body: Record<string, unknown>): Promise<EsAnswer> {
    // A pattern that starts with `*` (an index_name that is only a placeholder) would also
    // match the cluster's own dot-indices: they are excluded.
    const expr = index.split(',').some((p) => p.trim().startsWith('*')) ? `${index},-.*` : index;
    const path = `/${encodeURIComponent(expr).replace(/%2A/gi, '*').replace(/%2C/gi, ',')}/_search?ignore_unavailable=true&allow_no_indices=true`;
    let lastError: Error | undefined;
    for (const server of target.servers) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (server.authorization) headers.authorization = server.authorization;
      let status: number;
      let text: string;
      try {
        const r = await request(`${server.base}${path}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          dispatcher: target.agent,
          headersTimeout: TIMEOUT_MS,
          bodyTimeout: TIMEOUT_MS,
        });
        status = r.statusCode;
        text = await r.body.text();
      } catch (e) {
        lastError = e as Error;
        continue;
      }
      let a: EsAnswer;
      try {
        a = JSON.parse(text) as EsAnswer;
      } catch {
        throw new SearchError(502, 'SEARCH_CLUSTER_ERROR', `the cluster answered ${status} and not JSON`);
      }
      if (status === 400)
        throw new SearchError(400, 'SEARCH_BAD_QUERY', `the cluster refused the query: ${reasonOf(a, text)}`);
      if (status === 401 || status === 403)
        throw new SearchError(
          502,
          'SEARCH_CLUSTER_AUTH',
          `the cluster refused Sluice's credentials (${status}): ${reasonOf(a, text)}`,
        );
      if (status >= 300)
        throw new SearchError(
          502,
          'SEARCH_CLUSTER_ERROR',
          `the cluster answered ${status}: ${reasonOf(a, text)}`,
        );
      return a;
    }
    this.logger.warn(
      { code: 'SEARCH_CLUSTER_UNREACHABLE', target: target.name, err: lastError?.message },
      'search: no server of the target answered',
    );
    throw new SearchError(
      502,
      'SEARCH_CLUSTER_UNREACHABLE',
      `no server of '${target.name}' answered: ${lastError?.message ?? 'no servers'}`,
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.agent.close().catch(() => {})));
  }
}
