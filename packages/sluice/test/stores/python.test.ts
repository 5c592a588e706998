import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EventTime } from '@sluice/forward';
import { startInput } from '../plugins/forward-helpers.ts';
import { type MotoServer, startMoto } from './moto.ts';
import { describeRun, pythonScript, runPython } from './python.ts';

// The apps' side in Python, from the stores' venv: boto3 against moto's S3 and Firehose, and
// the Python Fluentd logger against Sluice's forward input.

describe('stores: Python clients', () => {
  describe('boto3', () => {
    let moto: MotoServer;
    before(async () => {
      moto = await startMoto();
    });
    after(async () => {
      await moto?.stop();
    });

    it('writes to S3 and puts records through Firehose into S3, read back with the JS SDK', async () => {
      const bucket = `py-${process.pid}`;
      const run = await runPython(pythonScript('boto3_firehose_s3.py'), [
        moto.endpoint,
        bucket,
        `py-stream-${process.pid}`,
      ]);
      assert.equal(run.code, 0, describeRun(run));
      assert.deepEqual(JSON.parse(run.stdout), { FailedPutCount: 0, responses: 3 });

      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: moto.region,
        credentials: moto.credentials,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      try {
        const hello = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'from-boto3/hello.json' }));
        assert.equal(await hello.Body!.transformToString(), '{"message":"hello from boto3"}\n');
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'firehose/' }));
        let all = '';
        for (const o of listed.Contents ?? []) {
          all += await (
            await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))
          ).Body!.transformToString();
        }
        const ns = all
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { n: number }).n)
          .sort();
        assert.deepEqual(ns, [0, 1, 2]);
      } finally {
        s3.destroy();
      }
    });
  });

  it('fluent-logger (Python) sends to a Sluice forward input: FluentSender and the logging handler', async () => {
    const s = await startInput('');
    try {
      const t0 = Date.now() / 1000;
      const run = await runPython(pythonScript('fluent_logger_send.py'), ['127.0.0.1', String(s.port)]);
      assert.equal(run.code, 0, describeRun(run));
      await s.counter.waitFor(4);
      const events = s.ctx.emitted.flatMap((b) => b.entries().map((e) => ({ tag: b.tag, ...e })));
      const sent = events.filter((e) => e.tag === 'py.sender');
      assert.deepEqual(
        sent.map((e) => e.record),
        [0, 1, 2].map((i) => ({ i, msg: `hello ${i}`, uni: 'é✓', nested: { ok: true } })),
      );
      for (const e of sent) {
        assert.ok(e.time instanceof EventTime);
        assert.ok(
          Math.abs(e.time.sec - t0) < 60 && e.time.nsec > 0,
          `time ${e.time}: near now, with nanoseconds`,
        );
      }
      const logged = events.filter((e) => e.tag !== 'py.sender');
      assert.equal(logged.length, 1, JSON.stringify(events.map((e) => e.tag)));
      assert.equal(logged[0]!.tag, 'py.handler');
      assert.deepEqual(logged[0]!.record, { level: 'INFO', logger: 'app', event: 'login', user: 'u1' });
    } finally {
      await s.stop();
    }
  });
});
