import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, EventTime } from '@sluice/forward';
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

test('out_file writes time<TAB>tag<TAB>json\\n with ISO 8601 time, as Fluentd', () => {
  assert.equal(
    build(outFile, 'utc true').format(TAG, T, REC),
    `2013-02-28T03:00:00Z\tapp.log\t{"message":"awesome","greeting":"hello"}\n`,
  );
  assert.equal(
    build(outFile, 'timezone +09:00').format(TAG, T, REC),
    `2013-02-28T12:00:00+09:00\tapp.log\t{"message":"awesome","greeting":"hello"}\n`,
  );
  assert.equal(
    build(outFile, 'timezone Asia/Tokyo\ntime_format %Y%m%d %H:%M:%S.%L').format(TAG, T, REC),
    `20130228 12:00:00.123\tapp.log\t{"message":"awesome","greeting":"hello"}\n`,
  );
  assert.equal(
    build(outFile, 'output_time false\noutput_tag false').format(TAG, T, REC),
    '{"message":"awesome","greeting":"hello"}\n',
  );
  assert.equal(
    build(outFile, 'output_time false\ndelimiter SPACE').format(TAG, T, REC),
    'app.log {"message":"awesome","greeting":"hello"}\n',
  );
  assert.equal(
    build(outFile, 'output_tag false\ndelimiter comma\ntime_type unixtime').format(TAG, T, REC),
    '1362020400,{"message":"awesome","greeting":"hello"}\n',
  );
  assert.equal(
    build(outFile, 'output_tag false\ntime_type float\nnewline crlf').format(TAG, T, REC),
    '1362020400.123456789\t{"message":"awesome","greeting":"hello"}\r\n',
  );
  // local time follows TZ; the offset printed matches the local zone of that instant
  const local = build(outFile, '').format(TAG, T, REC) as string;
  const off = -new Date(T.toMillis()).getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const hhmm = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  assert.match(local, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:00\\${sign}${hhmm}\\tapp\\.log\\t`));
  assert.throws(() => build(outFile, 'utc true\nlocaltime true'), /both utc and localtime/);
});

test('json and single_value, with and without newline', () => {
  assert.equal(build(json).format(TAG, T, REC), '{"message":"awesome","greeting":"hello"}\n');
  assert.equal(
    build(json, 'add_newline false').format(TAG, T, REC),
    '{"message":"awesome","greeting":"hello"}',
  );
  assert.equal(build(singleValue).format(TAG, T, REC), 'awesome\n');
  assert.equal(build(singleValue, 'message_key greeting\nadd_newline false').format(TAG, T, REC), 'hello');
  assert.equal(
    build(singleValue).format(TAG, T, { other: 1 }),
    '\n',
    'a missing field is an empty line, as Ruby nil.to_s',
  );
});

test('ltsv replaces the delimiter inside values and writes Ruby to_s of non-strings', () => {
  assert.equal(build(ltsv).format(TAG, T, REC), 'message:awesome\tgreeting:hello\n');
  assert.equal(
    build(ltsv, 'delimiter ,\nlabel_delimiter =\nreplacement _\nadd_newline false').format(TAG, T, {
      a: 'x,y',
      n: 3,
      z: null,
    }),
    'a=x_y,n=3,z=',
  );
});

test('tsv writes the keys in order, missing ones empty', () => {
  assert.equal(build(tsv, 'keys greeting,message,none').format(TAG, T, REC), 'hello\tawesome\t\n');
  assert.equal(
    build(tsv, 'keys message,greeting\ndelimiter |\nadd_newline false').format(TAG, T, REC),
    'awesome|hello',
  );
});

test('csv matches Fluentd: force_quotes by default, nil and "" quoted, tab delimiter, nested fields', () => {
  assert.equal(build(csv, 'fields message,greeting').format(TAG, T, REC), '"awesome","hello"\n');
  assert.equal(
    build(csv, 'fields message,greeting\nadd_newline false').format(TAG, T, REC),
    '"awesome","hello"',
  );
  assert.equal(
    build(csv, 'fields message,greeting\ndelimiter \\t').format(TAG, T, REC),
    '"awesome"\t"hello"\n',
  );
  assert.equal(
    build(csv, 'fields message,greeting\nforce_quotes false').format(TAG, T, REC),
    'awesome,hello\n',
  );
  assert.equal(
    build(csv, 'fields message,message2,message3').format(TAG, T, {
      message: 'awesome',
      message2: null,
      message3: 'awesome3',
    }),
    '"awesome","","awesome3"\n',
  );
  assert.equal(
    build(csv, 'fields a,b,c,d\nforce_quotes false').format(TAG, T, {
      a: 'x,y',
      b: 'say "hi"',
      c: '',
      d: null,
    }),
    '"x,y","say ""hi""","",\n',
  );
  assert.equal(build(csv, 'fields $.a.b,c').format(TAG, T, { a: { b: 1 }, c: 2 }), '"1","2"\n');
  assert.throws(() => build(csv, 'fields ,'), /empty value is specified in fields/);
});

test('msgpack writes the record map; hash writes Ruby inspect', () => {
  const bytes = build(msgpack).format(TAG, T, REC) as Buffer;
  assert.deepEqual(decode(bytes), REC);
  assert.equal(
    build(hash).format(TAG, T, { message: 'awesome', n: 1, nil: null, list: ['a', 2], h: { k: true } }),
    '{"message" => "awesome", "n" => 1, "nil" => nil, "list" => ["a", 2], "h" => {"k" => true}}\n',
  );
  assert.equal(
    build(hash, 'add_newline false').format(TAG, T, REC),
    '{"message" => "awesome", "greeting" => "hello"}',
  );
});
