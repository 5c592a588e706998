import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventTime } from '@sluice/forward';
import apache from '../../../src/plugins/parser/apache.ts';
import apacheError from '../../../src/plugins/parser/apache_error.ts';
import apache2 from '../../../src/plugins/parser/apache2.ts';
import nginx from '../../../src/plugins/parser/nginx.ts';
import regexp from '../../../src/plugins/parser/regexp.ts';
import type { SluiceParser } from '../../../src/shared/parse/common.ts';
import { build } from './helpers.ts';

// 28/Feb/2013:12:00:00 +0900, the time of Fluentd's own parser tests
const FEB28 = 1362020400;

test('apache2 parses Fluentd\'s documented combined line: nulls for "-", integer code and size', () => {
  const p = build(apache2);
  const r = p.parse(
    '192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0"',
  )!;
  assert.equal(r.time!.sec, FEB28);
  assert.deepEqual(r.record, {
    host: '192.168.0.1',
    user: null,
    method: 'GET',
    path: '/',
    code: 200,
    size: 777,
    referer: null,
    agent: 'Opera/12.0',
  });
  const noVersion = p.parse('192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET /" 200 777 "-" "Opera/12.0"')!;
  assert.equal(noVersion.record.path, '/');
  const escaped = p.parse(
    '192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET /\\" HTTP/1.1" 200 777 "referer \\\\ \\"" "user agent \\\\ \\""',
  )!;
  assert.equal(escaped.record.path, '/\\"');
  assert.equal(escaped.record.referer, 'referer \\\\ \\"');
  assert.equal(escaped.record.agent, 'user agent \\\\ \\"');
  const common = p.parse(
    '127.0.0.1 - frank [28/Feb/2013:12:00:00 +0900] "GET /apache_pb.gif HTTP/1.0" 200 -',
  )!;
  assert.deepEqual(common.record, {
    host: '127.0.0.1',
    user: 'frank',
    method: 'GET',
    path: '/apache_pb.gif',
    code: 200,
    size: null,
    referer: null,
    agent: null,
  });
});

test('apache2 with keep_time_key keeps the time text; malformed lines and bad times give undefined', () => {
  const p = build(apache2, 'keep_time_key true');
  assert.equal(
    p.parse('192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777')!.record.time,
    '28/Feb/2013:12:00:00 +0900',
  );
  for (const bad of [
    '',
    'garbage',
    '192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] GET / 200 777',
    '192.168.0.1 - - [31/Foo/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777',
  ]) {
    assert.equal(p.parse(bad), undefined, bad);
    assert.ok(p.lastError);
  }
});

test('nginx parses the combined format with and without X-Forwarded-For, fields stay strings', () => {
  const p = build(nginx);
  const expected = {
    remote: '127.0.0.1',
    host: '192.168.0.1',
    user: '-',
    method: 'GET',
    path: '/',
    code: '200',
    size: '777',
    referer: '-',
    agent: 'Opera/12.0',
  };
  const r = p.parse(
    '127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0"',
  )!;
  assert.equal(r.time!.sec, FEB28);
  assert.deepEqual(r.record, expected);
  assert.deepEqual(
    p.parse(
      '127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET /a[ ]b HTTP/1.1" 200 777 "-" "Opera/12.0"',
    )!.record,
    { ...expected, path: '/a[ ]b' },
  );
  assert.deepEqual(
    p.parse(
      '127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0" -',
    )!.record,
    { ...expected, http_x_forwarded_for: '-' },
  );
  assert.deepEqual(
    p.parse(
      '127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0" "127.0.0.1, 192.168.0.1"',
    )!.record,
    { ...expected, http_x_forwarded_for: '127.0.0.1, 192.168.0.1' },
  );
  assert.equal(p.parse('not an access log'), undefined);
});

test('nginx with types converts code and size', () => {
  const p = build(nginx, 'types code:integer,size:integer');
  const r = p.parse(
    '127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0"',
  )!;
  assert.equal(r.record.code, 200);
  assert.equal(r.record.size, 777);
});

test('apache (v0.12 regexp) and apache_error parse their documented lines', () => {
  const a = build(apache).parse(
    '192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0"',
  )!;
  assert.equal(a.time!.sec, FEB28);
  assert.deepEqual(a.record, {
    host: '192.168.0.1',
    user: '-',
    method: 'GET',
    path: '/',
    code: '200',
    size: '777',
    referer: '-',
    agent: 'Opera/12.0',
  });
  const e = build(apacheError);
  const r = e.parse(
    '[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration',
  )!;
  assert.deepEqual(r.record, {
    level: 'error',
    client: '127.0.0.1',
    message: 'client denied by server configuration',
  });
  assert.equal(new Date(r.time!.toMillis()).getFullYear(), 2000);
  const pid = e.parse(
    '[Mon Dec 23 07:49:01.981293 2013] [:error] [pid 3790] [client 204.232.202.107:46301] script not found',
  )!;
  assert.deepEqual(pid.record, {
    level: ':error',
    pid: '3790',
    client: '204.232.202.107:46301',
    message: 'script not found',
  });
  assert.equal(e.parse('no brackets'), undefined);
});

test('regexp: named captures, Ruby options, time_format, types and null rules', () => {
  const p = build(
    regexp,
    [
      'expression /^(?<host>[^ ]*) \\[(?<time>[^\\]]*)\\] (?<code>\\d+) (?<flag>\\w+) (?<tags>\\S+) (?<note>.*)$/',
      'time_format %d/%b/%Y:%H:%M:%S %z',
      'types code:integer,flag:bool,tags:array:|',
      'null_value_pattern /^(-|null)$/',
    ].join('\n'),
  ) as SluiceParser;
  const r = p.parse('192.168.0.1 [28/Feb/2013:12:00:00 +0900] 404 yes a|b|c -')!;
  assert.equal(r.time!.sec, FEB28);
  assert.deepEqual(r.record, {
    host: '192.168.0.1',
    code: 404,
    flag: true,
    tags: ['a', 'b', 'c'],
    note: null,
  });
  assert.equal(p.parse('does not match'), undefined);
  assert.equal(p.lastError, 'pattern not matched');
  assert.equal(p.parse('h [not a time] 1 x y z'), undefined);
  assert.match(p.lastError!, /invalid time format/);

  const ci = build(regexp, 'expression /^(?<level>ERROR|WARN) (?<message>.*)$/i');
  assert.equal(ci.parse('error boom')!.record.level, 'error');
  const x = build(regexp, 'expression /^ (?<a> \\d+ ) \\s (?<b> \\w+ ) $/x');
  assert.deepEqual(x.parse('12 ab')!.record, { a: '12', b: 'ab' });
  const hex = build(regexp, 'expression /^(?<id>\\h+)\\z/');
  assert.deepEqual(hex.parse('DEADbeef')!.record, { id: 'DEADbeef' });
  assert.equal(hex.parse('xyz'), undefined);
});

test('regexp: no time field uses now; estimate_current_event false leaves the time unset; keep_time_key keeps it', () => {
  const before = EventTime.now().sec;
  assert.ok(build(regexp, 'expression /^(?<message>.*)$/').parse('x')!.time!.sec >= before);
  assert.equal(
    build(regexp, 'expression /^(?<message>.*)$/\nestimate_current_event false').parse('x')!.time,
    undefined,
  );
  const k = build(
    regexp,
    'expression /^(?<time>\\d+) (?<m>.*)$/\ntime_type unixtime\nkeep_time_key true',
  ).parse('1362020400 hi')!;
  assert.equal(k.time!.sec, FEB28);
  assert.deepEqual(k.record, { time: '1362020400', m: 'hi' });
});

test('regexp: configuration errors name the problem', () => {
  assert.throws(() => build(regexp, 'expression /^(.*)$/'), /no named captures/);
  assert.throws(() => build(regexp, 'expression /^(?<a>[a-$/'), /invalid regexp/);
  assert.throws(() => build(regexp, 'expression /(?>atomic)(?<a>x)/'), /atomic groups/);
  assert.throws(() => build(regexp, ''), /missing required parameter 'expression'/);
  assert.throws(
    () => build(regexp, 'expression /(?<a>x)/\ntypes a:widget'),
    /unknown value conversion for key 'a', type 'widget'/,
  );
  assert.throws(() => build(regexp, 'expression /(?<a>x)/\ntimezone Mars/Base'), /unknown timezone/);
  assert.throws(() => build(regexp, 'expression /(?<a>x)/\ntime_type mixed'), /time_format_fallbacks/);
});
