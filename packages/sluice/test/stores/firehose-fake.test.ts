import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-firehose';
import { FIREHOSE_LIMITS, type FirehoseFake, startFirehoseFake, THROTTLED } from './firehose-fake.ts';

// The Firehose wire fake against the real AWS SDK v3 client: per-record failures in
// PutRecordBatch, Firehose's limits, whole-request errors, and the protocol's checks.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const rec = (s: string) => ({ Data: Buffer.from(s) });

describe('stores: Firehose wire fake', () => {
  let fake: FirehoseFake;
  let client: FirehoseClient;
  before(async () => {
    fake = await startFirehoseFake({ streams: ['logs'] });
    client = new FirehoseClient({
      endpoint: fake.endpoint,
      region: fake.region,
      credentials: fake.credentials,
      maxAttempts: 1, // the tests see each answer; retrying is the output plugin's job
    });
  });
  after(async () => {
    client?.destroy();
    await fake?.close();
  });

  it('reports the records it was told to fail, and takes them when sent again', async () => {
    fake.failRecords(({ data, attempt }) =>
      attempt === 0 && /[13]/.test(data.toString()) ? THROTTLED : undefined,
    );
    try {
      const first = await client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: 'logs',
          Records: ['r0', 'r1', 'r2', 'r3', 'r4'].map(rec),
        }),
      );
      assert.equal(first.FailedPutCount, 2);
      const rr = first.RequestResponses!;
      assert.equal(rr.length, 5);
      assert.deepEqual(
        rr.map((r) => r.ErrorCode ?? 'ok'),
        ['ok', 'ServiceUnavailableException', 'ok', 'ServiceUnavailableException', 'ok'],
      );
      assert.ok(rr[0]!.RecordId);
      assert.equal(rr[1]!.ErrorMessage, 'Slow down.');
      assert.deepEqual(fake.records('logs').map(String), ['r0', 'r2', 'r4']);

      const failed = rr.flatMap((r, i) => (r.ErrorCode ? [`r${i}`] : []));
      const again = await client.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: failed.map(rec) }),
      );
      assert.equal(again.FailedPutCount, 0);
      assert.deepEqual(fake.records('logs').map(String), ['r0', 'r2', 'r4', 'r1', 'r3']);
    } finally {
      fake.failRecords(undefined);
    }
  });

  it("enforces Firehose's limits: 500 records, 1,000 KiB a record, 4 MiB a call", async () => {
    const tooMany = Array.from({ length: FIREHOSE_LIMITS.maxRecordsPerBatch + 1 }, (_, i) => rec(`x${i}`));
    await assert.rejects(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: tooMany })),
      {
        name: 'ValidationException',
      },
    );
    const big = { Data: Buffer.alloc(FIREHOSE_LIMITS.maxRecordBytes + 1, 0x61) };
    await assert.rejects(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: [big] })),
      {
        name: 'ValidationException',
      },
    );
    const fiveMiB = Array.from({ length: 5 }, () => ({ Data: Buffer.alloc(1_000_000, 0x62) }));
    await assert.rejects(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: fiveMiB })),
      {
        name: 'InvalidArgumentException',
      },
    );
    const atLimit = { Data: Buffer.alloc(FIREHOSE_LIMITS.maxRecordBytes, 0x63) };
    const ok = await client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'logs', Records: [atLimit] }),
    );
    assert.equal(ok.FailedPutCount, 0);
  });

  it('fails whole requests when told to, then answers again', async () => {
    fake.failRequests(1, { status: 503, type: 'ServiceUnavailableException', message: 'Slow down.' });
    await assert.rejects(
      client.send(new PutRecordCommand({ DeliveryStreamName: 'logs', Record: rec('later') })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === 'ServiceUnavailableException' && err.$metadata?.httpStatusCode === 503,
    );
    const r = await client.send(new PutRecordCommand({ DeliveryStreamName: 'logs', Record: rec('later') }));
    assert.ok(r.RecordId);
    assert.equal(fake.records('logs').at(-1)!.toString(), 'later');
  });

  it('answers an unknown stream with ResourceNotFoundException, and describes a known one', async () => {
    await assert.rejects(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'nope', Records: [rec('x')] })),
      (err: unknown) => err instanceof ResourceNotFoundException && /nope/.test(err.message),
    );
    const d = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'logs' }));
    assert.equal(d.DeliveryStreamDescription?.DeliveryStreamStatus, 'ACTIVE');
  });

  it('speaks JSON 1.1 on the wire: X-Amz-Target, a signed request, base64 data', async () => {
    const body = JSON.stringify({
      DeliveryStreamName: 'logs',
      Records: [{ Data: Buffer.from('raw').toString('base64') }],
    });
    const headers = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'Firehose_20150804.PutRecordBatch',
    };
    const unsigned = await fetch(fake.endpoint, { method: 'POST', headers, body });
    assert.equal(unsigned.status, 400);
    assert.equal(
      ((await unsigned.json()) as { __type: string }).__type,
      'MissingAuthenticationTokenException',
    );
    const signed = await fetch(fake.endpoint, {
      method: 'POST',
      headers: {
        ...headers,
        authorization:
          'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/firehose/aws4_request, SignedHeaders=host, Signature=00',
      },
      body,
    });
    assert.equal(signed.status, 200);
    assert.equal(signed.headers.get('content-type'), 'application/x-amz-json-1.1');
    const answer = (await signed.json()) as {
      FailedPutCount: number;
      RequestResponses: { RecordId: string }[];
    };
    assert.equal(answer.FailedPutCount, 0);
    assert.equal(fake.records('logs').at(-1)!.toString(), 'raw');
    assert.ok(fake.requests.some((r) => r.operation === 'PutRecordBatch' && r.status === 400));
  });
});
