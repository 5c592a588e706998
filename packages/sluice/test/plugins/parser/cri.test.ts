// fluent-plugin-parser-cri: its README examples and its own tests, as Sluice's cri parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPlugin } from '../../../src/engine/registry.ts';
import cri, { type CriParser } from '../../../src/plugins/parser/cri.ts';
import type { SluiceParser } from '../../../src/shared/parse/common.ts';
import { parseRfc3339, splitCri } from '../../../src/shared/parse/cri.ts';
import { build } from './helpers.ts';

const T = Date.UTC(2020, 9, 10, 0, 10, 0) / 1000;

test('README basic case: stream, logtag, message and the time kept as written', () => {
  const p = build(cri) as CriParser;
  const r = p.parse('2020-10-10T00:10:00.333333333Z stdout F Hello Fluentd')!;
  assert.equal(r.time!.sec, T);
  assert.equal(r.time!.nsec, 333333333);
  assert.deepEqual(r.record, {
    stream: 'stdout',
    logtag: 'F',
    message: 'Hello Fluentd',
    time: '2020-10-10T00:10:00.333333333Z',
  });
  assert.equal(p.joinPartials, true);
});

test('leading spaces of the message are kept (split on single whitespace, as Ruby split(/\\s/, 4))', () => {
  const r = build(cri).parse('2020-10-10T00:10:00.333333333Z stdout F    Hello Fluentd with heading spaces')!;
  assert.equal(r.record.message, '   Hello Fluentd with heading spaces');
});

test('keep_time_key false drops the time field', () => {
  const r = build(cri, 'keep_time_key false').parse('2020-10-10T00:10:00.333333333Z stdout F Hello Fluentd')!;
  assert.deepEqual(r.record, { stream: 'stdout', logtag: 'F', message: 'Hello Fluentd' });
});

test('README: a nested <parse> @type json reads the message; stream and logtag are merged', async () => {
  await loadPlugin('parser', 'json');
  const line =
    '2020-10-10T00:10:00.333333333Z stdout F {"foo":"bar","num":100,"time":"2020-11-11T00:11:00.111111111Z"}';
  const nested = '<parse>\n@type json\ntime_key time\ntime_format %Y-%m-%dT%H:%M:%S.%L%z\n</parse>';
  const r = build(cri, nested).parse(line)!;
  assert.equal(r.time!.sec, Date.UTC(2020, 10, 11, 0, 11, 0) / 1000);
  assert.equal(r.time!.nsec, 111111111);
  assert.deepEqual(r.record, { foo: 'bar', num: 100, stream: 'stdout', logtag: 'F' });
  const plain = build(cri, `merge_cri_fields false\n${nested}`).parse(line)!;
  assert.deepEqual(plain.record, { foo: 'bar', num: 100 });
});

test('a nested parser that does not match fails the line, with its reason', async () => {
  await loadPlugin('parser', 'json');
  const p = build(cri, '<parse>\n@type json\n</parse>') as SluiceParser;
  assert.equal(p.parse('2020-10-10T00:10:00Z stdout F not json'), undefined);
  assert.match(p.lastError!, /JSON/);
});

test('not a CRI line, or a time that does not parse: no record, and why', () => {
  const p = build(cri) as SluiceParser;
  assert.equal(p.parse('2020-10-10T00:10:00Z stdout'), undefined);
  assert.match(p.lastError!, /not a CRI log line/);
  assert.equal(p.parse('yesterday stdout F x'), undefined);
  assert.match(p.lastError!, /invalid time format/);
});

test('an empty line is written with its trailing space: an empty message', () => {
  assert.deepEqual(build(cri).parse('2020-10-10T00:10:00Z stderr F ')!.record.message, '');
});

test("the official DaemonSet's time_format (%Y-%m-%dT%H:%M:%S.%NZ) and Go's RFC3339Nano without trailing zeros", () => {
  const p = build(cri, 'time_format %Y-%m-%dT%H:%M:%S.%NZ');
  for (const [text, nsec] of [
    ['2020-10-10T00:10:00.333333333Z', 333333333],
    ['2020-10-10T00:10:00.5Z', 500000000],
    ['2020-10-10T00:10:00Z', 0],
  ] as const) {
    const r = p.parse(`${text} stdout F x`)!;
    assert.equal(r.time!.sec, T, text);
    assert.equal(r.time!.nsec, nsec, text);
  }
  assert.equal(parseRfc3339('2020-10-10T09:10:00.25+09:00')!.sec, T);
  assert.equal(parseRfc3339('2020-10-10T09:10:00.25+09:00')!.nsec, 250000000);
  assert.equal(parseRfc3339('2020-10-10 00:10:00'), undefined);
});

test('splitCri is Ruby split(/\\s/, 4): exactly four fields or none', () => {
  assert.deepEqual(splitCri('a b c d e'), ['a', 'b', 'c', 'd e']);
  assert.deepEqual(splitCri('a\tb c '), ['a', 'b', 'c', '']);
  assert.deepEqual(splitCri('a  b c'), ['a', '', 'b', 'c']);
  assert.equal(splitCri('a b c'), undefined);
});

test('the byte path (in_tail) writes exactly the entry parse() and the record encoder give, or leaves the line', async () => {
  const { BatchBuilder, strBytes } = await import('../../../src/core/batch-builder.ts');
  const lines = [
    '2020-10-10T00:10:00.333333333Z stdout F Hello Fluentd',
    '2020-10-10T00:10:00Z stderr F    leading spaces',
    '2020-10-10T00:10:00.5Z stdout F ',
    '2020-10-10T09:10:00.123+09:00 stdout F offset with colon',
    '2020-10-10T09:10:00.123-0130 stdout F offset without colon',
    '2020-10-10T00:10:00.1234567891Z stdout F ten digits of fraction',
    '2020-10-10T00:10:00.000000001Z\tstdout\tP:x tabs and a P with attributes',
    '2020-10-10T00:10:00Z stdout F ünïcödé ✓',
  ];
  for (const body of ['', 'keep_time_key false', 'time_key ts']) {
    const p = build(cri, body) as CriParser & Required<Pick<SluiceParser, 'entry'>>;
    for (const line of lines) {
      for (const extra of [undefined, Buffer.concat([strBytes('path'), strBytes('/var/log/x.log')])]) {
        const b = Buffer.from(`##${line}##`);
        const direct = new BatchBuilder();
        assert.equal(p.entry(direct, b, 2, b.length - 2, extra), true, line);
        const r = p.parse(line)!;
        const viaRecord = new BatchBuilder();
        viaRecord.beginEntry(r.time!.sec, r.time!.nsec);
        if (extra) r.record.path = '/var/log/x.log';
        viaRecord.record(r.record);
        assert.deepEqual(direct.finish(), viaRecord.finish(), `${body}: ${line}`);
      }
    }
    // Left to parse(): times that are not RFC 3339, lines that are not CRI lines.
    for (const line of [
      '2020-10-10 stdout F x',
      '2020-10-10T00:10:00 stdout F no zone',
      'stdout F',
      '2020-10-10T00:10:00.Z stdout F x',
    ]) {
      const w = new BatchBuilder();
      assert.equal(p.entry(w, Buffer.from(line), 0, Buffer.byteLength(line), undefined), false, line);
      assert.equal(w.len, 0);
    }
  }
  // A nested <parse>, or a time format that is not RFC 3339: never the byte path.
  await loadPlugin('parser', 'json');
  const nested = build(cri, '<parse>\n@type json\n</parse>') as CriParser &
    Required<Pick<SluiceParser, 'entry'>>;
  const other = build(cri, 'time_format %d/%m/%Y') as CriParser & Required<Pick<SluiceParser, 'entry'>>;
  const line = Buffer.from('2020-10-10T00:10:00Z stdout F {}');
  assert.equal(nested.entry(new BatchBuilder(), line, 0, line.length, undefined), false);
  assert.equal(other.entry(new BatchBuilder(), line, 0, line.length, undefined), false);
});
