// Acceptance (issue 8): a running pipeline's /api/plugins.json and /metrics, read over HTTP
// from a `sluice` child process: counters move as events flow, and an output's retry state
// shows while its receiver is down.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { waitUntil } from '../monitor/helpers.ts';

let dir: string;
let proc: SluiceProcess | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-monitor-'));
});
after(async () => {
  await proc?.stop();
  await rm(dir, { recursive: true, force: true });
});

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a running sluice reports moving counters and the retry state of an output whose receiver is down', async () => {
  const deadPort = await freePort();
  const conf = join(dir, 'monitor.conf');
  await writeFile(
    conf,
    `
<source>
  @type monitor_agent
  @id monitor
  port 0
  include_retry true
</source>
<source>
  @type prometheus
  port 0
</source>
<source>
  @type sample
  @id gen
  tag app.hello
  rate 50
  size 4
</source>
<match app.**>
  @type copy
  <store>
    @type null
    @id discard
  </store>
  <store>
    @type http
    @id downstream
    endpoint http://127.0.0.1:${deadPort}/events
    <buffer>
      flush_interval 0.2s
      retry_wait 0.5s
      retry_randomize false
    </buffer>
  </store>
</match>
`,
  );
  proc = spawnSluice(['-c', conf], { env: { SLUICE_STOP_TIMEOUT_MS: '3000' } });
  const monitor = (
    await proc.waitFor('stderr', /monitor_agent listening on (http:\/\/127\.0\.0\.1:\d+)/)
  )[1]!;
  const prom = (await proc.waitFor('stderr', /prometheus listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;

  const plugins = async () =>
    ((await (await fetch(`${monitor}/api/plugins.json`)).json()) as { plugins: Record<string, any>[] })
      .plugins;
  const byId = (list: Record<string, any>[], id: string) => list.find((p) => p.plugin_id === id)!;

  const first = await waitUntil(
    async () => {
      const l = await plugins();
      return byId(l, 'gen').emit_records > 0 ? l : undefined;
    },
    'the sample input to emit',
    15_000,
  );
  const second = await waitUntil(
    async () => {
      const l = await plugins();
      return byId(l, 'gen').emit_records > byId(first, 'gen').emit_records + 20 ? l : undefined;
    },
    'more events',
    15_000,
  );
  assert.ok(
    byId(second, 'discard').emit_records > byId(first, 'discard').emit_records,
    'the null output counts more records',
  );
  assert.equal(byId(second, 'gen').plugin_category, 'input');
  assert.equal(byId(second, 'downstream').output_plugin, true);

  const down = await waitUntil(
    async () => {
      const d = byId(await plugins(), 'downstream');
      return d.retry_count >= 2 && d.retry.steps !== undefined ? d : undefined;
    },
    'the http output to retry',
    15_000,
  );
  assert.match(down.last_error, /ECONNREFUSED/);
  assert.ok(down.buffer_total_queued_size > 0, 'undelivered events stay queued');
  assert.equal(typeof down.retry.next_time, 'string');
  assert.equal(typeof down.retry.start, 'string');

  const m1 = await (await fetch(`${prom}/metrics`)).text();
  const m2 = await waitUntil(
    async () => {
      const t = await (await fetch(`${prom}/metrics`)).text();
      const a = metric(t, 'sluice_input_records_total{plugin_id="gen",type="sample"}')!;
      return a > metric(m1, 'sluice_input_records_total{plugin_id="gen",type="sample"}')! ? t : undefined;
    },
    '/metrics counters to move',
    15_000,
  );
  assert.ok(metric(m2, 'fluentd_output_status_emit_records{plugin_id="discard",type="null"}')! > 0);
  assert.equal(metric(m2, 'sluice_output_retrying{plugin_id="downstream",type="http"}'), 1);
  assert.ok(metric(m2, 'fluentd_output_status_retry_count{plugin_id="downstream",type="http"}')! >= 2);
  assert.ok(
    metric(m2, 'fluentd_output_status_buffer_queue_length{plugin_id="downstream",type="http"}')! >= 1,
  );
  assert.match(m2, /^process_resident_memory_bytes \d+/m);
  assert.deepEqual(await (await fetch(`${monitor}/readyz`)).json(), { status: 'ready' });
  assert.deepEqual(await (await fetch(`${prom}/healthz`)).json(), { status: 'ok' });
});
