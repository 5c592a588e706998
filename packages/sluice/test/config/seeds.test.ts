// The Fluentd configs our users run today (../shared/seeds 000, 001, 003), kept verbatim
// as fixtures: they must parse into exactly what Fluentd reads from them.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMON_BUFFER_PARAMS } from '../../src/buffer/params.ts';
import { parseConfigFile } from '../../src/config/parser.ts';
import { resolve } from '../../src/config/schema.ts';
import { shape, throwsAt } from './helpers.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/seeds');

describe('seed configs', () => {
  test('000: docker-compose collector, v0.12 spelling (type, format none)', () => {
    const root = parseConfigFile(join(fixtures, '000-fluent.conf'));
    assert.deepEqual(root.elements.map(shape), [
      { name: 'source', arg: '', params: { type: 'forward', port: '24224' } },
      { name: 'match', arg: 'debug.**', params: { type: 'file', path: '/fluentd/log/debug.*.log' } },
      {
        name: 'source',
        arg: '',
        params: { type: 'tail', path: '/var/log/app.log', tag: 'app.log' },
        elements: [{ name: 'parse', arg: '', params: { '@type': 'none' } }],
      },
      { name: 'match', arg: 'app.**', params: { type: 'file', path: '/fluentd/log/app.*.log' } },
    ]);
    assert.deepEqual(root.elements[2]!.elements[0]!.location, {
      file: join(fixtures, '000-fluent.conf'),
      line: 15,
      column: 1,
    });
  });

  test('001: post2log default P2L_FLUENTD_OUTCONF', () => {
    const root = parseConfigFile(join(fixtures, '001-outconf-default.conf'));
    assert.deepEqual(root.elements.map(shape), [
      { name: 'match', arg: 'post2log', params: { '@type': 'stdout' } },
    ]);
  });

  test('001: the Kafka P2L_FLUENTD_OUTCONF example, trailing blanks after end tags, flusth_interval typo kept', () => {
    const file = join(fixtures, '001-outconf-kafka.conf');
    const root = parseConfigFile(file);
    assert.deepEqual(root.elements.map(shape), [
      {
        name: 'match',
        arg: 'post2log',
        // A <buffer> is present, so the v0.12 flush_interval is not moved into it (as in
        // Fluentd, whose compat BufferedOutput declares it and leaves it unused): for
        // kafka_buffered the legacy mapping drops it.
        params: {
          '@type': 'kafka_buffered',
          brokers: 'my-kafka:9092',
          default_topic: 'post2log',
        },
        elements: [{ name: 'buffer', arg: '', params: { flusth_interval: '10s' } }],
      },
    ]);
    const buffer = root.elements[0]!.elements[0]!;
    // Validation of the <buffer> section names the typo and the parameter meant.
    throwsAt(
      () => resolve({ params: COMMON_BUFFER_PARAMS }, buffer, '<buffer>'),
      file,
      8,
      5,
      /unknown parameter 'flusth_interval'.*did you mean 'flush_interval'/,
    );
  });

  test('003: forward -> http with a durable file buffer', () => {
    const root = parseConfigFile(join(fixtures, '003-http-bus.conf'));
    assert.deepEqual(root.elements.map(shape), [
      {
        name: 'source',
        arg: '',
        params: { '@type': 'forward', port: '24224', bind: '0.0.0.0', '@log_level': 'debug' },
      },
      {
        name: 'match',
        arg: 'api.*',
        params: {
          '@type': 'http',
          '@log_level': 'debug',
          endpoint: 'http://http:8000/api/${tag[1]}/',
          open_timeout: '2',
          http_method: 'post',
          content_type: 'application/json',
        },
        elements: [
          {
            name: 'buffer',
            arg: 'tag',
            params: {
              '@type': 'file',
              path: '/fluentd/log/api.buffer',
              retry_forever: 'true',
              flush_mode: 'immediate',
              chunk_limit_records: '1',
              total_limit_size: '10GB',
              flush_thread_count: '10',
              retry_type: 'exponential_backoff',
              retry_max_interval: '60s',
              retry_randomize: 'true',
              compress: 'text',
            },
          },
        ],
      },
    ]);
  });
});
