import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputs } from '../helpers/capture.ts';
import { events, getJson, monitorTestFile, waitUntil } from './helpers.ts';

const start = monitorTestFile();

const CONF = `
<source>
  @type monitor_agent
  port 0
  dashboard true
  dashboard_tail_rate 50
</source>
<source>
  @type test_input
  @id in_app
  tag app
</source>
<filter app.**>
  @type test_mark
  @id mark
  mark m
</filter>
<match app.**>
  @type copy
  @id fan
  <store>
    @type test_capture
    @id keep
    name keep
  </store>
  <store>
    @type test_retry
    @id web
  </store>
</match>
<match **>
  @type relabel
  @id to_other
  @label @OTHER
</match>
<label @OTHER>
  <match **>
    @type test_capture
    @id other
    name other
  </match>
</label>
`;

interface SseEvent {
  event: string;
  data: any;
}

/** Reads server-sent events until `until` returns true (or the deadline), then closes the stream. */
async function readEvents(
  url: string,
  until: (events: SseEvent[]) => boolean,
  onOpen?: () => Promise<void>,
  timeoutMs = 10_000,
): Promise<SseEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(url, { signal: ac.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const got: SseEvent[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  let opened = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) got.push({ event: ev, data: JSON.parse(data) });
      }
      if (!opened && got.length > 0) {
        opened = true;
        await onOpen?.();
      }
      if (until(got)) break;
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    throw new Error(`timed out; events so far: ${JSON.stringify(got).slice(0, 1000)}`);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return got;
}

test('serves the UI (offline: no external URL), redirects / to it, and refuses other paths', async () => {
  const r = await start(CONF);
  const base = r.url();
  const root = await fetch(`${base}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/dashboard/');
  for (const [path, type] of [
    ['/dashboard/', 'text/html'],
    ['/dashboard/app.js', 'text/javascript'],
    ['/dashboard/style.css', 'text/css'],
  ] as const) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}`));
    assert.doesNotMatch(
      await res.text(),
      /https?:\/\/(?!www\.w3\.org)/,
      `${path} loads nothing from the network`,
    );
  }
  assert.equal((await fetch(`${base}/dashboard/%2e%2e/package.json`)).status, 404);
  assert.equal((await fetch(`${base}/dashboard/nope.js`)).status, 404);
  assert.equal((await fetch(`${base}/other`)).status, 404);
});

test('the graph has inputs, routers, filters, outputs, copy stores and relabel edges, each edge naming its counter', async () => {
  const r = await start(CONF);
  const g = (await getJson(`${r.url()}/dashboard/api/graph`)).body;
  assert.deepEqual(g.labels, ['', '@OTHER']);
  const ids = g.nodes.map((n: any) => `${n.kind}:${n.id}`);
  for (const id of [
    'input:in:in_app',
    'router:router:',
    'router:router:@OTHER',
    'filter:filter:mark',
    'output:out:fan',
    'output:out:keep',
    'output:out:web',
    'output:out:to_other',
    'output:out:other',
  ]) {
    assert.ok(ids.includes(id), `${id} in ${ids}`);
  }
  assert.equal(g.nodes.find((n: any) => n.id === 'out:web').buffered, true);
  assert.equal(g.nodes.find((n: any) => n.id === 'out:web').depth, 1);
  const edges = g.edges.map((e: any) => `${e.from}>${e.to}@${e.counter}`);
  for (const e of [
    'in:in_app>router:@in:in_app',
    'router:>filter:mark@filter:mark',
    // The filter sits on the path to the output behind it (same pattern); ** bypasses it.
    'filter:mark>out:fan@out:fan',
    'router:>out:to_other@out:to_other',
    'out:fan>out:web@out:web',
    'out:to_other>router:@OTHER@out:to_other',
    'router:@OTHER>out:other@out:other',
  ]) {
    assert.ok(edges.includes(e), `${e} in ${edges}`);
  }
});

test('the stream sends stats whose rates rise while events flow, and tail lines for the chosen pattern only', async () => {
  const r = await start(CONF);
  const emit = inputs.get('app')!;
  let pump: NodeJS.Timeout | undefined;
  const got = await readEvents(
    `${r.url()}/dashboard/api/stream?tail=${encodeURIComponent('app.web.**')}`,
    (evs) =>
      evs.some((e) => e.event === 'stats' && e.data.rates['in:in_app'] > 0 && e.data.rates['out:keep'] > 0) &&
      evs.some((e) => e.event === 'tail'),
    async () => {
      pump = setInterval(() => {
        void emit.emit(events('app.web.access', 5, { path: '/' }));
        void emit.emit(events('app.db', 5));
      }, 20);
    },
  ).finally(() => clearInterval(pump));
  const first = got[0]!;
  assert.equal(first.event, 'stats');
  assert.equal(first.data.ready, true);
  assert.equal(first.data.outputs.web.buffered, true);
  assert.equal(first.data.outputs.keep.buffered, false);
  const tails = got.filter((e) => e.event === 'tail');
  assert.ok(
    tails.every((e) => e.data.tag === 'app.web.access'),
    'only the chosen tags',
  );
  assert.equal(tails[0]!.data.record, '{"path":"/"}');
  // The tap goes away with the viewer (once the server sees the connection close).
  await waitUntil(() => (r.engine.pipeline('')!.taps.size === 0 ? true : undefined), 'the tap to be removed');
});

test('a bad tail pattern is a 400 with the reason', async () => {
  const r = await start(CONF);
  const res = await fetch(`${r.url()}/dashboard/api/stream?tail=${encodeURIComponent('/(/')}`);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /bad tag pattern/);
});

test('a filter covers the outputs behind it for the usual pattern shapes', async () => {
  const { covers } = await import('../../src/monitor/graph.ts');
  assert.ok(covers('**', 'a.b'));
  assert.ok(covers('app.**', 'app.**'));
  assert.ok(covers('app.**', 'app.web'));
  assert.ok(covers('app.**', 'app.web.**'));
  assert.ok(!covers('app.**', '**'));
  assert.ok(!covers('app.**', 'other.x'));
  assert.ok(!covers('app.*', 'app.web.x'));
  assert.ok(!covers('app.**', '{app.a,b}'));
});
