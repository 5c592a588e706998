import assert from 'node:assert/strict';
import { test } from 'node:test';
import multiline, { type MultilineParser } from '../../../src/plugins/parser/multiline.ts';
import { build } from './helpers.ts';

// Fluentd's documented Java stack trace example (docs: parser_multiline)
const JAVA = [
  '2013-3-03 14:27:33 [main] ERROR Main - Exception',
  'javax.management.RuntimeErrorException: null',
  '    at Main.main(Main.java:16) ~[bin/:na]',
].join('\n');

const CONF = [
  'format_firstline /\\d{4}-\\d{1,2}-\\d{1,2}/',
  'format1 /^(?<time>\\d{4}-\\d{1,2}-\\d{1,2} \\d{1,2}:\\d{1,2}:\\d{1,2}) \\[(?<thread>.*)\\] (?<level>[^\\s]+)(?<message>.*)/',
  'time_format %Y-%m-%d %H:%M:%S',
  'utc true',
].join('\n');

test('a Java stack trace becomes one event; the message keeps its lines', () => {
  const p = build(multiline, CONF) as MultilineParser;
  assert.equal(p.hasFirstLine, true);
  assert.equal(p.isFirstLine('2013-3-03 14:27:33 [main] ERROR Main - Exception'), true);
  assert.equal(p.isFirstLine('    at Main.main(Main.java:16) ~[bin/:na]'), false);
  const r = p.parse(JAVA)!;
  assert.equal(r.time!.sec, Date.UTC(2013, 2, 3, 14, 27, 33) / 1000);
  assert.deepEqual(r.record, {
    thread: 'main',
    level: 'ERROR',
    message:
      ' Main - Exception\njavax.management.RuntimeErrorException: null\n    at Main.main(Main.java:16) ~[bin/:na]',
  });
});

test("format1..formatN are concatenated (Fluentd's Rails example)", () => {
  const p = build(
    multiline,
    [
      'format_firstline /^Started/',
      'format1 /Started (?<method>[^ ]+) "(?<path>[^"]+)" for (?<host>[^ ]+) at (?<time>[^ ]+ [^ ]+ [^ ]+)\\n/',
      'format2 /Processing by (?<controller>[^\\u0023]+)\\u0023(?<controller_method>[^ ]+) as (?<format>[^ ]+?)\\n/',
      'format3 /(  Parameters: (?<parameters>[^ ]+)\\n)?/',
      'format4 /  Rendered (?<template>[^ ]+) within (?<layout>.+) \\([\\d\\.]+ms\\)\\n/',
      'format5 /Completed (?<code>[^ ]+) [^ ]+ in (?<runtime>[\\d\\.]+)ms \\(Views: (?<view_runtime>[\\d\\.]+)ms \\| ActiveRecord: (?<ar_runtime>[\\d\\.]+)ms\\)/',
    ].join('\n'),
  ) as MultilineParser;
  const text = [
    'Started GET "/users/123/" for 127.0.0.1 at 2013-06-14 12:00:11 +0900',
    'Processing by UsersController#show as HTML',
    '  Parameters: {"user_id"=>"123"}',
    '  Rendered users/show.html.erb within layouts/application (0.3ms)',
    'Completed 200 OK in 4ms (Views: 3.2ms | ActiveRecord: 0.0ms)',
  ].join('\n');
  const r = p.parse(text)!;
  assert.equal(r.time!.sec, Date.UTC(2013, 5, 14, 3, 0, 11) / 1000);
  assert.deepEqual(r.record, {
    method: 'GET',
    path: '/users/123/',
    host: '127.0.0.1',
    controller: 'UsersController',
    controller_method: 'show',
    format: 'HTML',
    parameters: '{"user_id"=>"123"}',
    template: 'users/show.html.erb',
    layout: 'layouts/application',
    code: '200',
    runtime: '4',
    view_runtime: '3.2',
    ar_runtime: '0.0',
  });
});

test('parseAll returns every event of a buffer, and undefined (or unmatched_line) for the rest', () => {
  const p = build(
    multiline,
    'format1 /^(?<n>\\d+) (?<m>[a-z]+)/\nestimate_current_event false',
  ) as MultilineParser;
  assert.deepEqual(
    p.parseAll('1 a\n2 b').map((r) => r?.record),
    [
      { n: '1', m: 'a' },
      { n: '2', m: 'b' },
    ],
  );
  assert.deepEqual(
    p.parseAll('1 a\n???').map((r) => r?.record),
    [{ n: '1', m: 'a' }, undefined],
  );
  assert.equal(p.parse('???'), undefined);
  assert.throws(() => p.isFirstLine('x'), /without format_firstline/);
  const u = build(multiline, 'format1 /^(?<n>\\d+) (?<m>[a-z]+)/\nunmatched_lines true') as MultilineParser;
  assert.deepEqual(
    u.parseAll('1 a\n???').map((r) => r?.record),
    [{ n: '1', m: 'a' }, { unmatched_line: '???' }],
  );
});

test('configuration errors: missing format1, a gap in the numbering, no slashes', () => {
  assert.throws(() => build(multiline, 'format_firstline /x/'), /needs format1/);
  assert.throws(
    () => build(multiline, 'format1 /(?<a>x)/\nformat3 /y/'),
    /format2 is missing before format3/,
  );
  assert.throws(() => build(multiline, 'format1 (?<a>x)'), /should be a regexp between slashes/);
  assert.throws(
    () => build(multiline, 'format1 /(?<a>x)/\nformat_firstline nope'),
    /'format_firstline': invalid regexp: expected a regexp between slashes/,
  );
  assert.throws(() => build(multiline, 'format1 /(x)/'), /no named captures/);
});
