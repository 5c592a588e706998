// The search page's request, checked, and the `_search` body Sluice builds from it: the
// browser sends structured parameters (time range, query_string, field filters), never a
// query DSL body or a path, so it cannot reach another index or another API.

export class SearchError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Filter {
  field: string;
  value: string | number | boolean | null;
  /** true: documents without this value */
  negate?: boolean;
}

export interface SearchRequest {
  /** one index (or pattern) within the target's patterns; the target's patterns when absent */
  index?: string;
  /** `now`, `now-15m` (s m h d w M y), ISO 8601 or epoch milliseconds */
  from: string;
  to: string;
  /** Lucene syntax, as Kibana's query bar (query_string) */
  q?: string;
  filters?: Filter[];
  /** documents returned, newest first (0..500, default 100) */
  size?: number;
  /** a field whose top values (terms aggregation) are wanted instead of documents */
  top?: string;
}

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Epoch ms of `now`, `now-15m`, `now+1h`, an ISO 8601 date or epoch ms. */
export function parseTime(v: unknown, now: number, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string' || !v.trim()) throw new SearchError(400, 'SEARCH_BAD_TIME', `${what}: missing`);
  const s = v.trim();
  const rel = /^now(?:([+-])(\d{1,6})([smhdwMy]))?$/.exec(s);
  if (rel) return rel[1] ? now + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * UNIT_MS[rel[3]!]! : now;
  if (/^\d{10,14}$/.test(s)) return Number(s);
  const ms = Date.parse(s);
  if (Number.isNaN(ms))
    throw new SearchError(
      400,
      'SEARCH_BAD_TIME',
      `${what}: '${s.slice(0, 60)}' is not now, now-<n><s|m|h|d|w|M|y>, an ISO 8601 date or epoch ms`,
    );
  return ms;
}

const INTERVALS: [string, number][] = [
  ['1s', 1e3],
  ['2s', 2e3],
  ['5s', 5e3],
  ['10s', 1e4],
  ['30s', 3e4],
  ['1m', 6e4],
  ['2m', 12e4],
  ['5m', 3e5],
  ['10m', 6e5],
  ['30m', 18e5],
  ['1h', 36e5],
  ['3h', 108e5],
  ['6h', 216e5],
  ['12h', 432e5],
  ['1d', 864e5],
  ['7d', 6048e5],
  ['30d', 2592e6],
];

/** The smallest round interval that cuts the range into at most ~60 bars. */
export function histogramInterval(spanMs: number): { name: string; ms: number } {
  for (const [name, ms] of INTERVALS) if (spanMs / ms <= 60) return { name, ms };
  const [name, ms] = INTERVALS[INTERVALS.length - 1]!;
  return { name, ms };
}

// Index names as Elasticsearch allows them, plus `*`: no comma (one index), no `:` (another
// cluster), no leading `-`/`_`/`+` (exclusions, _all and APIs), no path characters.
const INDEX_RE = /^[a-z0-9*][a-z0-9._*+-]{0,254}$/;

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * The index a request may search. A requested name (its `*` taken literally) must match one
 * of the target's patterns: then every index it expands to matches that pattern too.
 */
export function allowedIndex(targetIndex: string, requested: unknown): string {
  if (requested === undefined || requested === null || requested === '') return targetIndex;
  if (typeof requested !== 'string' || !INDEX_RE.test(requested) || requested.includes('..'))
    throw new SearchError(
      403,
      'SEARCH_INDEX_REFUSED',
      `index '${String(requested).slice(0, 100)}' is not one index name or pattern`,
    );
  const patterns = targetIndex.split(',').map((p) => p.trim());
  if (!patterns.some((p) => globToRegExp(p).test(requested)))
    throw new SearchError(
      403,
      'SEARCH_INDEX_REFUSED',
      `index '${requested}' is outside this target's indices (${targetIndex})`,
    );
  return requested;
}

const FIELD_RE = /^[^\s*"\\]{1,256}$/;

function checkField(f: unknown, what: string): string {
  if (typeof f !== 'string' || !FIELD_RE.test(f))
    throw new SearchError(
      400,
      'SEARCH_BAD_FIELD',
      `${what}: '${String(f).slice(0, 80)}' is not a field name`,
    );
  return f;
}

export interface Built {
  body: Record<string, unknown>;
  from: number;
  to: number;
  interval?: { name: string; ms: number };
}

const MAX_SIZE = 500;
export const TOP_VALUES = 10;

/** The `_search` body for a request; `topField` overrides req.top (the .keyword retry). */
export function buildSearch(req: SearchRequest, timeField: string, now: number, topField?: string): Built {
  const from = parseTime(req.from, now, 'from');
  const to = parseTime(req.to, now, 'to');
  if (to <= from) throw new SearchError(400, 'SEARCH_BAD_TIME', "'to' must be after 'from'");
  const filter: unknown[] = [{ range: { [timeField]: { gte: from, lte: to, format: 'epoch_millis' } } }];
  const mustNot: unknown[] = [];
  const q = typeof req.q === 'string' ? req.q.trim() : '';
  if (q.length > 4096) throw new SearchError(400, 'SEARCH_BAD_QUERY', 'the query is over 4096 characters');
  if (q) filter.push({ query_string: { query: q, analyze_wildcard: true } });
  if (req.filters !== undefined && !Array.isArray(req.filters))
    throw new SearchError(400, 'SEARCH_BAD_FILTER', 'filters must be a list');
  for (const f of (req.filters ?? []).slice(0, 50)) {
    const field = checkField(f?.field, 'filter');
    const value = f.value;
    let clause: unknown;
    if (value === null) clause = { exists: { field } };
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      clause = { match_phrase: { [field]: value } };
    else throw new SearchError(400, 'SEARCH_BAD_FILTER', `filter on ${field}: the value must be a scalar`);
    // A null value means "the field is missing": its negation is "the field exists".
    if (value === null ? !f.negate : f.negate) mustNot.push(clause);
    else filter.push(clause);
  }
  const query = { bool: mustNot.length ? { filter, must_not: mustNot } : { filter } };
  const top = topField ?? (req.top === undefined ? undefined : checkField(req.top, 'top'));
  if (top !== undefined)
    return {
      from,
      to,
      body: {
        size: 0,
        track_total_hits: true,
        query,
        aggs: { top: { terms: { field: top, size: TOP_VALUES } } },
      },
    };
  const size = req.size === undefined ? 100 : Number(req.size);
  if (!Number.isInteger(size) || size < 0 || size > MAX_SIZE)
    throw new SearchError(400, 'SEARCH_BAD_SIZE', `size must be an integer from 0 to ${MAX_SIZE}`);
  const interval = histogramInterval(to - from);
  return {
    from,
    to,
    interval,
    body: {
      size,
      track_total_hits: true,
      query,
      sort: [{ [timeField]: { order: 'desc', unmapped_type: 'date' } }],
      aggs: {
        histogram: {
          date_histogram: {
            field: timeField,
            fixed_interval: interval.name,
            min_doc_count: 0,
            extended_bounds: { min: from, max: to },
          },
        },
      },
    },
  };
}
