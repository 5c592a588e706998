import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { KinesisFirehoseOutput } from '../../../src/plugins/output/kinesis_firehose/index.ts';
import {
  FIREHOSE_LIMITS,
  type FirehoseFake,
  startFirehoseFake,
  THROTTLED,
} from '../../stores/firehose-fake.ts';
import { chunkOf, loadFormatters, makeOutput } from './kinesis_firehose-helpers.ts';

// Issue 25 point 2 against the Firehose wire fake (it fails the records a test picks and
// enforces Firehose's limits, which moto does not): only failed records are sent again,
// oversized ones go to @ERROR, batches are cut by count and size, the stream name has
// placeholders, and each record's data is what fluent-plugin-kinesis sends.

const text = (bs: Buffer[]) => bs.map((b) => b.toString());
const puts = (f: FirehoseFake) => f.requests.filter((r) => r.operation === 'PutRecordBatch');

describe('out_kinesis_firehose against the Firehose wire fake', () => {
  let fake: FirehoseFake;
  const outs: KinesisFirehoseOutput[] = [];
  let n = 0;
  /** a fresh stream per test; requests and policy reset */
  const fresh = () => {
    const stream = `logs-${++n}`;
    fake.createStream(stream);
    fake.requests.length = 0;
    fake.failRecords(undefined);
    return stream;
  };
  const make = async (body: string) => {
    const made = await makeOutput(fake, body);
    outs.push(made.o);
    return made;
  };

  before(async () => {
    await loadFormatters();
    fake = await startFirehoseFake();
  });
  after(async () => {
    for (const o of outs) await o.stop();
    await fake?.close();
  });

  it('each event is one record of JSON with one newline (append_new_line, <format> json by default)', async () => {
    const stream = fresh();
    const { o, ctx } = await make(`delivery_stream_name ${stream}`);
    const chunk = chunkOf('app.web', [{ a: 1, s: 'é' }, { a: 2 }]);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    assert.deepEqual(text(fake.records(stream)), ['{"a":1,"s":"é"}\n', '{"a":2}\n']);
    assert.equal(puts(fake).length, 1);
    assert.equal(ctx.metrics.records_sent, 2);
    assert.equal(ctx.metrics.batch_requests, 1);
  });

  it('append_new_line false keeps the formatter output as it is; chomp_record removes its newline; data_key; compression', async () => {
    const stream = fresh();
    const cases: [string, string[]][] = [
      ['append_new_line false', ['{"m":"x","k":"v1"}\n']],
      ['append_new_line false\nchomp_record true', ['{"m":"x","k":"v1"}']],
      ['<format>\n@type single_value\nmessage_key m\nadd_newline false\n</format>', ['x\n']],
      ['data_key k', ['v1\n']],
      ['data_key k\nappend_new_line false', ['v1']],
    ];
    for (const [body, expected] of cases) {
      const s = fresh();
      const { o } = await make(`delivery_stream_name ${s}\n${body}`);
      assert.deepEqual(await o.write(chunkOf('t', [{ m: 'x', k: 'v1' }])), { status: 'ok' });
      assert.deepEqual(text(fake.records(s)), expected, body);
    }
    // compressed data, then the newline (fluent-plugin-kinesis's order)
    for (const [c, un] of [
      ['gzip', gunzipSync],
      ['zlib', inflateSync],
    ] as const) {
      const s = fresh();
      const { o } = await make(`delivery_stream_name ${s}\ncompression ${c}`);
      assert.deepEqual(await o.write(chunkOf('t', [{ m: 'x' }])), { status: 'ok' });
      const [data] = fake.records(s);
      assert.equal(data!.at(-1), 10);
      assert.equal(un(data!.subarray(0, -1)).toString(), '{"m":"x"}\n', c);
    }
    assert.equal(fake.records(stream).length, 0);
  });

  it('the default json is written from the msgpack as the json formatter writes it (non-ASCII, big integers, nesting, escapes)', async () => {
    const records = [
      { s: 'é\u2028"\\\n\t', big: 12345678901234567890n, f: 1.5, neg: -3, nested: { a: [1, null, true] } },
      { empty: {}, list: [], bin: Buffer.from([0, 255]) },
    ];
    const fast = fresh();
    const { o: o1 } = await make(`delivery_stream_name ${fast}`);
    const slow = fresh();
    // a parameter beyond @type makes the output use the formatter plugin
    const { o: o2 } = await make(
      `delivery_stream_name ${slow}\n<format>\n@type json\nadd_newline true\n</format>`,
    );
    assert.deepEqual(await o1.write(chunkOf('t', records)), { status: 'ok' });
    assert.deepEqual(await o2.write(chunkOf('t', records)), { status: 'ok' });
    assert.equal(fake.records(fast).length, 2);
    assert.deepEqual(text(fake.records(fast)), text(fake.records(slow)));
    assert.match(text(fake.records(fast))[0]!, /"big":12345678901234567890,/);
  });

  it('a record without data_key goes to @ERROR with FIREHOSE_RECORD_INVALID; the others are sent', async () => {
    const stream = fresh();
    const { o, ctx } = await make(`delivery_stream_name ${stream}\ndata_key k`);
    assert.deepEqual(await o.write(chunkOf('app', [{ k: 'a' }, { other: 1 }, { k: 'c' }])), {
      status: 'ok',
    });
    assert.deepEqual(text(fake.records(stream)), ['a\n', 'c\n']);
    assert.equal(ctx.errors.length, 1);
    assert.deepEqual(ctx.errors[0]!.record, { other: 1 });
    assert.equal(ctx.errors[0]!.tag, 'app');
    assert.match(ctx.errors[0]!.error.message, /^FIREHOSE_RECORD_INVALID: Key 'k' doesn't exist/);
    assert.equal(ctx.metrics.records_invalid, 1);
  });

  it('only the records an answer reports failed are sent again, after a backoff, until accepted', async () => {
    const stream = fresh();
    const { o, ctx } = await make(`delivery_stream_name ${stream}`);
    // records 0, 3, 6, 9 fail the first time they are offered, 3 once more
    fake.failRecords(({ data, attempt }) => {
      const i = (JSON.parse(data.toString()) as { i: number }).i;
      if (i % 3 !== 0) return undefined;
      return attempt < (i === 3 ? 2 : 1) ? THROTTLED : undefined;
    });
    const records = Array.from({ length: 10 }, (_, i) => ({ i }));
    assert.deepEqual(await o.write(chunkOf('t', records)), { status: 'ok' });
    assert.deepEqual(
      puts(fake).map((r) => r.records),
      [10, 4, 1],
      'all, then the four that failed, then the one that failed again',
    );
    const got = fake.records(stream).map((b) => (JSON.parse(b.toString()) as { i: number }).i);
    assert.deepEqual(
      [...got].sort((a, b) => a - b),
      records.map((r) => r.i),
      'every record once',
    );
    assert.equal(ctx.metrics.records_sent, 10);
    assert.equal(ctx.metrics.records_retried, 5);
    assert.equal(ctx.metrics.batch_request_retries, 2);
    assert.equal(ctx.errors.length, 0);
  });

  it('records still failed after retries_on_batch_request fail the write; the next write of the chunk sends only them', async () => {
    const stream = fresh();
    const { o, ctx } = await make(
      `delivery_stream_name ${stream}\nretries_on_batch_request 1\nbatch_request_max_count 4`,
    );
    // record 5 (in the second batch) fails its first three offers; the third batch is not tried in write 1
    fake.failRecords(({ data, attempt }) =>
      data.toString() === '{"i":5}\n' && attempt < 3 ? THROTTLED : undefined,
    );
    const chunk = chunkOf(
      't',
      Array.from({ length: 10 }, (_, i) => ({ i })),
    );
    const first = await o.write(chunk);
    assert.equal(first.status, 'retry');
    assert.match(
      (first as { error: Error }).error.message,
      /^FIREHOSE_RECORDS_FAILED: 1 records put to 'logs-\d+' still failed after 1 retries \(ServiceUnavailableException: Slow down\.\)/,
    );
    assert.deepEqual(
      puts(fake).map((r) => r.records),
      [4, 4, 1],
    );
    // the buffer writes the same chunk again: only 5 and the never-tried 8 and 9; 5 fails once more, then goes
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    assert.deepEqual(
      puts(fake).map((r) => r.records),
      [4, 4, 1, 3, 1],
    );
    const got = fake.records(stream).map((b) => (JSON.parse(b.toString()) as { i: number }).i);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 6, 7, 8, 9, 5], 'each once: nothing delivered was sent again');
    assert.equal(ctx.metrics.records_sent, 10);
  });

  it('a whole request that fails fails the write; what went before it is not sent again', async () => {
    const stream = fresh();
    const { o, ctx } = await make(`delivery_stream_name ${stream}\nbatch_request_max_count 3`);
    const chunk = chunkOf(
      't',
      Array.from({ length: 7 }, (_, i) => ({ i })),
    );
    // the request after the first batch fails whole (armed while the first one is answered)
    let armed = false;
    fake.failRecords(({ index }) => {
      if (index === 2 && !armed) {
        armed = true;
        fake.failRequests(1, { status: 500, type: 'InternalFailure', message: 'boom' });
      }
      return undefined;
    });
    const r = await o.write(chunk);
    assert.equal(r.status, 'retry');
    assert.match(
      (r as { error: Error }).error.message,
      /^FIREHOSE_REQUEST_FAILED: PutRecordBatch to 'logs-\d+' \(chunk [0-9a-f]+, 3 records\) failed: InternalFailure: boom/,
    );
    assert.equal(ctx.metrics.batch_request_failures, 1);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    assert.deepEqual(
      puts(fake).map((x) => [x.records, x.status]),
      [
        [3, 200],
        [0, 500],
        [3, 200],
        [1, 200],
      ],
      'the first batch, the failed request, then only the records after the first batch',
    );
    assert.deepEqual(
      fake.records(stream).map((b) => (JSON.parse(b.toString()) as { i: number }).i),
      [0, 1, 2, 3, 4, 5, 6],
    );
    // a stream that does not exist: Firehose's ResourceNotFoundException, retried by the buffer
    const { o: o2 } = await make('delivery_stream_name no-such-stream');
    const missing = await o2.write(chunkOf('t', [{ i: 1 }]));
    assert.equal(missing.status, 'retry');
    assert.match(
      (missing as { error: Error }).error.message,
      /ResourceNotFoundException: Firehose no-such-stream/,
    );
  });

  it('drop_failed_records_after_batch_request_retries true: records still failed go to @ERROR with their error code', async () => {
    const stream = fresh();
    const { o, ctx } = await make(
      `delivery_stream_name ${stream}\nretries_on_batch_request 0\ndrop_failed_records_after_batch_request_retries true`,
    );
    fake.failRecords(({ index }) => (index === 1 ? THROTTLED : undefined));
    assert.deepEqual(await o.write(chunkOf('app', [{ i: 0 }, { i: 1 }, { i: 2 }])), { status: 'ok' });
    assert.deepEqual(text(fake.records(stream)), ['{"i":0}\n', '{"i":2}\n']);
    assert.equal(ctx.errors.length, 1);
    assert.deepEqual(ctx.errors[0]!.record, { i: 1 });
    assert.match(
      ctx.errors[0]!.error.message,
      /^FIREHOSE_RECORD_FAILED: ServiceUnavailableException: Slow down\. \(after 0 retries\)/,
    );
    assert.equal(ctx.metrics.records_given_up, 1);
  });

  it("a record over Firehose's 1,000 KiB goes to @ERROR and does not hold the chunk; one of exactly 1,000 KiB is sent", async () => {
    const stream = fresh();
    const { o, ctx } = await make(`delivery_stream_name ${stream}`);
    // {"m":"…"}\n is 9 bytes around the message
    const exact = 'a'.repeat(FIREHOSE_LIMITS.maxRecordBytes - 9);
    const over = 'b'.repeat(FIREHOSE_LIMITS.maxRecordBytes - 8);
    const chunk = chunkOf('app.big', [{ m: 'small' }, { m: over }, { m: exact }, { m: 'last' }]);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const got = fake.records(stream);
    assert.equal(got.length, 3);
    assert.equal(got[1]!.length, FIREHOSE_LIMITS.maxRecordBytes);
    assert.deepEqual(text([got[0]!, got[2]!]), ['{"m":"small"}\n', '{"m":"last"}\n']);
    assert.equal(ctx.errors.length, 1);
    const e = ctx.errors[0]!;
    assert.equal(e.tag, 'app.big');
    assert.equal((e.record as { m: string }).m.length, over.length, 'the record as it was');
    assert.match(
      e.error.message,
      /^FIREHOSE_RECORD_TOO_LARGE: Record size limit exceeded in 1000 KB \(1024001 bytes; the limit is 1024000\)/,
    );
    assert.equal(ctx.metrics.records_too_large, 1);
  });

  it('batches: at most 500 records (batch_request_max_count) and 4 MiB of data (batch_request_max_size) per call', async () => {
    let stream = fresh();
    let made = await make(`delivery_stream_name ${stream}`);
    const many = Array.from({ length: 1201 }, (_, i) => ({ i }));
    assert.deepEqual(await made.o.write(chunkOf('t', many)), { status: 'ok' });
    assert.deepEqual(
      puts(fake).map((r) => r.records),
      [500, 500, 201],
    );
    assert.equal(fake.records(stream).length, 1201);

    stream = fresh();
    made = await make(`delivery_stream_name ${stream}\nbatch_request_max_count 100`);
    assert.deepEqual(await made.o.write(chunkOf('t', many)), { status: 'ok' });
    assert.equal(puts(fake).length, 13);
    assert.ok(puts(fake).every((r) => r.records <= 100));

    // 10 records of 900,000 bytes: four fit in 4 MiB (4,194,304), five do not
    stream = fresh();
    made = await make(`delivery_stream_name ${stream}`);
    const big = Array.from({ length: 10 }, (_, i) => ({ m: String(i).repeat(900_000 - 9) }));
    assert.deepEqual(await made.o.write(chunkOf('t', big)), { status: 'ok' });
    assert.deepEqual(
      puts(fake).map((r) => r.records),
      [4, 4, 2],
    );
    assert.equal(fake.records(stream).length, 10);

    stream = fresh();
    made = await make(`delivery_stream_name ${stream}\nbatch_request_max_size 1000`);
    const small = Array.from({ length: 10 }, (_, i) => ({ m: `${i}`.padEnd(291, '.') }));
    assert.deepEqual(await made.o.write(chunkOf('t', small)), { status: 'ok' });
    assert.deepEqual(
      puts(fake).map((r) => r.records),
      [3, 3, 3, 1],
      '300-byte records, 1000 bytes per call',
    );
  });

  it('delivery_stream_name placeholders are resolved per chunk', async () => {
    fresh();
    fake.createStream('logs-web');
    fake.createStream('logs-db');
    const { o } = await make('delivery_stream_name logs-${tag[1]}');
    assert.deepEqual(await o.write(chunkOf('app.web', [{ w: 1 }])), { status: 'ok' });
    assert.deepEqual(await o.write(chunkOf('app.db', [{ d: 1 }])), { status: 'ok' });
    assert.deepEqual(text(fake.records('logs-web')), ['{"w":1}\n']);
    assert.deepEqual(text(fake.records('logs-db')), ['{"d":1}\n']);
    assert.deepEqual(
      fake.requests.map((r) => r.stream),
      ['logs-web', 'logs-db'],
    );
  });

  it('<inject> with fluent-plugin-kinesis defaults: the time as a string with nanoseconds and zone', async () => {
    const stream = fresh();
    const { o } = await make(
      `delivery_stream_name ${stream}\n<inject>\ntag_key tag\ntime_key time\nutc true\n</inject>`,
    );
    assert.deepEqual(await o.write(chunkOf('app.web', [{ a: 1 }])), { status: 'ok' });
    assert.deepEqual(text(fake.records(stream)), [
      '{"a":1,"tag":"app.web","time":"2023-11-14T22:13:20.123456789+0000"}\n',
    ]);
  });
});
