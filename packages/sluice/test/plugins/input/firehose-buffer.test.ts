// A full buffer behind the firehose input: the records it refuses come back failed one by
// one in PutRecordBatch's answer (FailedPutCount, ErrorCode), the way Firehose reports
// throttled records, so a client that resends the failed records (as AWS's docs tell it
// to) resends only those, and every record arrives once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutRecordBatchCommand, PutRecordCommand } from '@aws-sdk/client-firehose';
import { Sink } from '../output/http-helpers.ts';
import {
  client,
  fullBufferPipeline,
  type Running,
  numbered as record,
  runEngine,
  sinkNumbers,
} from './firehose-helpers.ts';
import { send } from './http-helpers.ts';

describe('firehose input: a full buffer gives per-record failures', () => {
  let s: Running;
  const sink = new Sink();
  before(async () => {
    const sinkPort = await sink.listen();
    sink.status = () => 503; // the destination is down: chunks stay in the buffer
    s = await runEngine((port) => fullBufferPipeline(port, sinkPort));
  });
  after(async () => {
    await s.stop();
    await sink.close();
  });

  it('accepts what fits, fails the rest per record, and the resent failed records arrive once', async () => {
    const fh = client(s.endpoint);
    const first = await fh.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: [0, 1, 2].map(record) }),
    );
    assert.equal(first.FailedPutCount, 0);
    const second = await fh.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'logs',
        Records: [3, 4, 5, 6, 7, 8, 9, 10, 11].map(record),
      }),
    );
    const responses = second.RequestResponses!;
    const failed = responses.flatMap((r, i) => (r.ErrorCode ? [i + 3] : []));
    assert.ok(
      second.FailedPutCount! > 0 && second.FailedPutCount! < 9,
      `FailedPutCount ${second.FailedPutCount}`,
    );
    assert.equal(failed.length, second.FailedPutCount);
    for (const r of responses) {
      if (r.ErrorCode) {
        assert.equal(r.ErrorCode, 'ServiceUnavailableException');
        assert.match(r.ErrorMessage!, /^Slow down\. buffer of output .* is full/);
        assert.equal(r.RecordId, undefined);
      } else assert.ok(r.RecordId);
    }
    // What fits is taken in order; the failed ones are the rest of the call.
    assert.deepEqual(
      failed,
      Array.from({ length: failed.length }, (_, i) => 12 - failed.length + i),
    );
    // A single PutRecord while the buffer is full: the SDK's own error, which it retries (503).
    await assert.rejects(
      fh.send(new PutRecordCommand({ DeliveryStreamName: 'logs', Record: record(99) })),
      (e: Error & { $metadata: { httpStatusCode?: number } }) =>
        e.name === 'ServiceUnavailableException' && e.$metadata.httpStatusCode === 503,
    );

    // The destination comes back; the buffer drains; the client resends only its failed records.
    sink.status = () => 200;
    const numbers = () => sinkNumbers(sink);
    await sink.waitUntil(
      () => numbers().length === 12 - failed.length,
      20_000,
      () => `sink has ${numbers()}`,
    );
    const resend = await fh.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: failed.map(record) }),
    );
    assert.equal(resend.FailedPutCount, 0);
    await sink.waitUntil(
      () => numbers().length >= 12,
      20_000,
      () => `sink has ${numbers()}`,
    );
    assert.deepEqual(
      numbers().sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
    );
  });
});

describe('firehose input: an HTTP endpoint delivery while the buffer is full', () => {
  let s: Running;
  const sink = new Sink();
  before(async () => {
    const sinkPort = await sink.listen();
    sink.status = () => 503;
    s = await runEngine((port) =>
      fullBufferPipeline(port, sinkPort, '  http_endpoint_path /delivery\n  http_endpoint_tag logs'),
    );
  });
  after(async () => {
    await s.stop();
    await sink.close();
  });

  it('is refused whole (503 with errorMessage, nothing kept), and its retry with the same request id is taken once', async () => {
    const fh = client(s.endpoint);
    await fh.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: [0, 1, 2].map(record) }));
    const requestId = '5d3b8a3e-7c1f-4d2a-9f0e-000000000025';
    const delivery = () =>
      send(s.port, '/delivery', {
        headers: { 'Content-Type': 'application/json', 'X-Amz-Firehose-Request-Id': requestId },
        body: JSON.stringify({
          requestId,
          timestamp: Date.now(),
          records: [3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => ({
            data: Buffer.from(record(n).Data).toString('base64'),
          })),
        }),
      });
    const refused = await delivery();
    assert.equal(refused.status, 503);
    const r = JSON.parse(refused.text);
    assert.equal(r.requestId, requestId);
    assert.match(r.errorMessage, /buffer of output .* is full/);
    sink.status = () => 200;
    const numbers = () => sinkNumbers(sink);
    await sink.waitUntil(
      () => numbers().length === 3,
      20_000,
      () => `sink: ${numbers()}`,
    );
    // Firehose retries the whole request, same id; nothing of it was kept the first time.
    assert.equal((await delivery()).status, 200);
    assert.equal((await delivery()).status, 200);
    await sink.waitUntil(
      () => numbers().length >= 12,
      20_000,
      () => `sink: ${numbers()}`,
    );
    assert.deepEqual(
      numbers().sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
    );
  });
});
