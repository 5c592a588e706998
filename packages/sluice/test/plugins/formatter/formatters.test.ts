import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, EventTime } from '@sluice/forward';
import type { EventRecord } from '../../../src/core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../../src/core/plugin.ts';
import csv from '../../../src/plugins/formatter/csv.ts';
import hash from '../../../src/plugins/formatter/hash.ts';
import json from '../../../src/plugins/formatter/json.ts';
import ltsv from '../../../src/plugins/formatter/ltsv.ts';
import msgpack from '../../../src/plugins/formatter/msgpack.ts';
import outFile from '../../../src/plugins/formatter/out_file.ts';
import singleValue from '../../../src/plugins/formatter/single_value.ts';
import tsv from '../../../src/plugins/formatter/tsv.ts';
import { build } from '../parser/helpers.ts';

// 2013-02-28T12:00:00+09:00 with some nanoseconds
const T = new EventTime(1362020400, 123456789);
const TAG = 'app.log';
const REC = { message: 'awesome', greeting: 'hello' };
const REC_JSON = '{"message":"awesome","greeting":"hello"}';

/** A formatter built from `conf` (a `<format>` body) formats `record` as TAG at T. */
function fmt(d: PluginDescriptor<FormatterPlugin>, conf = '', record: EventRecord = REC) {
  return build(d, conf).format(TAG, T, record);
}

test('out_file writes time<TAB>tag<TAB>json\\n with ISO 8601 time, as Fluentd', () => {
  assert.equal(fmt(outFile, 'utc true'), `2013-02-28T03:00:00Z\tapp.log\t${REC_JSON}\n`);
  assert.equal(fmt(outFile, 'timezone +09:00'), `2013-02-28T12:00:00+09:00\tapp.log\t${REC_JSON}\n`);
  assert.equal(
    fmt(outFile, 'timezone Asia/Tokyo\ntime_format %Y%m%d %H:%M:%S.%L'),
    `20130228 12:00:00.123\tapp.log\t${REC_JSON}\n`,
  );
  assert.equal(fmt(outFile, 'output_time false\noutput_tag false'), `${REC_JSON}\n`);
  assert.equal(fmt(outFile, 'output_time false\ndelimiter SPACE'), `app.log ${REC_JSON}\n`);
  assert.equal(
    fmt(outFile, 'output_tag false\ndelimiter comma\ntime_type unixtime'),
    `1362020400,${REC_JSON}\n`,
  );
  assert.equal(
    fmt(outFile, 'output_tag false\ntime_type float\nnewline crlf'),
    `1362020400.123456789\t${REC_JSON}\r\n`,
  );
  // local time follows TZ; the offset printed matches the local zone of that instant
  const local = fmt(outFile) as string;
  const off = -new Date(T.toMillis()).getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const hhmm = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  assert.match(local, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:00\\${sign}${hhmm}\\tapp\\.log\\t`));
  assert.throws(() => build(outFile, 'utc true\nlocaltime true'), /both utc and localtime/);
});

test('json and single_value, with and without newline', () => {
  assert.equal(fmt(json), `${REC_JSON}\n`);
  assert.equal(fmt(json, 'add_newline false'), REC_JSON);
  assert.equal(fmt(singleValue), 'awesome\n');
  assert.equal(fmt(singleValue, 'message_key greeting\nadd_newline false'), 'hello');
  assert.equal(
    fmt(singleValue, '', { other: 1 }),
    '\n',
    'a missing field is an empty line, as Ruby nil.to_s',
  );
});

test('ltsv replaces the delimiter inside values and writes Ruby to_s of non-strings', () => {
  assert.equal(fmt(ltsv), 'message:awesome\tgreeting:hello\n');
  assert.equal(
    fmt(ltsv, 'delimiter ,\nlabel_delimiter =\nreplacement _\nadd_newline false', {
      a: 'x,y',
      n: 3,
      z: null,
    }),
    'a=x_y,n=3,z=',
  );
});

test('tsv writes the keys in order, missing ones empty', () => {
  assert.equal(fmt(tsv, 'keys greeting,message,none'), 'hello\tawesome\t\n');
  assert.equal(fmt(tsv, 'keys message,greeting\ndelimiter |\nadd_newline false'), 'awesome|hello');
});

test('csv matches Fluentd: force_quotes by default, nil and "" quoted, tab delimiter, nested fields', () => {
  assert.equal(fmt(csv, 'fields message,greeting'), '"awesome","hello"\n');
  assert.equal(fmt(csv, 'fields message,greeting\nadd_newline false'), '"awesome","hello"');
  assert.equal(fmt(csv, 'fields message,greeting\ndelimiter \\t'), '"awesome"\t"hello"\n');
  assert.equal(fmt(csv, 'fields message,greeting\nforce_quotes false'), 'awesome,hello\n');
  assert.equal(
    fmt(csv, 'fields message,message2,message3', {
      message: 'awesome',
      message2: null,
      message3: 'awesome3',
    }),
    '"awesome","","awesome3"\n',
  );
  assert.equal(
    fmt(csv, 'fields a,b,c,d\nforce_quotes false', {
      a: 'x,y',
      b: 'say "hi"',
      c: '',
      d: null,
    }),
    '"x,y","say ""hi""","",\n',
  );
  assert.equal(fmt(csv, 'fields $.a.b,c', { a: { b: 1 }, c: 2 }), '"1","2"\n');
  assert.throws(() => build(csv, 'fields ,'), /empty value is specified in fields/);
});

test('msgpack writes the record map; hash writes Ruby inspect', () => {
  const bytes = fmt(msgpack) as Buffer;
  assert.deepEqual(decode(bytes), REC);
  assert.equal(
    fmt(hash, '', { message: 'awesome', n: 1, nil: null, list: ['a', 2], h: { k: true } }),
    '{"message" => "awesome", "n" => 1, "nil" => nil, "list" => ["a", 2], "h" => {"k" => true}}\n',
  );
  assert.equal(fmt(hash, 'add_newline false'), '{"message" => "awesome", "greeting" => "hello"}');
});
