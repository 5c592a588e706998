import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventTime } from '@sluice/forward';
import { EventBatch, type EventRecord } from '../../../src/core/batch.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import parserFilter from '../../../src/plugins/filter/parser.ts';
import { instantiate } from '../../../src/testing/context.ts';

for (const t of ['json', 'regexp', 'apache2', 'ltsv']) await loadPlugin('parser', t);

const T0 = new EventTime(1000, 0);
const T_JSON = 1362020400;

function run(conf: string, records: EventRecord[]) {
  const { plugin, ctx } = instantiate(parserFilter, `<filter **>\n@type parser\n${conf}\n</filter>\n`);
  const batch = EventBatch.fromEntries(
    'app',
    records.map((record) => ({ time: T0, record })),
  );
  const out = plugin.filter(batch) as EventBatch | null;
  return { out: out ? out.entries() : [], errors: ctx.errors };
}

test('parses key_name with the nested <parse>, taking the parsed time', () => {
  const { out, errors } = run('key_name log\n<parse>\n@type json\n</parse>', [
    { log: `{"a":1,"time":${T_JSON}}`, other: 'x' },
  ]);
  assert.deepEqual(
    out.map((e) => e.record),
    [{ a: 1 }],
  );
  assert.equal(out[0]!.time.sec, T_JSON);
  assert.equal(errors.length, 0);
});

test('reserve_data, reserve_time, remove_key_name_field, inject_key_prefix and hash_value_field', () => {
  const rec = { log: `{"a":1,"time":${T_JSON}}`, other: 'x' };
  let r = run('key_name log\nreserve_data true\nreserve_time true\n<parse>\n@type json\n</parse>', [rec]);
  assert.deepEqual(r.out[0]!.record, { log: rec.log, other: 'x', a: 1 });
  assert.equal(r.out[0]!.time.sec, 1000);
  r = run('key_name log\nreserve_data true\nremove_key_name_field true\n<parse>\n@type json\n</parse>', [
    rec,
  ]);
  assert.deepEqual(r.out[0]!.record, { other: 'x', a: 1 });
  r = run('key_name log\ninject_key_prefix p.\nhash_value_field parsed\n<parse>\n@type json\n</parse>', [
    rec,
  ]);
  assert.deepEqual(r.out[0]!.record, { parsed: { 'p.a': 1 } });
  r = run('key_name $.k8s.log\n<parse>\n@type ltsv\n</parse>', [{ k8s: { log: 'a:1\tb:2' } }]);
  assert.deepEqual(r.out[0]!.record, { a: '1', b: '2' });
});

test('unmatched data goes to @ERROR; with reserve_data the original record continues', () => {
  const bad = { log: 'not json', keep: 1 };
  let r = run('key_name log\n<parse>\n@type json\n</parse>', [bad, { log: '{"ok":true}' }]);
  assert.deepEqual(
    r.out.map((e) => e.record),
    [{ ok: true }],
  );
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!.error.message, /pattern not matched with data 'not json'/);
  assert.deepEqual(r.errors[0]!.record, bad);
  r = run('key_name log\nreserve_data true\n<parse>\n@type json\n</parse>', [bad]);
  assert.deepEqual(
    r.out.map((e) => e.record),
    [bad],
  );
  assert.equal(r.errors.length, 1);
  r = run('key_name log\nemit_invalid_record_to_error false\n<parse>\n@type json\n</parse>', [bad]);
  assert.equal(r.out.length, 0);
  assert.equal(r.errors.length, 0);
});

test('a missing key and a bad time are errors; nothing else in the batch is lost', () => {
  const r = run(
    'key_name log\n<parse>\n@type regexp\nexpression /^(?<time>\\S+) (?<msg>.*)$/\ntime_format %Y-%m-%d\n</parse>',
    [
      { nolog: 1 },
      { log: 'yesterday hello' },
      { log: '2013-02-28 hi' },
      { log: 42 },
      { log: { nested: true } },
    ],
  );
  assert.equal(r.out.length, 1);
  assert.deepEqual(r.out[0]!.record, { msg: 'hi' });
  assert.deepEqual(
    r.errors.map((e) => e.error.message),
    [
      'log does not exist',
      'parse failed: invalid time format: value = yesterday',
      "pattern not matched with data '42'",
      'parse failed: log is not a string',
    ],
  );
});

test('a JSON array in the field gives one record per element, as Fluentd', () => {
  const r = run('key_name log\n<parse>\n@type json\n</parse>', [{ log: '[{"a":1},{"a":2}]' }]);
  assert.deepEqual(
    r.out.map((e) => e.record),
    [{ a: 1 }, { a: 2 }],
  );
});

test('configuration errors: missing key_name or <parse>', () => {
  assert.throws(() => run('<parse>\n@type json\n</parse>', []), /missing required parameter 'key_name'/);
  assert.throws(() => run('key_name log', []), /missing required section <parse>/);
});
