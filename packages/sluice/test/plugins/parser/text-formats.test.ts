import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import csv from '../../../src/plugins/parser/csv.ts';
import json from '../../../src/plugins/parser/json.ts';
import ltsv from '../../../src/plugins/parser/ltsv.ts';
import msgpack from '../../../src/plugins/parser/msgpack.ts';
import none from '../../../src/plugins/parser/none.ts';
import tsv from '../../../src/plugins/parser/tsv.ts';
import type { SluiceParser } from '../../../src/shared/parse/common.ts';
import { build } from './helpers.ts';

test('none keeps the line under message_key; time is now unless estimate_current_event false', () => {
  const before = EventTime.now().sec;
  const r = build(none).parse('a line')!;
  assert.deepEqual(r.record, { message: 'a line' });
  assert.ok(r.time!.sec >= before);
  const k = build(none, 'message_key log\nestimate_current_event false').parse('')!;
  assert.deepEqual(k.record, { log: '' });
  assert.equal(k.time, undefined);
});

test('json reads time as float seconds from "time" by default, keeping nanoseconds', () => {
  const p = build(json);
  const r = p.parse('{"time":1362020400.123456789,"host":"192.168.0.1","size":777,"method":"PUT"}')!;
  assert.equal(r.time!.sec, 1362020400);
  assert.deepEqual(r.record, { host: '192.168.0.1', size: 777, method: 'PUT' });
  const s = p.parse('{"time":"1362020400.123456789","a":1}')!;
  assert.equal(s.time!.nsec, 123456789);
  assert.equal(p.parse('{"a":1}')!.time!.sec >= 1362020400, true);
});

test('json with time_format reads string times; types, keep_time_key and null rules apply', () => {
  const p = build(
    json,
    'time_format %d/%b/%Y:%H:%M:%S %z\nkeep_time_key true\ntypes size:string,ok:bool\nnull_empty_string true',
  );
  const r = p.parse('{"time":"28/Feb/2013:12:00:00 +0900","size":777,"ok":"yes","empty":""}')!;
  assert.equal(r.time!.sec, 1362020400);
  assert.deepEqual(r.record, { time: '28/Feb/2013:12:00:00 +0900', size: '777', ok: true, empty: null });
  const mixed = build(json, 'time_type mixed\ntime_format %iso8601\ntime_format_fallbacks unixtime');
  assert.equal(mixed.parse('{"time":"2013-02-28T03:00:00Z"}')!.time!.sec, 1362020400);
  assert.equal(mixed.parse('{"time":1362020400}')!.time!.sec, 1362020400);
  assert.equal(mixed.parse('{"time":"someday"}'), undefined);
  const custom = build(json, 'time_key ts\ntime_type unixtime');
  assert.equal(custom.parse('{"ts":"1362020400","time":"untouched"}')!.record.time, 'untouched');
});

test('json: invalid JSON, non-objects and arrays are refused by parse(); parseAll splits arrays', () => {
  const p = build(json) as SluiceParser;
  for (const bad of ['', 'not json', '{"a":', '"just a string"', '42', 'null', '[{"a":1},{"a":2}]']) {
    assert.equal(p.parse(bad), undefined, bad);
    assert.ok(p.lastError);
  }
  const all = p.parseAll!('[{"a":1},2,{"a":3}]');
  assert.deepEqual(
    all.map((r) => r?.record),
    [{ a: 1 }, undefined, { a: 3 }],
  );
});

test('ltsv: Fluentd examples, custom delimiters, pairs without a label are skipped', () => {
  const p = build(ltsv);
  const r = p.parse('time:2013/02/28 12:00:00\thost:192.168.0.1\treq_id:111')!;
  assert.deepEqual(r.record, { host: '192.168.0.1', req_id: '111' });
  assert.equal(r.time!.sec, new Date(2013, 1, 28, 12, 0, 0).getTime() / 1000);
  const custom = build(ltsv, 'time_key mytime\ntime_format %d/%b/%Y:%H:%M:%S %z').parse(
    'mytime:28/Feb/2013:12:00:00 +0900\thost:192.168.0.1\treq_id:111',
  )!;
  assert.equal(custom.time!.sec, 1362020400);
  assert.deepEqual(custom.record, { host: '192.168.0.1', req_id: '111' });
  assert.equal(
    build(ltsv, 'time_format "[%d/%b/%Y:%H:%M:%S %z]"').parse('time:[28/Feb/2013:12:00:00 +0900]\ta:b')!.time!
      .sec,
    1362020400,
  );
  assert.equal(
    p.parse('time:[28/Feb/2013:12:00:00 +0900]\ta:b')!.time!.sec,
    1362020400,
    'without time_format, the access-log stamp is recognised',
  );
  assert.equal(p.parse('time:whenever\ta:b'), undefined);
  assert.equal(
    Object.keys(p.parse('__proto__:x\ta:b')!.record).join(),
    '__proto__,a',
    'a __proto__ label is kept as a field',
  );
  assert.match(p.lastError!, /invalid time format/);
  assert.deepEqual(
    build(ltsv, 'delimiter ,\nlabel_delimiter =').parse('host=192.168.0.1,req=GET /list HTTP/1.1,junk')!
      .record,
    { host: '192.168.0.1', req: 'GET /list HTTP/1.1' },
  );
  assert.deepEqual(build(ltsv, 'delimiter_pattern /\\s+/\nlabel_delimiter =').parse('a=1  b=2\tc=')!.record, {
    a: '1',
    b: '2',
    c: '',
  });
});

test('csv: quoting as Ruby CSV, missing columns null, malformed lines refused', () => {
  const p = build(csv, 'keys time,c,d\ntime_key time\ntime_format %d/%b/%Y:%H:%M:%S %z');
  const r = p.parse('28/Feb/2013:12:00:00 +0900,"a ""quoted"" value","with, comma"')!;
  assert.equal(r.time!.sec, 1362020400);
  assert.deepEqual(r.record, { c: 'a "quoted" value', d: 'with, comma' });
  const q = build(csv, 'keys a,b,c,d');
  assert.deepEqual(q.parse('1,,""')!.record, { a: '1', b: null, c: '', d: null });
  assert.deepEqual(build(csv, 'keys a,b\ndelimiter "\\t"').parse('x\ty\tz')!.record, { a: 'x', b: 'y' });
  for (const bad of ['', 'a,"unclosed', 'a,b"c', '"a"b,c']) {
    assert.equal(q.parse(bad), undefined, bad);
    assert.ok(q.lastError);
  }
  assert.throws(() => build(csv, 'keys a\ndelimiter ""'), /'delimiter': must not be empty/);
  const fast = build(csv, 'keys a,b,c\nparser_engine fast');
  assert.deepEqual(fast.parse('1,"x,y","say ""hi"""')!.record, { a: '1', b: 'x,y', c: 'say "hi"' });
  assert.deepEqual(fast.parse('1,,3')!.record, { a: '1', b: null, c: '3' });
});

test('tsv: the last key takes the rest of the line; missing columns are null', () => {
  const p = build(tsv, 'keys a,b,c');
  assert.deepEqual(p.parse('1\t2\t3\t4')!.record, { a: '1', b: '2', c: '3\t4' });
  assert.deepEqual(p.parse('1\t2')!.record, { a: '1', b: '2', c: null });
  assert.deepEqual(p.parse('')!.record, { a: null, b: null, c: null });
  assert.deepEqual(build(tsv, 'keys a,b\ndelimiter |\ntypes a:integer').parse('7|x')!.record, {
    a: 7,
    b: 'x',
  });
});

test('msgpack: maps and arrays of maps, time_key; garbage refused', () => {
  const p = build(msgpack, 'time_key t\ntime_type unixtime') as SluiceParser;
  const one = p.parse(encode({ t: 1362020400, a: 'b' }) as unknown as string)!;
  assert.equal(one.time!.sec, 1362020400);
  assert.deepEqual(one.record, { a: 'b' });
  const both = Buffer.concat([encode({ a: 1 }), encode([{ a: 2 }, 3])]);
  assert.deepEqual(
    p.parseAll!(both as unknown as string).map((r) => r?.record),
    [{ a: 1 }, { a: 2 }, undefined],
  );
  assert.equal(p.parse(Buffer.from([0xc1]) as unknown as string), undefined);
  assert.equal(p.parse(Buffer.from([0x82, 0xa1, 0x61]) as unknown as string), undefined, 'truncated map');
  assert.match(p.lastError!, /invalid msgpack/);
  assert.equal(p.parse(encode('str') as unknown as string), undefined);
});
