import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { captured, inputs, recordsOf } from '../helpers/capture.ts';
import { APP_PIPELINE, events, failing, getJson, monitorTestFile, waitUntil } from './helpers.ts';

const start = monitorTestFile();

const PIPELINE = `
<source>
  @type monitor_agent
  @id mon
  port 0
  include_retry true
</source>
${APP_PIPELINE}`;

function byId(list: Record<string, unknown>[], id: string): Record<string, any> {
  const p = list.find((x) => x.plugin_id === id);
  assert.ok(p, `plugin ${id} in ${JSON.stringify(list.map((x) => x.plugin_id))}`);
  return p as Record<string, any>;
}

test('/api/plugins.json lists every plugin with Fluentd fields, and the counters move as events flow', async () => {
  const r = await start(PIPELINE);
  const url = `${r.url()}/api/plugins.json`;
  const before = (await getJson(url)).body.plugins;
  assert.deepEqual(
    before.map((p: any) => [p.plugin_id, p.plugin_category, p.type, p.output_plugin]),
    [
      ['mon', 'input', 'monitor_agent', false],
      ['in_app', 'input', 'test_input', false],
      ['mark', 'filter', 'test_mark', false],
      ['out_app', 'output', 'test_capture', true],
      ['out_web', 'output', 'test_retry', true],
    ],
  );
  assert.equal(byId(before, 'in_app').emit_records, 0);
  assert.equal(byId(before, 'in_app').retry_count, null);

  await inputs.get('app')!.emit(events('app.web', 3));
  await inputs.get('app')!.emit(events('app.web', 4));
  await inputs.get('app')!.emit(events('web.api', 2));
  const now = (await getJson(url)).body.plugins;
  assert.equal(byId(now, 'in_app').emit_records, 9);
  assert.equal(byId(now, 'in_app').emit_count, 3);
  assert.ok(byId(now, 'in_app').emit_size > 0);
  assert.equal(byId(now, 'mark').emit_records, 7);
  assert.equal(byId(now, 'out_app').emit_records, 7);
  assert.equal(byId(now, 'out_app').emit_count, 2);
  assert.equal(recordsOf('app').length, 7);
  const web = await waitUntil(async () => {
    const w = byId((await getJson(url)).body.plugins, 'out_web');
    return w.write_count >= 1 ? w : undefined;
  }, 'out_web to write its chunk');
  assert.equal(web.emit_records, 2);
  assert.equal(web.retry_count, 0);
  assert.equal(web.buffer_queue_length, 0);
  assert.equal(web.buffer_total_queued_size, 0);
  assert.equal(web.buffer_available_buffer_space_ratios, 100);
  assert.deepEqual(web.retry, {});
});

test('an output whose receiver is down shows its retry state, queued bytes and last error', async () => {
  failing.add('web');
  const r = await start(PIPELINE);
  await inputs.get('app')!.emit(events('web.api', 5));
  const url = `${r.url()}/api/plugins.json?@id=out_web`;
  const web = await waitUntil(async () => {
    const list = (await getJson(url)).body.plugins;
    return list[0]?.retry_count >= 1 ? list[0] : undefined;
  }, 'a failed write');
  assert.equal(web.plugin_id, 'out_web');
  assert.equal(web.rollback_count, 1);
  assert.equal(web.buffer_queue_length, 1);
  assert.ok(web.buffer_total_queued_size > 0);
  assert.ok(web.buffer_available_buffer_space_ratios < 100);
  assert.equal(web.last_error, 'receiver web is down');
  assert.equal(web.retry.steps, 0);
  assert.match(web.retry.start, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
  const next = Date.parse(web.retry.next_time.replace(' +0000', 'Z').replace(' ', 'T'));
  const began = Date.parse(web.retry.start.replace(' +0000', 'Z').replace(' ', 'T'));
  assert.ok(
    next - began >= 29_000 && next - began <= 31_000,
    `next_time is retry_wait after start (${web.retry.next_time} vs ${web.retry.start})`,
  );

  // LTSV: scalar fields only, nested objects (retry) left out, as Fluentd does.
  const ltsv = (await getJson(`${r.url()}/api/plugins?@id=out_web`)).body as string;
  assert.match(ltsv, /^plugin_id:out_web\tplugin_category:output\ttype:test_retry\toutput_plugin:true\t/);
  assert.match(ltsv, /\tretry_count:1\t/);
  assert.doesNotMatch(ltsv, /retry:/);
  assert.ok(ltsv.endsWith('\n'));
  // The receiver is back: the shutdown flush delivers, so stop() does not wait on retries.
  failing.delete('web');
  await r.stop();
});

test('query parameters: @id, @type, tag, with_config (secrets masked), with_retry, and debug only when allowed', async () => {
  const r = await start(PIPELINE);
  const base = `${r.url()}/api/plugins.json`;
  const ids = async (q: string) => (await getJson(`${base}?${q}`)).body.plugins.map((p: any) => p.plugin_id);
  assert.deepEqual(await ids('@type=test_capture'), ['out_app']);
  assert.deepEqual(await ids('type=test_capture'), ['out_app']);
  assert.deepEqual(await ids('@id=mark'), ['mark']);
  assert.deepEqual(await ids('id=mark'), ['mark']);
  assert.deepEqual(await ids('@id=nope'), []);
  assert.deepEqual(await ids('tag=app.x'), ['out_app']);
  assert.deepEqual(await ids('tag=web.x'), ['out_web']);
  assert.deepEqual(await ids('tag=other'), []);
  const noConfig = (await getJson(`${base}?@id=out_web`)).body.plugins[0];
  assert.equal(noConfig.config, undefined);
  const withConfig = (await getJson(`${base}?@id=out_web&with_config=true`)).body.plugins[0];
  assert.deepEqual(withConfig.config, {
    '@type': 'test_retry',
    '@id': 'out_web',
    name: 'web',
    token: 'xxxxxx',
  });
  const noRetry = (await getJson(`${base}?@id=out_web&with_retry=false`)).body.plugins[0];
  assert.equal(noRetry.retry, undefined);
  // include_debug_info is false: debug and with_ivars are ignored (Fluentd >= 1.19.3).
  assert.equal((await getJson(`${base}?@id=out_web&debug=1`)).body.plugins[0].instance_variables, undefined);

  const r2 = await start(`
<source>
  @type monitor_agent
  port 0
  include_debug_info true
</source>
<match **>
  @type test_retry
  @id out
</match>`);
  const dbg = await getJson(`${r2.url()}/api/plugins.json?@id=out&debug=1`);
  assert.ok(dbg.body.plugins[0].instance_variables.buffer, 'debug shows the buffer metrics');
  assert.ok(dbg.body.plugins[0].instance_variables.buffer_config.totalLimitSize > 0);
  const iv = await getJson(`${r2.url()}/api/plugins.json?@id=out&with_ivars=emitCount`);
  assert.deepEqual(Object.keys(iv.body.plugins[0].instance_variables), ['emitCount']);
});

test('/api/config.json and /api/config describe the process; unknown paths are 404; /healthz and /readyz answer', async () => {
  const r = await start(PIPELINE);
  const cfg = await getJson(`${r.url()}/api/config.json`);
  assert.equal(cfg.status, 200);
  assert.equal(cfg.body.pid, process.pid);
  assert.equal(cfg.body.ppid, process.ppid);
  assert.equal(cfg.body.workers, 1);
  assert.equal(typeof cfg.body.version, 'string');
  const ltsv = await getJson(`${r.url()}/api/config`);
  assert.match(ltsv.body, new RegExp(`^pid:${process.pid}\tppid:${process.ppid}\t`));
  assert.equal((await getJson(`${r.url()}/api/nothing`)).status, 404);
  assert.deepEqual((await getJson(`${r.url()}/healthz`)).body, { status: 'ok' });
  assert.deepEqual(await getJson(`${r.url()}/readyz`), { status: 200, body: { status: 'ready' } });
  assert.equal(r.engine.ready, true);
  await r.stop();
  assert.equal(r.engine.ready, false);
  await assert.rejects(fetch(`${r.url()}/healthz`), 'the port is closed once the engine stopped');
});

test('tag + emit_interval emits one record per plugin as events', async () => {
  const r = await start(`
<source>
  @type monitor_agent
  @id mon
  port 0
  tag monitor.metrics
  emit_interval 0.05
</source>
<match monitor.**>
  @type test_capture
  @id out_mon
  name mon
</match>`);
  await waitUntil(() => (recordsOf('mon').length >= 2 ? true : undefined), 'two emitted records');
  const recs = recordsOf('mon');
  assert.deepEqual(
    recs.slice(0, 2).map((x) => x.plugin_id),
    ['mon', 'out_mon'],
  );
  assert.equal(recs[0]!.plugin_category, 'input');
  assert.equal(recs[0]!.config, undefined, 'emit_config is false by default');
  assert.equal(captured.get('mon')![0]!.tag, 'monitor.metrics');
  await r.stop();
});

test('bad settings are config errors with the location; a busy port fails start with the reason', async () => {
  const quiet = pino({ level: 'silent' });
  await assert.rejects(
    Engine.fromText('<source>\n  @type monitor_agent\n  port 70000\n</source>\n', { logger: quiet }),
    /inline\.conf:3:3: parameter 'port' must be 0-65535/,
  );
  await assert.rejects(
    Engine.fromText('<source>\n  @type monitor_agent\n  dashbord true\n</source>\n', {
      logger: quiet,
      strict: true,
    }),
    /dashbord.*dashboard/s,
  );
  const r = await start('<source>\n  @type monitor_agent\n  port 0\n</source>\n');
  const port = new URL(r.url()).port;
  const clash = await Engine.fromText(
    `<source>\n  @type monitor_agent\n  port ${port}\n</source>\n<source>\n  @type prometheus\n  port ${port}\n</source>\n`,
    { logger: quiet },
  );
  await assert.rejects(clash.start(), /EADDRINUSE/);
  await clash.stop();
});
