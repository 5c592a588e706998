// <inject> on the outputs that have it in Fluentd (stdout, file, and the stdout filter):
// host name, worker id, tag and time added to each record before it is formatted, with
// Fluentd's time types; and v0.12's include_time_key / include_tag_key, which the config
// layer maps to <inject>, now doing what they say.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import { parseConfigText } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import { EventBatch } from '../../../src/core/batch.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import { createStdoutFilter } from '../../../src/plugins/filter/stdout.ts';
import stdout, { createStdoutOutput } from '../../../src/plugins/output/stdout.ts';
import { testContext } from '../../../src/testing/context.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString('utf8');
    cb();
  }
}

const TIME = new EventTime(1_700_000_000, 123_456_789);

/** The text a stdout output built from `snippet` prints for one event. */
async function printedText(snippet: string, workerId = 0): Promise<string> {
  await loadPlugin('formatter', 'stdout');
  await loadPlugin('formatter', 'json');
  const el = parseConfigText(snippet, { file: 'inject.conf' }).elements[0]!;
  const ctx = testContext({ id: 'out' });
  ctx.workerId = workerId;
  const sink = new Capture();
  const out = createStdoutOutput(resolve(stdout.schema, el, '<match> @type stdout'), ctx, sink);
  const record = { message: 'hi' };
  await out.process!(EventBatch.single('app.web', TIME, record));
  assert.deepEqual(record, { message: 'hi' }, 'the batch record is not changed');
  return sink.text;
}

/** The JSON record of each line printed by a stdout output built from `snippet`. */
async function printed(snippet: string, workerId = 0): Promise<Record<string, unknown>[]> {
  return (await printedText(snippet, workerId))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))));
}

describe('<inject>', () => {
  test('hostname_key, worker_id_key, tag_key and time_key (float, microseconds, by default)', async () => {
    const [r] = await printed(
      '<match **>\n  @type stdout\n  <inject>\n    hostname_key host\n    hostname web-1\n    worker_id_key worker\n    tag_key tag\n    time_key t\n  </inject>\n</match>',
      3,
    );
    assert.deepEqual(r, { message: 'hi', host: 'web-1', worker: 3, tag: 'app.web', t: 1700000000.123456 });
  });

  test('time types: unixtime, unixtime_millis/_micros/_nanos, string with time_format and timezone', async () => {
    const one = async (lines: string) =>
      (
        await printed(
          `<match **>\n  @type stdout\n  <inject>\n    time_key t\n${lines}\n  </inject>\n</match>`,
        )
      )[0]!.t;
    assert.equal(await one('    time_type unixtime'), 1700000000);
    assert.equal(await one('    time_type unixtime_millis'), 1700000000123);
    assert.equal(await one('    time_type unixtime_micros'), 1700000000123456);
    // Past 2^53: checked in the printed text, which JSON.parse would round.
    assert.match(
      await printedText(
        '<match **>\n  @type stdout\n  <inject>\n    time_key t\n    time_type unixtime_nanos\n  </inject>\n</match>',
      ),
      /"t":1700000000123456789\}/,
    );
    assert.equal(
      await one('    time_type string\n    time_format %Y-%m-%dT%H:%M:%S.%L%z\n    timezone +09:00'),
      '2023-11-15T07:13:20.123+0900',
    );
    assert.equal(await one('    time_type string\n    utc true'), '2023-11-14T22:13:20Z');
  });

  test("v0.12's include_time_key and include_tag_key add the fields (Fluentd's compat layer)", async () => {
    const [r] = await printed(
      '<match **>\n  @type stdout\n  include_time_key true\n  time_key @timestamp\n  utc true\n  include_tag_key true\n</match>',
    );
    assert.equal(r!.tag, 'app.web');
    assert.equal(r!['@timestamp'], '2023-11-14T22:13:20Z');
  });

  test('the stdout filter injects too, and passes the batch on unchanged', async () => {
    await loadPlugin('formatter', 'stdout');
    const el = parseConfigText(
      '<filter **>\n  @type stdout\n  <inject>\n    tag_key t\n  </inject>\n</filter>',
      {
        file: 'f.conf',
      },
    ).elements[0]!;
    const { default: filter } = await import('../../../src/plugins/filter/stdout.ts');
    const sink = new Capture();
    const f = createStdoutFilter(resolve(filter.schema, el, 'f'), testContext({ id: 'f' }), sink);
    const batch = EventBatch.single('a.b', TIME, { x: 1 });
    assert.equal(await f.filter(batch), batch);
    assert.match(sink.text, /"t":"a\.b"/);
  });
});
