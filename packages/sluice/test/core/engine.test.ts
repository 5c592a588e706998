import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../src/core/batch.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { Engine } from '../../src/engine/engine.ts';
import {
  captured,
  gates,
  inputs,
  recordsOf,
  registerTestPlugins,
  resetCapture,
  tagsOf,
} from '../helpers/capture.ts';

registerTestPlugins();
beforeEach(resetCapture);
const quiet = pino({ level: 'silent' });

function one(tag: string, record: Record<string, unknown> = { message: 'x' }): EventBatch {
  return EventBatch.single(tag, new EventTime(1700000000, 0), record);
}

async function engine(conf: string): Promise<Engine> {
  const e = await Engine.fromText(conf, { logger: quiet });
  await e.start();
  return e;
}

test('first match wins: a later catch-all does not see events an earlier match took', async () => {
  const e = await engine(`
<match app.**>
  @type test_capture
  name app
</match>
<match **>
  @type test_capture
  name rest
</match>`);
  await e.emit(one('app'));
  await e.emit(one('app.web.access'));
  await e.emit(one('other'));
  assert.deepEqual(tagsOf('app'), ['app', 'app.web.access']);
  assert.deepEqual(tagsOf('rest'), ['other']);
  await e.stop();
});

test('filters apply in order, and only those before the matching <match>', async () => {
  const e = await engine(`
<filter app.**>
  @type test_mark
  mark first
</filter>
<filter other>
  @type test_mark
  mark not-for-app
</filter>
<filter **>
  @type test_mark
  mark second
</filter>
<match app.**>
  @type test_capture
  name app
</match>
<filter **>
  @type test_mark
  mark after-match
</filter>
<match **>
  @type test_capture
  name rest
</match>`);
  await e.emit(one('app.x'));
  await e.emit(one('zzz'));
  assert.deepEqual(recordsOf('app')[0]!.marks, ['first', 'second']);
  assert.deepEqual(recordsOf('rest')[0]!.marks, ['second', 'after-match']);
  await e.stop();
});

test('@label on a source routes into that label; relabel moves events between labels', async () => {
  const e = await engine(`
<source>
  @type test_input
  tag src
  @label @IN
</source>
<label @IN>
  <match **>
    @type relabel
    @label @OUT
  </match>
</label>
<label @OUT>
  <match **>
    @type test_capture
    name out
  </match>
</label>
<match **>
  @type test_capture
  name root
</match>`);
  await inputs.get('src')!.emit(one('t.1'));
  assert.equal(recordsOf('out').length, 1);
  assert.equal(captured.get('root'), undefined);
  await e.stop();
});

test('events a filter fails on go to <label @ERROR> with their tag', async () => {
  const e = await engine(`
<filter bad.**>
  @type test_throw
</filter>
<match **>
  @type test_capture
  name ok
</match>
<label @ERROR>
  <match **>
    @type test_capture
    name errors
  </match>
</label>`);
  await e.emit(
    EventBatch.fromEntries('bad.x', [
      { time: new EventTime(1, 0), record: { n: 1 } },
      { time: new EventTime(2, 0), record: { n: 2 } },
    ]),
  );
  await e.emit(one('good'));
  assert.deepEqual(
    recordsOf('errors').map((r) => r.n),
    [1, 2],
  );
  assert.deepEqual(tagsOf('errors'), ['bad.x', 'bad.x']);
  assert.deepEqual(tagsOf('ok'), ['good']);
  await e.stop();
});

test('copy delivers to every store; ignore_error keeps a failing store from failing the emit', async () => {
  const e = await engine(`
<match **>
  @type copy
  copy_mode deep
  <store ignore_error>
    @type test_capture
    name a
  </store>
  <store>
    @type test_capture
    name b
  </store>
</match>`);
  await e.emit(one('t', { v: 1 }));
  assert.deepEqual(recordsOf('a'), [{ v: 1 }]);
  assert.deepEqual(recordsOf('b'), [{ v: 1 }]);
  gates.set('a', () => Promise.reject(new Error('store a down')));
  await e.emit(one('t', { v: 2 }));
  assert.deepEqual(
    recordsOf('b').map((r) => r.v),
    [1, 2],
  );
  gates.set('b', () => Promise.reject(new Error('store b down')));
  await assert.rejects(e.emit(one('t', { v: 3 })), /store b down/);
  await e.stop();
});

test('emit resolves only once the output accepted, and rejects when it refuses', async () => {
  const e = await engine(`
<source>
  @type test_input
  tag src
</source>
<match **>
  @type test_capture
  name out
</match>`);
  let release!: () => void;
  gates.set('out', () => new Promise<void>((r) => (release = r)));
  let settled = false;
  const p = inputs
    .get('src')!
    .emit(one('t'))
    .then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'emit must wait for acceptance');
  release();
  await p;
  assert.equal(settled, true);
  gates.set('out', () => Promise.reject(new Error('buffer full')));
  await assert.rejects(inputs.get('src')!.emit(one('t')), /buffer full/);
  assert.equal(inputs.get('src')!.metrics.emitRecords, 2);
  await e.stop();
});

test('unmatched events are counted (and dropped, as Fluentd does)', async () => {
  const e = await engine(`
<match app>
  @type test_capture
  name app
</match>`);
  await e.emit(one('nobody'));
  await e.emit(one('nobody'));
  assert.equal(e.pipeline()!.unmatchedRecords, 2);
  await e.stop();
});

test('<worker N> sections only run in their worker; ranges are checked', async () => {
  const conf = `
<system>
  workers 2
</system>
<worker 1>
  <match **>
    @type test_capture
    name w1
  </match>
</worker>
<match **>
  @type test_capture
  name all
</match>`;
  const w0 = await Engine.fromText(conf, { logger: quiet, workerId: 0 });
  const w1 = await Engine.fromText(conf, { logger: quiet, workerId: 1 });
  await w0.emit(one('t'));
  await w1.emit(one('t'));
  assert.equal(recordsOf('all').length, 1);
  assert.equal(recordsOf('w1').length, 1);
  await assert.rejects(
    Engine.fromText('<worker 0-3>\n</worker>', { logger: quiet }),
    /worker 3 does not exist/,
  );
});

async function configError(conf: string, strict = false): Promise<ConfigError> {
  try {
    await Engine.fromText(conf, { logger: quiet, file: 'x.conf', strict });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  assert.fail('expected a config error');
}

test('config errors name file, line and column and what is wrong', async () => {
  let e = await configError('<match **>\n  @type test_capture\n  nmae x\n</match>', true);
  assert.match(e.message, /^x\.conf:3:3: unknown parameter 'nmae'.*did you mean 'name'/);
  e = await configError('<source>\n  @type test_input\n  tag a\n  @label @NOPE\n</source>');
  assert.match(e.message, /^x\.conf:4:\d+: @label @NOPE: no such <label>/);
  e = await configError('<match **>\n  @type bigquery\n</match>');
  assert.match(
    e.message,
    /output plugin 'bigquery' is not built in Sluice \(built in: .*copy.*\); docs\/migrating-from-fluentd\.md/,
  );
  e = await configError('<match **>\n  @type no_such_thing\n</match>');
  assert.match(
    e.message,
    /output plugin 'no_such_thing' is not built in Sluice .*docs\/migrating-from-fluentd\.md/,
  );
  e = await configError('<match **>\n  @type stdot\n</match>');
  assert.match(e.message, /output plugin 'stdot' is not built in Sluice \(did you mean 'stdout'\? built in:/);
  e = await configError('<sauce>\n</sauce>');
  assert.match(e.message, /^x\.conf:1:1: .*<sauce>.*did you mean <source>/);
  e = await configError('<label @A>\n</label>\n<label @A>\n</label>');
  assert.match(e.message, /^x\.conf:3:1: label @A is defined twice/);
  e = await configError('<match **>\n  @type relabel\n  @label @MISSING\n</match>');
  assert.match(e.message, /no <label @MISSING> is defined/);
});

test("Sluice's own log events reach <label @FLUENT_LOG> as fluent.<level>", async () => {
  const { createLogger } = await import('../../src/core/logger.ts');
  const log = createLogger({ level: 'info', file: '/dev/null' });
  const e = await Engine.fromText(
    `
<label @FLUENT_LOG>
  <match fluent.**>
    @type test_capture
    name log
  </match>
</label>
<match app>
  @type test_capture
  name app
</match>`,
    { logger: log.logger, setLogSink: log.setEventSink },
  );
  await e.start();
  log.logger.warn({ detail: 1 }, 'something happened');
  await e.emit(one('unrouted.tag'));
  await new Promise((r) => setImmediate(r));
  const tags = tagsOf('log');
  assert.ok(tags.includes('fluent.warn'), `got ${tags}`);
  const rec = recordsOf('log').find((r) => r.message === 'something happened');
  assert.equal(rec?.detail, 1);
  assert.ok(
    recordsOf('log').some((r) => String(r.message).includes('no patterns matched tag="unrouted.tag"')),
  );
  await e.stop();
});

test('unknown parameters and sections are warned with file:line and ignored; strict refuses them', async () => {
  const lines: { msg: string; code?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const conf = '<match **>\n  @type test_capture\n  name ok\n  nmae x\n  <bogus>\n  </bogus>\n</match>';
  const engine = await Engine.fromText(conf, { logger, file: 'x.conf' });
  await engine.stop();
  const warned = lines.filter((l) => l.code === 'CONFIG_UNKNOWN').map((l) => l.msg);
  assert.equal(warned.length, 2, JSON.stringify(lines));
  assert.match(warned[0]!, /^x\.conf:4:3: unknown parameter 'nmae'.*did you mean 'name'.*ignored/);
  assert.match(warned[1]!, /^x\.conf:5:3: unknown section '<bogus>'/);
  const e = await configError(conf, true);
  assert.match(e.message, /^x\.conf:4:3: unknown parameter 'nmae'/);
});

test('a label may have any name, as in Fluentd; @ROOT is reserved', async () => {
  const engine = await Engine.fromText(
    '<source>\n  @type test_input\n  tag a\n  @label labelPipeline\n</source>\n<label labelPipeline>\n  <match **>\n    @type test_capture\n    name anyname\n  </match>\n</label>',
    { logger: quiet },
  );
  await engine.emit(one('a'), 'labelPipeline');
  assert.equal(recordsOf('anyname').length, 1);
  await engine.stop();
  const e = await configError('<label @ROOT>\n</label>');
  assert.match(e.message, /@ROOT is reserved/);
});

test('an input that cannot share its work across workers (tail) is refused outside <worker N>, as in Fluentd', async () => {
  const tail = (extra = '') =>
    `<source>\n  @type tail\n  path /nonexistent/app.log\n  pos_file /nonexistent/app.pos\n  tag app\n  <parse>\n    @type none\n  </parse>\n${extra}</source>\n`;
  const system = '<system>\n  workers 2\n</system>\n';
  const sink = '<match **>\n  @type null\n</match>\n';
  let e = await configError(system + tail() + sink);
  assert.match(
    e.message,
    /^x\.conf:4:1: Plugin 'tail' does not support multi workers configuration.*<worker N>/,
  );
  e = await configError(`${system}<worker 0-1>\n${tail()}</worker>\n${sink}`);
  assert.match(e.message, /Plugin 'tail' does not support multi workers/);
  // In one worker's section it is built (and runs only there); forward and sample run in every worker.
  const conf = `${system}<worker 1>\n${tail()}</worker>\n<source>\n  @type sample\n  tag s\n</source>\n${sink}`;
  for (const workerId of [0, 1]) {
    const engine = await Engine.fromText(conf, { logger: quiet, workerId });
    assert.deepEqual(
      engine
        .graph()
        .inputs.map((i) => i.type)
        .sort(),
      workerId === 1 ? ['sample', 'tail'] : ['sample'],
    );
    await engine.stop();
  }
});

test('every config error is reported at once, in file order (an output error does not hide an input error above it)', async () => {
  const conf = [
    '<source>',
    '  @type test_input',
    '</source>',
    '<source>',
    '  @type no_such_input',
    '</source>',
    '<match a.**>',
    '  @type test_capture',
    '  name a',
    '  nmae typo',
    '</match>',
    '<match **>',
    '  @type bigquery',
    '</match>',
  ].join('\n');
  const e = await configError(conf, true);
  assert.deepEqual(
    e.message.split('\n').map((l) => l.replace(/: .*/, '')),
    ['x.conf:1:1', 'x.conf:5:3', 'x.conf:10:3', 'x.conf:13:3'],
  );
  assert.match(e.message, /x\.conf:1:1: missing required parameter 'tag'/);
  assert.match(e.message, /x\.conf:5:3: input plugin 'no_such_input' is not built in Sluice/);
  assert.match(e.message, /x\.conf:13:3: output plugin 'bigquery' is not built in Sluice/);
});
