import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { KinesisFirehoseOutput } from '../../../src/plugins/output/kinesis_firehose/index.ts';
import { instantiate } from '../../../src/testing/context.ts';
import { type MotoServer, startMoto } from '../../stores/moto.ts';
import { chunkOf, firehoseOut, loadFormatters, makeOutput } from './kinesis_firehose-helpers.ts';

// out_kinesis_firehose against moto's Firehose: a delivery stream with an S3 destination made
// through the SDK, chunks shipped, and the records read back from the objects moto's Firehose
// wrote to its S3 bucket (moto delivers each PutRecordBatch at once).

describe('out_kinesis_firehose against moto (records land in the S3 destination)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  let firehose: FirehoseClient;
  const outs: KinesisFirehoseOutput[] = [];
  const bucket = `sluice-fh-out-${process.pid}`;

  const createStream = async (name: string, prefix: string) => {
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${bucket}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose-to-s3',
          Prefix: prefix,
        },
      }),
    );
  };
  /** Everything moto's Firehose wrote under a prefix, objects in key order. */
  const delivered = async (prefix: string): Promise<string> => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
    let all = '';
    for (const Key of keys) {
      const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      all += await o.Body!.transformToString();
    }
    return all;
  };

  before(async () => {
    await loadFormatters();
    moto = await startMoto();
    const common = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
    s3 = new S3Client({ ...common, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    firehose = new FirehoseClient(common);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    for (const o of outs) await o.stop();
    s3?.destroy();
    firehose?.destroy();
    await moto?.stop();
  });

  it('every event of the chunks is one JSON line in the bucket, in batches of batch_request_max_count', async () => {
    await createStream('app-logs', 'app/');
    const { o, ctx } = await makeOutput(moto, 'delivery_stream_name app-logs\nbatch_request_max_count 100');
    outs.push(o);
    const first = Array.from({ length: 250 }, (_, i) => ({ i, message: `line ${i}`, level: 'info' }));
    const second = Array.from({ length: 30 }, (_, i) => ({ i: 250 + i, message: `line ${250 + i}` }));
    assert.deepEqual(await o.write(chunkOf('app.web', first)), { status: 'ok' });
    assert.deepEqual(await o.write(chunkOf('app.web', second)), { status: 'ok' });
    assert.equal(ctx.metrics.batch_requests, 4, '100 + 100 + 50, then 30');
    const lines = (await delivered('app/')).split('\n');
    assert.equal(lines.pop(), '', 'every record ends with its newline');
    const got = lines.map((l) => JSON.parse(l) as { i: number; message: string });
    assert.deepEqual(
      got.map((r) => r.i).sort((a, b) => a - b),
      Array.from({ length: 280 }, (_, i) => i),
    );
    assert.deepEqual(
      got.find((r) => r.i === 7),
      { i: 7, message: 'line 7', level: 'info' },
    );
  });

  it('delivery_stream_name with ${tag[1]}: each tag to its own stream and prefix', async () => {
    await createStream('svc-api', 'api/');
    await createStream('svc-db', 'db/');
    const { o } = await makeOutput(moto, 'delivery_stream_name svc-${tag[1]}');
    outs.push(o);
    assert.deepEqual(await o.write(chunkOf('svc.api', [{ from: 'api' }])), { status: 'ok' });
    assert.deepEqual(await o.write(chunkOf('svc.db', [{ from: 'db' }, { from: 'db', n: 2 }])), {
      status: 'ok',
    });
    assert.equal(await delivered('api/'), '{"from":"api"}\n');
    assert.equal(await delivered('db/'), '{"from":"db"}\n{"from":"db","n":2}\n');
  });

  it("without aws_key_id: the AWS SDK's default credential chain (here the environment) and region", async () => {
    await createStream('env-creds', 'env/');
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = moto.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = moto.credentials.secretAccessKey;
    process.env.AWS_REGION = moto.region;
    try {
      const { plugin: o } = instantiate(
        firehoseOut,
        `<match **>\n@type kinesis_firehose\ndelivery_stream_name env-creds\nendpoint ${moto.endpoint}\n</match>\n`,
      );
      outs.push(o);
      await o.start();
      assert.deepEqual(await o.write(chunkOf('t', [{ via: 'env' }])), { status: 'ok' });
    } finally {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'])
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    }
    assert.equal(await delivered('env/'), '{"via":"env"}\n');
  });
});
