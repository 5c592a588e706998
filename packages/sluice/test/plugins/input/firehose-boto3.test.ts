// The firehose input against boto3 (the client seed 004's logging handler uses), pointed at
// Sluice by AWS_ENDPOINT_URL_FIREHOSE only, as an app would be configured.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { venvPython } from '../../stores/moto.ts';
import { describeRun, pythonScript, runPython } from '../../stores/python.ts';
import { Sink } from '../output/http-helpers.ts';
import {
  CREDS,
  client,
  fullBufferPipeline,
  numbered,
  type Running,
  received,
  runEngine,
  SECURITY,
  sinkNumbers,
} from './firehose-helpers.ts';

const env = (endpoint: string) => ({
  AWS_ENDPOINT_URL_FIREHOSE: endpoint,
  AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
  AWS_DEFAULT_REGION: 'us-east-1',
});

describe('firehose input: boto3', () => {
  let s: Running;
  before(async () => {
    s = await runEngine(
      (port) => `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams logging-test
  ${SECURITY}
</source>
<match **>
  @type test_capture
</match>`,
    );
  });
  after(() => s.stop());

  it("batches, PutRecord, List/Describe, unknown streams, limits and a bad signature, as boto3's ClientError codes", async () => {
    const run = await runPython(pythonScript('firehose_client.py'), ['calls', 'logging-test'], {
      env: env(s.endpoint),
    });
    assert.equal(run.code, 0, describeRun(run));
    const out = JSON.parse(run.stdout);
    assert.equal(out.batch.failed, 0);
    assert.equal(out.batch.ids.length, 3);
    assert.ok(out.batch.ids.every((id: unknown) => typeof id === 'string'));
    assert.equal(out.put, true);
    assert.deepEqual(out.list, ['logging-test']);
    assert.deepEqual(out.describe, {
      status: 'ACTIVE',
      arn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/logging-test',
    });
    assert.equal(out.unknown.code, 'ResourceNotFoundException');
    assert.equal(out.unknown.status, 400);
    assert.equal(out.too_many.code, 'ValidationException');
    assert.equal(out.record_too_big.code, 'ValidationException');
    assert.deepEqual(out.call_too_big, {
      code: 'InvalidArgumentException',
      message: 'Records size exceeds 4 MB limit',
      status: 400,
    });
    assert.equal(out.bad_signature.code, 'InvalidSignatureException');
    assert.deepEqual(
      received().map((e) => e.record),
      [{ n: 0, app: 'boto3' }, { n: 1, app: 'boto3' }, { n: 2, app: 'boto3' }, { single: true }],
    );
  });
});

describe('firehose input: boto3 resends only the records a full buffer failed', () => {
  let s: Running;
  const sink = new Sink();
  before(async () => {
    const sinkPort = await sink.listen();
    sink.status = () => 503;
    s = await runEngine((port) => fullBufferPipeline(port, sinkPort));
  });
  after(async () => {
    await s.stop();
    await sink.close();
  });

  it('FailedPutCount and ErrorCode per record; the resend carries the failed ones and each record arrives once', async () => {
    const first = await client(s.endpoint).send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'logs',
        Records: [0, 1, 2].map(numbered),
      }),
    );
    assert.equal(first.FailedPutCount, 0);
    const py = spawn(venvPython(), [pythonScript('firehose_client.py'), 'partial', 'logs'], {
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...env(s.endpoint) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    py.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => py.once('close', r));
    const timer = setTimeout(() => py.kill('SIGKILL'), 60_000);
    try {
      const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
      const next = async () => {
        const l = await lines.next();
        assert.ok(!l.done, `the script ended early: ${stderr}`);
        return JSON.parse(l.value);
      };
      const one = await next();
      assert.ok(one.failed_count > 0 && one.failed_count < 9, JSON.stringify(one));
      assert.equal(one.failed.length, one.failed_count);
      assert.deepEqual(one.codes, ['ServiceUnavailableException']);
      sink.status = () => 200;
      const numbers = () => sinkNumbers(sink);
      await sink.waitUntil(
        () => numbers().length === 12 - one.failed_count,
        20_000,
        () => `sink: ${numbers()}`,
      );
      py.stdin.write('\n');
      const two = await next();
      assert.deepEqual(two, { attempt: 2, sent: one.failed, failed_count: 0 });
      assert.equal(await exited, 0, stderr);
      await sink.waitUntil(
        () => numbers().length >= 12,
        20_000,
        () => `sink: ${numbers()}`,
      );
      assert.deepEqual(
        numbers().sort((a, b) => a - b),
        Array.from({ length: 12 }, (_, i) => i),
      );
    } finally {
      clearTimeout(timer);
      py.kill('SIGKILL');
    }
  });
});
