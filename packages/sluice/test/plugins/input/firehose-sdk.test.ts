// The firehose input against the AWS SDK for JavaScript v3's own Firehose client: what an
// application using @aws-sdk/client-firehose sees when its endpoint is Sluice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import { captured } from '../../helpers/capture.ts';
import { CREDS, client, enc, type Running, received, runEngine, SECURITY } from './firehose-helpers.ts';

describe('firehose input: @aws-sdk/client-firehose', () => {
  let s: Running;
  before(async () => {
    s = await runEngine(
      (port) => `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams logging-test, other.stream
  tag_prefix firehose
</source>
<match firehose.**>
  @type test_capture
</match>`,
    );
  });
  after(() => s.stop());

  it('PutRecordBatch: each record one JSON event tagged with the stream, a RecordId each, after acceptance', async () => {
    const fh = client(s.endpoint);
    const lines = [0, 1, 2].map((n) => JSON.stringify({ levelname: 'INFO', message: `line ${n}`, n }));
    const r = await fh.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'logging-test',
        Records: lines.map((l) => ({ Data: enc(l) })),
      }),
    );
    assert.equal(r.FailedPutCount, 0);
    assert.equal(r.RequestResponses?.length, 3);
    const ids = r.RequestResponses!.map((x) => x.RecordId);
    assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0));
    assert.equal(new Set(ids).size, 3);
    // The answer came after the emit resolved: the events are already in the output.
    const got = received().filter((e) => e.tag === 'firehose.logging-test');
    assert.deepEqual(
      got.map((e) => e.record),
      [0, 1, 2].map((n) => ({ levelname: 'INFO', message: `line ${n}`, n })),
    );
    const one = await fh.send(
      new PutRecordCommand({ DeliveryStreamName: 'other.stream', Record: { Data: enc('{"single":true}') } }),
    );
    assert.ok(one.RecordId);
    assert.deepEqual(received().at(-1), { tag: 'firehose.other.stream', record: { single: true } });
  });

  it('ListDeliveryStreams and DescribeDeliveryStream answer from the configured streams', async () => {
    const fh = client(s.endpoint);
    const l = await fh.send(new ListDeliveryStreamsCommand({}));
    assert.deepEqual(l.DeliveryStreamNames, ['logging-test', 'other.stream']);
    assert.equal(l.HasMoreDeliveryStreams, false);
    const page = await fh.send(new ListDeliveryStreamsCommand({ Limit: 1 }));
    assert.deepEqual(page.DeliveryStreamNames, ['logging-test']);
    assert.equal(page.HasMoreDeliveryStreams, true);
    const d = await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'logging-test' }));
    const desc = d.DeliveryStreamDescription!;
    assert.equal(desc.DeliveryStreamStatus, 'ACTIVE');
    assert.equal(desc.DeliveryStreamType, 'DirectPut');
    assert.equal(
      desc.DeliveryStreamARN,
      'arn:aws:firehose:us-east-1:000000000000:deliverystream/logging-test',
    );
    assert.ok(desc.CreateTimestamp instanceof Date);
    await assert.rejects(fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'nope' })), {
      name: 'ResourceNotFoundException',
    });
  });

  it('an unknown stream is ResourceNotFoundException and nothing is emitted', async () => {
    const before = received().length;
    await assert.rejects(
      client(s.endpoint).send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'unknown', Records: [{ Data: enc('{"a":1}') }] }),
      ),
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, 'ResourceNotFoundException');
        assert.match(e.message, /Firehose unknown under account 000000000000 not found/);
        assert.equal(e.$metadata?.httpStatusCode, 400);
        return true;
      },
    );
    assert.equal(received().length, before);
  });

  it("Firehose's limits: 500 records, 1,000 KiB per record, 4 MiB per call, with AWS's exceptions", async () => {
    const fh = client(s.endpoint);
    const before = received().length;
    const small = { Data: enc('{"x":1}') };
    await assert.rejects(
      fh.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'logging-test', Records: Array(501).fill(small) }),
      ),
      (e: Error) => e.name === 'ValidationException' && /less than or equal to 500/.test(e.message),
    );
    const big = { Data: new Uint8Array(1_024_001).fill(0x61) };
    await assert.rejects(
      fh.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logging-test', Records: [small, big] })),
      (e: Error) => e.name === 'ValidationException' && /records\.2\.member\.data/.test(e.message),
    );
    await assert.rejects(
      fh.send(new PutRecordCommand({ DeliveryStreamName: 'logging-test', Record: big })),
      (e: Error) => e.name === 'ValidationException' && /record\.data/.test(e.message),
    );
    // 5 records of 1,000,000 bytes: each is allowed, together they pass 4 MiB.
    const mb = { Data: new Uint8Array(1_000_000).fill(0x61) };
    await assert.rejects(
      fh.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logging-test', Records: Array(5).fill(mb) })),
      { name: 'InvalidArgumentException', message: 'Records size exceeds 4 MB limit' },
    );
    await assert.rejects(
      fh.send(new PutRecordBatchCommand({ DeliveryStreamName: 'logging-test', Records: [] })),
      { name: 'ValidationException' },
    );
    assert.equal(received().length, before);
    // The largest allowed: 500 records in one call, and 1,024,000 bytes in one record.
    const r = await fh.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'logging-test',
        Records: Array.from({ length: 500 }, (_, i) => ({ Data: enc(JSON.stringify({ i })) })),
      }),
    );
    assert.equal(r.FailedPutCount, 0);
    const text = JSON.stringify({ pad: 'b'.repeat(1_024_000 - 10) });
    assert.equal(text.length, 1_024_000);
    await fh.send(new PutRecordCommand({ DeliveryStreamName: 'logging-test', Record: { Data: enc(text) } }));
    assert.equal(received().length, before + 501);
  });

  it('a record that does not parse goes to @ERROR, the others are emitted and all are answered accepted', async () => {
    const before = received().length;
    const r = await client(s.endpoint).send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'logging-test',
        Records: [{ Data: enc('{"ok":1}') }, { Data: enc('not json') }, { Data: enc('{"ok":2}') }],
      }),
    );
    assert.equal(r.FailedPutCount, 0);
    assert.deepEqual(
      received()
        .slice(before)
        .map((e) => e.record),
      [{ ok: 1 }, { ok: 2 }],
    );
  });

  it("json's time_key sets the event time; unusual JSON (escaped keys, nesting, unicode) comes out as JSON.parse reads it", async () => {
    const start = captured.get('out')?.length ?? 0;
    const texts = [
      '{"time":1700000000.5,"a":1}',
      '{"k\\u00e9y":"v","nested":{"x":[1,2.5,-3,true,null]},"s":"line\\nbreak \\u263a","big":12345678901234567890}\n',
      '  {"plain":"caf\u00e9"}  ',
    ];
    const r = await client(s.endpoint).send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'logging-test',
        Records: texts.map((t) => ({ Data: enc(t) })),
      }),
    );
    assert.equal(r.FailedPutCount, 0);
    const entries = (captured.get('out') ?? []).slice(start).flatMap((b) => b.entries());
    assert.deepEqual(
      entries.map((e) => e.record),
      [{ a: 1 }, JSON.parse(texts[1]!), JSON.parse(texts[2]!)],
    );
    assert.deepEqual([entries[0]!.time.sec, entries[0]!.time.nsec], [1700000000, 500000000]);
    assert.ok(Math.abs(entries[1]!.time.sec - Date.now() / 1000) < 60);
  });

  it('credentials are not checked without <security>', async () => {
    const r = await client(s.endpoint, { credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }).send(
      new PutRecordCommand({ DeliveryStreamName: 'logging-test', Record: { Data: enc('{}') } }),
    );
    assert.ok(r.RecordId);
  });
});

describe('firehose input: <security> verifies SigV4', () => {
  let s: Running;
  before(async () => {
    s = await runEngine(
      (port) => `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams logging-test
  ${SECURITY}
  <parse>
    @type none
  </parse>
</source>
<match **>
  @type test_capture
</match>`,
    );
  });
  after(() => s.stop());

  it('a good signature is accepted; a wrong secret, an unknown key and no signature are refused as AWS does', async () => {
    const put = (fh: ReturnType<typeof client>) =>
      fh.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: 'logging-test',
          Records: [{ Data: enc('plain text') }],
        }),
      );
    const ok = await put(client(s.endpoint));
    assert.equal(ok.FailedPutCount, 0);
    assert.deepEqual(received(), [{ tag: 'logging-test', record: { message: 'plain text' } }]);
    await assert.rejects(
      put(client(s.endpoint, { credentials: { ...CREDS, secretAccessKey: 'wrong' } })),
      (e: Error) =>
        e.name === 'InvalidSignatureException' && /signature we calculated does not match/.test(e.message),
    );
    await assert.rejects(
      put(client(s.endpoint, { credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' } })),
      {
        name: 'UnrecognizedClientException',
      },
    );
    const res = await fetch(s.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'Firehose_20150804.ListDeliveryStreams',
      },
      body: '{}',
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    assert.deepEqual(await res.json(), {
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    assert.equal(received().length, 1);
  });

  it("a clock 10 minutes off is refused as AWS does ('Signature expired'); the SDK's retry corrects its clock from the answer's Date", async () => {
    const put = (fh: ReturnType<typeof client>) =>
      fh.send(new PutRecordCommand({ DeliveryStreamName: 'logging-test', Record: { Data: enc('skewed') } }));
    const off = new FirehoseClient({
      endpoint: s.endpoint,
      region: 'us-east-1',
      credentials: CREDS,
      maxAttempts: 1,
      systemClockOffset: -600_000,
    });
    await assert.rejects(
      put(off),
      (e: Error) =>
        e.name === 'InvalidSignatureException' &&
        /^Signature expired: \d{8}T\d{6}Z is now earlier than/.test(e.message),
    );
    const retrying = new FirehoseClient({
      endpoint: s.endpoint,
      region: 'us-east-1',
      credentials: CREDS,
      maxAttempts: 2,
      systemClockOffset: -600_000,
    });
    assert.ok((await put(retrying)).RecordId);
  });

  it('a body changed after signing is refused', async () => {
    const fh = client(s.endpoint);
    let tampered = false;
    // After the signer: the request goes out signed for "left" and carries "right".
    fh.middlewareStack.addRelativeTo(
      ((next: (a: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
        const req = args.request as { body: unknown };
        const text =
          typeof req.body === 'string' ? req.body : Buffer.from(req.body as Uint8Array).toString('utf8');
        req.body = text.replace('bGVmdA==', 'cmlnaHQ=');
        tampered = req.body !== text;
        return next(args);
      }) as unknown as Parameters<typeof fh.middlewareStack.addRelativeTo>[0],
      { relation: 'after', toMiddleware: 'awsAuthMiddleware', name: 'tamper' },
    );
    await assert.rejects(
      fh.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'logging-test', Records: [{ Data: enc('left') }] }),
      ),
      { name: 'InvalidSignatureException' },
    );
    assert.ok(tampered);
    assert.equal(received().filter((e) => e.record.message === 'right').length, 0);
  });
});
