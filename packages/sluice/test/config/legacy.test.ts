import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse, shape, throwsAt } from './helpers.ts';

describe('legacy v0.12 spellings', () => {
  test('`type` is kept as is (the engine reads both)', () => {
    assert.deepEqual(shape(parse('<source>\n  type forward\n</source>\n').elements[0]!), {
      name: 'source',
      arg: '',
      params: { type: 'forward' },
    });
  });

  test('format and parser params in a <source> become a <parse> section', () => {
    const src = parse(`<source>
  type tail
  path /var/log/app.log
  format json
  time_key ts
  time_format %Y-%m-%d %H:%M:%S
  keep_time_key true
  utc
  types a:integer,b:bool
</source>`).elements[0]!;
    assert.deepEqual(shape(src), {
      name: 'source',
      arg: '',
      params: { type: 'tail', path: '/var/log/app.log' },
      elements: [
        {
          name: 'parse',
          arg: '',
          params: {
            '@type': 'json',
            time_key: 'ts',
            time_format: '%Y-%m-%d %H:%M:%S',
            keep_time_key: 'true',
            types: '{"a":"integer","b":"bool"}',
            localtime: 'false',
          },
        },
      ],
    });
    assert.equal(src.elements[0]!.location.line, 4, '<parse> points at the format line');
  });

  test('`format none` and a /regexp/ format', () => {
    const none = parse('<source>\n  @type tail\n  format none\n</source>\n').elements[0]!;
    assert.deepEqual(shape(none.elements[0]!), { name: 'parse', arg: '', params: { '@type': 'none' } });
    const re = parse(
      '<source>\n  @type tail\n  format /^(?<host>[^ ]*) (?<msg>.*)$/\n  time_format %d/%b/%Y\n</source>\n',
    ).elements[0]!;
    assert.deepEqual(shape(re.elements[0]!), {
      name: 'parse',
      arg: '',
      params: { '@type': 'regexp', expression: '^(?<host>[^ ]*) (?<msg>.*)$', time_format: '%d/%b/%Y' },
    });
  });

  test('multiline: format_firstline and formatN go into <parse>', () => {
    const src = parse(
      '<source>\n  @type tail\n  format multiline\n  format_firstline /^\\d/\n  format1 /^(?<a>.*)/\n  format2 /(?<b>.*)/\n</source>\n',
    ).elements[0]!;
    assert.deepEqual(shape(src.elements[0]!), {
      name: 'parse',
      arg: '',
      params: {
        '@type': 'multiline',
        format_firstline: '/^\\d/',
        format1: '/^(?<a>.*)/',
        format2: '/(?<b>.*)/',
      },
    });
    assert.deepEqual(
      src.params.map((p) => p.key),
      ['@type'],
    );
  });

  test('a <source> that already has <parse> is left alone', () => {
    const src = parse(
      '<source>\n  @type tail\n  format json\n  <parse>\n    @type none\n  </parse>\n</source>\n',
    ).elements[0]!;
    assert.equal(src.elements.length, 1);
    assert.deepEqual(
      src.params.map((p) => p.key),
      ['@type', 'format'],
    );
  });

  test('legacy format in a <filter> becomes <parse>', () => {
    const f = parse('<filter app.**>\n  @type parser\n  key_name log\n  format json\n</filter>\n')
      .elements[0]!;
    assert.deepEqual(shape(f), {
      name: 'filter',
      arg: 'app.**',
      params: { '@type': 'parser', key_name: 'log' },
      elements: [{ name: 'parse', arg: '', params: { '@type': 'json' } }],
    });
  });

  test('buffer params directly in a <match> become a <buffer> section', () => {
    const m = parse(`<match app.**>
  type forward
  buffer_type file
  buffer_path /var/log/td-agent/buffer/fwd
  flush_interval 10s
  buffer_chunk_limit 8m
  buffer_queue_limit 64
  buffer_queue_full_action exception
  num_threads 4
  retry_limit 17
  retry_wait 1s
  max_retry_wait 60s
  disable_retry_limit false
  <server>
    host 10.0.0.1
  </server>
</match>`).elements[0]!;
    assert.deepEqual(shape(m), {
      name: 'match',
      arg: 'app.**',
      params: { type: 'forward' },
      elements: [
        { name: 'server', arg: '', params: { host: '10.0.0.1' } },
        {
          name: 'buffer',
          arg: '',
          params: {
            '@type': 'file',
            path: '/var/log/td-agent/buffer/fwd',
            flush_interval: '10s',
            chunk_limit_size: '8m',
            queue_limit_length: '64',
            overflow_action: 'throw_exception',
            flush_thread_count: '4',
            retry_max_times: '17',
            retry_wait: '1s',
            retry_max_interval: '60s',
            retry_forever: 'false',
          },
        },
      ],
    });
  });

  test('time_slice_format gives a time-keyed buffer with the matching timekey', () => {
    const m = parse(
      '<match a>\n  type file\n  path /x\n  time_slice_format %Y%m%d%H\n  time_slice_wait 10m\n  localtime\n</match>\n',
    ).elements[0]!;
    assert.deepEqual(shape(m.elements[0]!), {
      name: 'buffer',
      arg: 'time',
      params: { timekey: '3600', timekey_wait: '10m', timekey_use_utc: 'false' },
    });
    throwsAt(
      () => parse('<match a>\n  time_slice_format %Y%m\n</match>\n'),
      'test.conf',
      2,
      3,
      /time_slice_format '%Y%m' has no %d/,
    );
  });

  test('include_time_key / include_tag_key become <inject>; format becomes <format>', () => {
    const m = parse(`<match a>
  @type file
  path /x
  format json
  include_time_key true
  time_key at
  time_format %s
  include_tag_key yes
  utc true
</match>`).elements[0]!;
    assert.deepEqual(shape(m), {
      name: 'match',
      arg: 'a',
      params: { '@type': 'file', path: '/x' },
      elements: [
        {
          name: 'inject',
          arg: '',
          params: {
            time_key: 'at',
            time_format: '%s',
            time_type: 'string',
            localtime: 'false',
            tag_key: 'tag',
          },
        },
        { name: 'format', arg: '', params: { '@type': 'json' } },
      ],
    });
  });

  test('legacy params in <store> of a copy and inside <label> are mapped too', () => {
    const root = parse(
      '<label @X>\n  <match **>\n    @type copy\n    <store>\n      @type file\n      flush_interval 1s\n    </store>\n  </match>\n</label>\n',
    );
    const store = root.elements[0]!.elements[0]!.elements[0]!;
    assert.deepEqual(shape(store), {
      name: 'store',
      arg: '',
      params: { '@type': 'file' },
      elements: [{ name: 'buffer', arg: '', params: { flush_interval: '1s' } }],
    });
  });

  test('localtime and utc together are refused', () => {
    throwsAt(
      () => parse('<source>\n  format json\n  localtime\n  utc\n</source>\n'),
      'test.conf',
      4,
      3,
      /both utc and localtime/,
    );
  });
});
