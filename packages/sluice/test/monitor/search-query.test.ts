// The search page's request checks and the `_search` body Sluice builds (the e2e test,
// test/e2e/monitor-search.test.ts, runs them against OpenSearch): what a browser may not
// reach, and the shape of the query it gets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowedIndex,
  buildSearch,
  histogramInterval,
  parseTime,
  SearchError,
} from '../../src/monitor/search-query.ts';
import { placeholdersToWildcards, serversOf } from '../../src/monitor/search-targets.ts';

const NOW = Date.parse('2026-12-06T12:00:00Z');

function refused(fn: () => unknown, status: number, code: string) {
  assert.throws(fn, (e: unknown) => e instanceof SearchError && e.status === status && e.code === code);
}

describe('search request checks', () => {
  it('reads now, now-<n><unit>, ISO 8601 and epoch ms', () => {
    assert.equal(parseTime('now', NOW, 'from'), NOW);
    assert.equal(parseTime('now-15m', NOW, 'from'), NOW - 15 * 60_000);
    assert.equal(parseTime('now-7d', NOW, 'from'), NOW - 7 * 86_400_000);
    assert.equal(parseTime('now+1h', NOW, 'to'), NOW + 3_600_000);
    assert.equal(parseTime('2026-12-06T11:00:00Z', NOW, 'from'), NOW - 3_600_000);
    assert.equal(parseTime(String(NOW), NOW, 'from'), NOW);
    refused(() => parseTime('yesterday', NOW, 'from'), 400, 'SEARCH_BAD_TIME');
    refused(() => parseTime('', NOW, 'from'), 400, 'SEARCH_BAD_TIME');
    refused(() => buildSearch({ from: 'now', to: 'now-1h' }, '@timestamp', NOW), 400, 'SEARCH_BAD_TIME');
  });

  it("allows the target's patterns and narrower ones inside them, nothing else", () => {
    assert.equal(allowedIndex('logstash-*', undefined), 'logstash-*');
    assert.equal(allowedIndex('logstash-*', ''), 'logstash-*');
    assert.equal(allowedIndex('logstash-*', 'logstash-2026.12.06'), 'logstash-2026.12.06');
    assert.equal(allowedIndex('logstash-*', 'logstash-2026.12*'), 'logstash-2026.12*');
    assert.equal(allowedIndex('archive-*,audit', 'audit'), 'audit');
    for (const bad of [
      'other',
      'logs*', // wider than logstash-*
      '*',
      '_all',
      'logstash-*,other',
      '-logstash-x',
      'remote:logstash-x',
      'logstash-x/_doc',
      'logstash-../x',
      'LOGSTASH-X',
      'audit2',
      42,
    ])
      refused(() => allowedIndex('archive-*,audit,logstash-*', bad), 403, 'SEARCH_INDEX_REFUSED');
  });

  it('turns index placeholders into wildcards', () => {
    assert.equal(placeholdersToWildcards('app-${tag}-%Y.%m.%d'), 'app-*-*.*.*');
    assert.equal(placeholdersToWildcards('Fluentd'), 'fluentd');
    assert.equal(placeholdersToWildcards('${tag[1]}${$.kubernetes.ns}'), '*');
  });

  it('reads servers as the outputs do, credentials from the URL or user/password', () => {
    assert.deepEqual(serversOf({ host: 'es', port: 9201, scheme: 'https', path: 'es/' }, 'x'), [
      { base: 'https://es:9201/es', authorization: undefined },
    ]);
    const [a, b] = serversOf({ hosts: 'http://u:p%40ss@a:9200, b:9300', user: 'r', password: 'pw' }, 'x');
    assert.equal(a!.base, 'http://a:9200');
    assert.equal(a!.authorization, `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    assert.equal(b!.base, 'http://b:9300');
    assert.equal(b!.authorization, `Basic ${Buffer.from('r:pw').toString('base64')}`);
  });
});

describe('the _search body', () => {
  it('time range, query_string, filters, histogram, newest first', () => {
    const built = buildSearch(
      {
        from: 'now-1h',
        to: 'now',
        q: 'levelname:ERROR',
        filters: [
          { field: 'name', value: 'app.payments' },
          { field: 'status', value: 500, negate: true },
          { field: 'trace_id', value: null },
        ],
        size: 50,
      },
      'ts',
      NOW,
    );
    assert.equal(built.from, NOW - 3_600_000);
    assert.equal(built.to, NOW);
    assert.deepEqual(built.interval, { name: '1m', ms: 60_000 });
    assert.deepEqual(built.body, {
      size: 50,
      track_total_hits: true,
      query: {
        bool: {
          filter: [
            { range: { ts: { gte: NOW - 3_600_000, lte: NOW, format: 'epoch_millis' } } },
            { query_string: { query: 'levelname:ERROR', analyze_wildcard: true } },
            { match_phrase: { name: 'app.payments' } },
          ],
          must_not: [{ match_phrase: { status: 500 } }, { exists: { field: 'trace_id' } }],
        },
      },
      sort: [{ ts: { order: 'desc', unmapped_type: 'date' } }],
      aggs: {
        histogram: {
          date_histogram: {
            field: 'ts',
            fixed_interval: '1m',
            min_doc_count: 0,
            extended_bounds: { min: NOW - 3_600_000, max: NOW },
          },
        },
      },
    });
  });

  it('top values: a terms aggregation and no documents', () => {
    const built = buildSearch({ from: 'now-1h', to: 'now', top: 'name' }, '@timestamp', NOW, 'name.keyword');
    assert.equal(built.body.size, 0);
    assert.deepEqual(built.body.aggs, { top: { terms: { field: 'name.keyword', size: 10 } } });
  });

  it('a histogram of about 60 bars or fewer, on round intervals', () => {
    assert.equal(histogramInterval(15 * 60_000).name, '30s');
    assert.equal(histogramInterval(24 * 3_600_000).name, '30m');
    assert.equal(histogramInterval(7 * 86_400_000).name, '3h');
    assert.equal(histogramInterval(365 * 86_400_000).name, '7d');
    assert.equal(histogramInterval(50 * 365 * 86_400_000).name, '30d');
  });

  it('refuses what it cannot turn into a query', () => {
    const r = { from: 'now-1h', to: 'now' };
    refused(() => buildSearch({ ...r, size: 501 }, 't', NOW), 400, 'SEARCH_BAD_SIZE');
    refused(() => buildSearch({ ...r, size: 1.5 }, 't', NOW), 400, 'SEARCH_BAD_SIZE');
    refused(() => buildSearch({ ...r, q: 'x'.repeat(5000) }, 't', NOW), 400, 'SEARCH_BAD_QUERY');
    refused(
      () => buildSearch({ ...r, filters: [{ field: 'a b', value: 1 }] }, 't', NOW),
      400,
      'SEARCH_BAD_FIELD',
    );
    refused(
      () => buildSearch({ ...r, filters: [{ field: 'a', value: { b: 1 } as never }] }, 't', NOW),
      400,
      'SEARCH_BAD_FILTER',
    );
    refused(() => buildSearch({ ...r, filters: 'a:b' as never }, 't', NOW), 400, 'SEARCH_BAD_FILTER');
    refused(() => buildSearch({ ...r, top: '*' }, 't', NOW), 400, 'SEARCH_BAD_FIELD');
  });
});
