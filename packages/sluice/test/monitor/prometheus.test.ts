import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { inputs } from '../helpers/capture.ts';
import { APP_PIPELINE, events, failing, getJson, monitorTestFile, waitUntil } from './helpers.ts';

const start = monitorTestFile();

const CONF = `
<source>
  @type prometheus
  port 0
  metrics_path /prom
</source>
${APP_PIPELINE}`;

/** The value of one sample line, e.g. value(text, 'sluice_input_records_total{plugin_id="in_app",type="test_input"}'). */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

test('/metrics: per-plugin counters move as events flow; Fluentd names, sluice names and process metrics', async () => {
  const r = await start(CONF);
  const url = `${r.url('prometheus')}/prom`;
  const first = await fetch(url);
  assert.equal(first.status, 200);
  assert.match(first.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const t0 = await first.text();
  assert.equal(value(t0, 'sluice_input_records_total{plugin_id="in_app",type="test_input"}'), 0);
  assert.match(t0, /^# TYPE sluice_input_records_total counter$/m);
  assert.match(t0, /^process_cpu_user_seconds_total /m);
  assert.match(t0, /^nodejs_heap_size_used_bytes /m);
  assert.equal(value(t0, 'sluice_ready'), 1);

  await inputs.get('app')!.emit(events('app.x', 3));
  await inputs.get('app')!.emit(events('web.x', 2));
  const t1 = await waitUntil(async () => {
    const t = await (await fetch(url)).text();
    return value(t, 'fluentd_output_status_write_count{plugin_id="out_web",type="test_retry"}') === 1
      ? t
      : undefined;
  }, 'out_web to write');
  assert.equal(value(t1, 'sluice_input_records_total{plugin_id="in_app",type="test_input"}'), 5);
  assert.ok(value(t1, 'sluice_input_bytes_total{plugin_id="in_app",type="test_input"}')! > 0);
  assert.equal(value(t1, 'sluice_filter_records_in_total{plugin_id="mark",type="test_mark"}'), 3);
  assert.equal(value(t1, 'sluice_filter_records_out_total{plugin_id="mark",type="test_mark"}'), 3);
  assert.equal(value(t1, 'sluice_output_records_in_total{plugin_id="out_app",type="test_capture"}'), 3);
  assert.equal(value(t1, 'fluentd_output_status_emit_records{plugin_id="out_web",type="test_retry"}'), 2);
  assert.equal(value(t1, 'sluice_output_records_written_total{plugin_id="out_web",type="test_retry"}'), 2);
  assert.equal(
    value(t1, 'fluentd_output_status_buffer_queue_length{plugin_id="out_web",type="test_retry"}'),
    0,
  );
  assert.equal(
    value(t1, 'fluentd_output_status_buffer_available_space_ratio{plugin_id="out_web",type="test_retry"}'),
    100,
  );
  assert.equal(value(t1, 'sluice_output_retrying{plugin_id="out_web",type="test_retry"}'), 0);
  assert.equal(value(t1, 'sluice_router_unmatched_records_total{label=""}'), 0);

  await inputs.get('app')!.emit(events('nowhere', 4));
  const t2 = await (await fetch(url)).text();
  assert.equal(value(t2, 'sluice_router_unmatched_records_total{label=""}'), 4);
  assert.deepEqual((await getJson(`${r.url('prometheus')}/readyz`)).body, { status: 'ready' });
  assert.equal(
    (await getJson(`${r.url('prometheus')}/metrics`)).status,
    404,
    'only metrics_path serves metrics',
  );
});

test('/metrics shows the retry state of an output whose receiver is down, and clears it once it recovers', async () => {
  failing.add('web');
  const r = await start(CONF.replace('retry_wait 30s', 'retry_wait 0.2s\n    retry_randomize false'));
  const url = `${r.url('prometheus')}/prom`;
  await inputs.get('app')!.emit(events('web.x', 2));
  const down = await waitUntil(async () => {
    const t = await (await fetch(url)).text();
    return value(t, 'sluice_output_retrying{plugin_id="out_web",type="test_retry"}') === 1 ? t : undefined;
  }, 'retrying = 1');
  assert.ok(value(down, 'fluentd_output_status_retry_count{plugin_id="out_web",type="test_retry"}')! >= 1);
  assert.ok(value(down, 'sluice_output_write_errors_total{plugin_id="out_web",type="test_retry"}')! >= 1);
  assert.ok(
    value(down, 'sluice_output_buffer_bytes{plugin_id="out_web",type="test_retry",state="queued"}')! > 0,
  );
  assert.ok(
    value(down, 'sluice_output_buffer_oldest_chunk_age_seconds{plugin_id="out_web",type="test_retry"}')! >= 0,
  );
  assert.ok(
    value(down, 'sluice_output_next_retry_timestamp_seconds{plugin_id="out_web",type="test_retry"}')! >
      Date.now() / 1000 - 60,
  );
  failing.delete('web');
  const up = await waitUntil(async () => {
    const t = await (await fetch(url)).text();
    return value(t, 'sluice_output_retrying{plugin_id="out_web",type="test_retry"}') === 0 ? t : undefined;
  }, 'retrying = 0 after recovery');
  assert.equal(value(up, 'sluice_output_records_written_total{plugin_id="out_web",type="test_retry"}'), 2);
  assert.equal(
    value(up, 'sluice_output_buffer_bytes{plugin_id="out_web",type="test_retry",state="queued"}'),
    0,
  );
  assert.equal(
    value(up, 'sluice_output_buffer_oldest_chunk_age_seconds{plugin_id="out_web",type="test_retry"}'),
    undefined,
  );
});

test('prometheus and monitor_agent configured on one port share it', async () => {
  // A free port from the OS, so both plugins can name the same one.
  const probe = await start('<source>\n  @type prometheus\n  port 0\n</source>\n');
  const port = new URL(probe.url('prometheus')).port;
  await probe.stop();
  const r = await start(`
<source>
  @type monitor_agent
  port ${port}
</source>
<source>
  @type prometheus
  port ${port}
</source>
<match **>
  @type test_capture
</match>`);
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/metrics`)).status, 200);
  assert.equal((await getJson(`${base}/api/plugins.json`)).body.plugins.length, 3);
  await r.stop();
  await assert.rejects(fetch(`${base}/healthz`), 'closed once both released it');
});

test('a bad metrics_path is a config error', async () => {
  await assert.rejects(
    Engine.fromText('<source>\n  @type prometheus\n  metrics_path metrics\n</source>\n', {
      logger: pino({ level: 'silent' }),
    }),
    /inline\.conf:3:3: parameter 'metrics_path' must start with \//,
  );
});
