// Acceptance (issue 25 point 4): the dashboard's search page, in a headless Chromium (Debian's,
// driven by playwright-core), against a real OpenSearch holding seed 004-like logs (a Python
// service's python-json-logger records) that a Sluice opensearch output indexed. A query
// narrows the histogram and the table, a field value's click filters, a shared URL restores
// the view; a screenshot is kept under test-artifacts/. At the HTTP level, Sluice refuses a
// search of another index and any other API, and never hands out the cluster's credentials.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { freePort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { requireTool } from '../helpers/tools.ts';
import { waitUntil } from '../helpers/wait.ts';
import { type OpenSearchServer, startOpenSearch } from '../stores/opensearch.ts';

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));
const PASSWORD = 'never-in-the-browser-7f3a';

/** Seed 004's records as its dictConfig's JsonFormatter writes them, spread over the last 50 minutes. */
function seedRecords(now: number) {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 90; i++) {
    const t = now - 50 * 60_000 + i * 33_000;
    const level = i % 5 === 0 ? 'ERROR' : i % 3 === 0 ? 'WARNING' : 'INFO';
    const name = i % 2 === 0 ? 'app.orders' : 'app.payments';
    out.push({
      time: t / 1000,
      asctime: new Date(t).toISOString().replace('T', ' ').replace('.', ',').slice(0, 23),
      levelname: level,
      name,
      message: level === 'ERROR' ? `order ${1000 + i} failed: card declined` : `order ${1000 + i} processed`,
      order_id: 1000 + i,
    });
  }
  return out;
}

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function os(
  url: string,
  path: string,
  method = 'GET',
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

async function countOf(url: string, index: string): Promise<number> {
  await fetch(`${url}/${index}/_refresh`, { method: 'POST' });
  return (
    ((await os(url, `/${index}/_count?ignore_unavailable=true&allow_no_indices=true`)).count as number) ?? 0
  );
}

/** Runs `action` and waits for the page to finish the search it starts (the page numbers its searches). */
async function searched(page: Page, action: () => Promise<unknown>): Promise<number> {
  const before = Number((await page.getAttribute('body', 'data-ready')) ?? 0);
  await action();
  await page.waitForFunction(`Number(document.body.getAttribute('data-ready') || 0) > ${before}`, undefined, {
    timeout: 20_000,
  });
  const total = await page.getAttribute('#count', 'data-total');
  assert.notEqual(total, '', `the search failed: ${await page.textContent('#count')}`);
  return Number(total);
}

const histogramTotal = async (page: Page) => Number(await page.getAttribute('#histogram', 'data-total'));

describe('dashboard search page against OpenSearch (e2e)', () => {
  let store: OpenSearchServer;
  let dir: string;
  let proc: SluiceProcess | undefined;
  let browser: BrowserContext | undefined;
  let base: string;
  let records: Record<string, unknown>[];

  before(async () => {
    requireTool(CHROMIUM, 'chromium');
    dir = await mkdtemp(join(tmpdir(), 'sluice-search-'));
    store = await startOpenSearch();
    // Indices the page must never reach through the output's target.
    await os(store.url, '/secret-1/_doc/1?refresh=true', 'PUT', {
      ts: new Date().toISOString(),
      card: '4111',
    });
    await os(store.url, '/audit-1/_doc/1?refresh=true', 'PUT', { ts: new Date().toISOString(), who: 'ops' });
    for (const index of ['plain-1', '.sluice-dot'])
      await os(store.url, `/${index}/_doc/1?refresh=true`, 'PUT', {
        '@timestamp': new Date().toISOString(),
        marker: index,
      });
    const httpPort = await freePort();
    const conf = join(dir, 'search.conf');
    await writeFile(
      conf,
      `
<source>
  @type monitor_agent
  port 0
  dashboard true
  <search>
    name audit
    host 127.0.0.1
    port ${new URL(store.url).port}
    index audit-*
    time_key ts
  </search>
</source>
<source>
  @type http
  bind 127.0.0.1
  port ${httpPort}
</source>
<match seed004.**>
  @type opensearch
  @id seed004_es
  host 127.0.0.1
  port ${new URL(store.url).port}
  user sluice
  password ${PASSWORD}
  logstash_format true
  logstash_prefix seed004
  <buffer>
    flush_interval 0.3s
  </buffer>
</match>
<match by_tag.**>
  @type opensearch
  @id by_tag
  host 127.0.0.1
  port ${new URL(store.url).port}
  index_name \${tag}
  include_timestamp true
  <buffer tag>
  </buffer>
</match>
`,
    );
    proc = spawnSluice(['-c', conf]);
    base = (await proc.waitFor('stderr', /monitor_agent listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await proc.waitFor('stderr', /sluice started/);
    records = seedRecords(Date.now());
    const res = await fetch(`http://127.0.0.1:${httpPort}/seed004.app`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(records),
    });
    assert.ok(res.ok, `in_http answered ${res.status}`);
    // The output's flushes have landed once the cluster counts every record (each try asks it).
    await waitUntil(
      async () => (await countOf(store.url, 'seed004-*')) >= records.length,
      'the opensearch output to index the seed records',
      60_000,
      200,
    );
  });

  after(async () => {
    await browser?.close();
    await proc?.stop();
    await store?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the targets without their credentials and searches only their indices', async () => {
    const targets = await fetch(`${base}/dashboard/api/search-targets`);
    const text = await targets.text();
    assert.equal(targets.status, 200);
    assert.doesNotMatch(text, new RegExp(PASSWORD));
    assert.doesNotMatch(text, /authorization|password|127\.0\.0\.1/i);
    const list = (JSON.parse(text) as { targets: { name: string; index: string; timeField: string }[] })
      .targets;
    assert.deepEqual(
      list.map((t) => [t.name, t.index, t.timeField]),
      [
        ['seed004_es', 'seed004-*', '@timestamp'],
        ['by_tag', '*', '@timestamp'],
        ['audit', 'audit-*', 'ts'],
      ],
    );

    const all = await post(base, '/dashboard/api/search/seed004_es/_search', { from: 'now-2h', to: 'now' });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.total, records.length);
    const audit = await post(base, '/dashboard/api/search/audit/_search', { from: 'now-1h', to: 'now' });
    assert.equal(audit.body.total, 1);

    // An output whose index is only a placeholder searches every index but the dot-indices.
    const everywhere = await post(base, '/dashboard/api/search/by_tag/_search', {
      from: 'now-1h',
      to: 'now',
      q: 'marker:*',
    });
    assert.equal(everywhere.status, 200, JSON.stringify(everywhere.body));
    assert.deepEqual(
      (everywhere.body.hits as { _index: string }[]).map((h) => h._index),
      ['plain-1'],
    );

    // Another index, by name, by pattern, in a list, or excluded from a pattern: refused.
    for (const index of [
      'secret-1',
      'secret-*',
      '*',
      'seed004-*,secret-1',
      '-seed004-*',
      '_all',
      'audit-1',
      '../secret-1',
      'remote:seed004-x',
    ]) {
      const r = await post(base, '/dashboard/api/search/seed004_es/_search', {
        from: 'now-2h',
        to: 'now',
        index,
      });
      assert.equal(r.status, 403, `index ${index}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'SEARCH_INDEX_REFUSED');
    }
    const one = await post(base, '/dashboard/api/search/seed004_es/_search', {
      from: 'now-2h',
      to: 'now',
      index: `seed004-${new Date().toISOString().slice(0, 4)}*`,
    });
    assert.equal(one.status, 200, 'a narrower pattern within the target is allowed');

    // Any other API or method: refused by Sluice, before anything reaches the cluster.
    for (const [method, path] of [
      ['POST', '/dashboard/api/search/seed004_es/_delete_by_query'],
      ['POST', '/dashboard/api/search/seed004_es/_bulk'],
      ['POST', '/dashboard/api/search/seed004_es/_update_by_query'],
      ['GET', '/dashboard/api/search/seed004_es/_search'],
      ['DELETE', '/dashboard/api/search/seed004_es/_search'],
      ['PUT', '/dashboard/api/search/seed004_es/_search'],
      ['POST', '/dashboard/api/search/seed004_es/_doc/1/_search'],
      ['GET', '/dashboard/api/search/_cat/indices'],
      ['POST', '/dashboard/api/search/seed004_es'],
    ] as const) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : JSON.stringify({ query: { match_all: {} } }),
      });
      const body = (await res.json()) as { code?: string };
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(body.code, 'SEARCH_API_REFUSED', `${method} ${path}`);
    }
    // A query DSL body is not passed on: only the structured fields are read.
    const dsl = await post(base, '/dashboard/api/search/seed004_es/_search', {
      from: 'now-2h',
      to: 'now',
      query: { match_none: {} },
    });
    assert.equal(dsl.body.total, records.length);
    const unknown = await post(base, '/dashboard/api/search/nope/_search', { from: 'now-1h', to: 'now' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'SEARCH_UNKNOWN_TARGET');
    const badQuery = await post(base, '/dashboard/api/search/seed004_es/_search', {
      from: 'now-2h',
      to: 'now',
      q: 'levelname:(ERROR',
    });
    assert.equal(badQuery.status, 400);
    assert.equal(badQuery.body.code, 'SEARCH_BAD_QUERY');

    // A page of another site that resolved its name to 127.0.0.1 (DNS rebinding) is refused.
    for (const [host, status] of [
      ['attacker.example', 403],
      [`attacker.example:${new URL(base).port}`, 403],
      [`localhost:${new URL(base).port}`, 200],
      [new URL(base).host, 200],
    ] as const) {
      const got = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const r = httpRequest(`${base}/dashboard/api/search-targets`, { headers: { host } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        r.on('error', reject);
        r.end();
      });
      assert.equal(got.status, status, `Host: ${host}`);
      if (status === 403) assert.match(got.body, /MONITOR_DASHBOARD_HOST/);
    }

    // Nothing was deleted or changed.
    assert.equal(await countOf(store.url, 'secret-1'), 1);
    assert.equal(await countOf(store.url, 'seed004-*'), records.length);
  });

  it('narrows with a query and a field value, restores a shared URL, expands a document', async () => {
    const errors = records.filter((r) => r.levelname === 'ERROR');
    const paymentErrors = errors.filter((r) => r.name === 'app.payments');
    assert.ok(paymentErrors.length > 0 && paymentErrors.length < errors.length);

    const launched = await launchChromium(dir, { width: 1400, height: 1000 });
    browser = launched.browser;
    const { page, consoleErrors } = launched;
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));

    // From the pipeline page's link.
    await page.goto(`${base}/dashboard/`, { timeout: 30_000 });
    const all = await searched(page, async () => {
      await page.click('header nav a[href="search.html"]');
      await page.waitForURL(/search\.html/);
    });
    assert.equal(await page.inputValue('#target'), 'seed004_es');
    assert.ok(all > 0 && all < records.length, `the last 15 minutes by default (${all})`);
    // The last 15 minutes hold only the newest records: widen to the last hour.
    const hour = await searched(page, () => page.selectOption('#range', 'now-1h'));
    assert.equal(hour, records.length);
    assert.equal(await histogramTotal(page), records.length);
    assert.equal(await page.locator('#docs tr.doc').count(), records.length);
    // Newest first.
    const firstId = await page.getAttribute('#docs tr.doc >> nth=0', 'data-id');
    assert.match(
      (await page.textContent('#docs tr.doc >> nth=0')) ?? '',
      new RegExp(`order ${1000 + records.length - 1}`),
    );

    // A query narrows the histogram and the table.
    const q = await searched(page, async () => {
      await page.fill('#q', 'levelname:ERROR');
      await page.press('#q', 'Enter');
    });
    assert.equal(q, errors.length);
    assert.equal(await histogramTotal(page), errors.length);
    assert.equal(await page.locator('#docs tr.doc').count(), errors.length);
    for (const row of await page.locator('#docs tr.doc').allTextContents()) assert.match(row, /ERROR/);

    // A field's top values; a click on one filters.
    await page.click('#fields li[data-field="name"] button.name');
    const value = page.locator('#fields li[data-field="name"] ul.top li[data-value="app.payments"]');
    await value.waitFor({ timeout: 20_000 });
    assert.match((await value.textContent()) ?? '', new RegExp(`app\\.payments\\s*${paymentErrors.length}`));
    const filtered = await searched(page, () => value.locator('button.plus').click());
    assert.equal(filtered, paymentErrors.length);
    assert.equal(await histogramTotal(page), paymentErrors.length);
    assert.equal(
      await page.locator('#filters .pill[data-field="name"][data-value="app.payments"]').count(),
      1,
    );
    for (const row of await page.locator('#docs tr.doc').allTextContents())
      assert.match(row, /app\.payments/);

    // A document expanded as JSON.
    await page.click('#docs tr.doc >> nth=0');
    const json = JSON.parse((await page.textContent('#docs tr.detail pre.json')) ?? '{}') as {
      _source: Record<string, unknown>;
    };
    assert.equal(json._source.levelname, 'ERROR');
    assert.equal(json._source.name, 'app.payments');
    assert.ok(json._source['@timestamp']);

    // (the levelname field's top values open in the picture)
    await page.click('#fields li[data-field="levelname"] button.name');
    await page.locator('#fields li[data-field="levelname"] ul.top li[data-value="ERROR"]').waitFor();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-search.png'), fullPage: true });

    // The URL holds the whole search: another tab opened on it shows the same.
    const shared = page.url();
    assert.match(shared, /#.*target=seed004_es/);
    const other = await browser.newPage();
    other.on('pageerror', (e) => consoleErrors.push(e.message));
    const restored = await searched(other, () => other.goto(shared));
    assert.equal(restored, paymentErrors.length);
    assert.equal(await other.inputValue('#q'), 'levelname:ERROR');
    assert.equal(await other.inputValue('#range'), 'now-1h');
    assert.equal(await other.locator('#filters .pill[data-field="name"]').count(), 1);
    assert.deepEqual(
      await other.locator('#docs tr.doc').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))),
      await page.locator('#docs tr.doc').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))),
    );
    // Removing the filter and the query in the restored tab gives every record again.
    await searched(other, () => other.click('#filters .pill button'));
    const back = await searched(other, async () => {
      await other.fill('#q', '');
      await other.press('#q', 'Enter');
    });
    assert.equal(back, records.length);
    assert.equal(await other.getAttribute('#docs tr.doc >> nth=0', 'data-id'), firstId);

    // An absolute range (UTC, to the second) around records 10 to 19.
    const at = (i: number) => (records[i]!.time as number) * 1000;
    const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    await other.selectOption('#range', 'absolute');
    await other.fill('#abs-from', utc(at(10) - 1_000));
    await other.fill('#abs-to', utc(at(19) + 1_000));
    const window = await searched(other, () => other.click('#go'));
    assert.equal(window, 10);
    assert.equal(await histogramTotal(other), 10);
    assert.equal(
      new URLSearchParams(new URL(other.url()).hash.slice(1)).get('from'),
      new Date(Math.floor((at(10) - 1_000) / 1000) * 1000).toISOString(),
    );

    // Everything the page fetched came from Sluice.
    assert.ok(
      requests.every((u) => u.startsWith(base)),
      requests.filter((u) => !u.startsWith(base)).join(', '),
    );
    assert.deepEqual(consoleErrors, []);
  });
});

describe('dashboard access when bound beyond loopback (e2e)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-dash-auth-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses to start a dashboard on 0.0.0.0 without a token or a password', async () => {
    const conf = join(dir, 'open.conf');
    await writeFile(
      conf,
      '<source>\n  @type monitor_agent\n  bind 0.0.0.0\n  port 0\n  dashboard true\n</source>\n',
    );
    const p = spawnSluice(['-c', conf]);
    const code = await p.exited;
    assert.notEqual(code, 0);
    assert.match(p.stderr(), /MONITOR_DASHBOARD_NO_AUTH/);
  });

  it('asks for the token on the dashboard and its APIs; the monitoring API and probes stay open', async () => {
    const conf = join(dir, 'token.conf');
    await writeFile(
      conf,
      '<source>\n  @type monitor_agent\n  bind 0.0.0.0\n  port 0\n  dashboard true\n  dashboard_token t0k3n\n</source>\n',
    );
    const p = spawnSluice(['-c', conf]);
    try {
      const url = (await p.waitFor('stderr', /monitor_agent listening on (http:\/\/[\d.]+:\d+)/))[1]!;
      for (const path of [
        '/dashboard/',
        '/dashboard/search.html',
        '/dashboard/api/search-targets',
        '/dashboard/api/graph',
      ]) {
        const res = await fetch(`${url}${path}`, { redirect: 'manual' });
        assert.equal(res.status, 401, path);
        assert.equal(((await res.json()) as { code: string }).code, 'MONITOR_DASHBOARD_AUTH');
      }
      const wrong = await fetch(`${url}/dashboard/api/graph`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const bearer = await fetch(`${url}/dashboard/api/graph`, {
        headers: { authorization: 'Bearer t0k3n' },
      });
      assert.equal(bearer.status, 200);
      await bearer.body?.cancel();
      // A link with ?token= sets a cookie and drops the token from the URL.
      const link = await fetch(`${url}/dashboard/search.html?token=t0k3n`, { redirect: 'manual' });
      assert.equal(link.status, 303);
      assert.equal(link.headers.get('location'), '/dashboard/search.html');
      const cookie = (link.headers.get('set-cookie') ?? '').split(';')[0]!;
      assert.match(link.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
      const page = await fetch(`${url}/dashboard/search.html`, { headers: { cookie } });
      assert.equal(page.status, 200);
      await page.body?.cancel();
      // The monitor's root too (it redirects to the dashboard).
      const root = await fetch(`${url}/?token=t0k3n`, { redirect: 'manual' });
      assert.equal(root.status, 303);
      assert.equal(root.headers.get('location'), '/');
      const rootCookie = (root.headers.get('set-cookie') ?? '').split(';')[0]!;
      const redirected = await fetch(`${url}/`, { headers: { cookie: rootCookie }, redirect: 'manual' });
      assert.equal(redirected.status, 302);
      assert.equal(redirected.headers.get('location'), '/dashboard/');
      await redirected.body?.cancel();
      await root.body?.cancel();
      for (const path of ['/api/plugins.json', '/healthz', '/metrics']) {
        const res = await fetch(`${url}${path}`);
        assert.equal(res.status, 200, path);
        await res.body?.cancel();
      }
    } finally {
      await p.stop();
    }
  });

  it('asks for a user name and password with dashboard_user', async () => {
    const conf = join(dir, 'basic.conf');
    await writeFile(
      conf,
      '<source>\n  @type monitor_agent\n  bind 0.0.0.0\n  port 0\n  dashboard true\n  dashboard_user ops\n  dashboard_password pa55\n</source>\n',
    );
    const p = spawnSluice(['-c', conf]);
    try {
      const url = (await p.waitFor('stderr', /monitor_agent listening on (http:\/\/[\d.]+:\d+)/))[1]!;
      const none = await fetch(`${url}/dashboard/`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
      await none.body?.cancel();
      const basic = (s: string) => ({ authorization: `Basic ${Buffer.from(s).toString('base64')}` });
      const bad = await fetch(`${url}/dashboard/`, { headers: basic('ops:nope') });
      assert.equal(bad.status, 401);
      await bad.body?.cancel();
      const ok = await fetch(`${url}/dashboard/`, { headers: basic('ops:pa55') });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /Sluice dashboard/);
    } finally {
      await p.stop();
    }
  });
});
