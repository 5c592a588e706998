import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type MotoServer, startMoto } from './moto.ts';

// moto's Firehose: a delivery stream with an S3 destination, records put through the AWS SDK
// v3 client and found in the bucket (moto delivers at once, without buffering hints).

describe('stores: moto Firehose to S3', () => {
  let moto: MotoServer;
  let s3: S3Client;
  let firehose: FirehoseClient;
  const bucket = `sluice-firehose-${process.pid}`;
  const stream = `sluice-logs-${process.pid}`;
  before(async () => {
    moto = await startMoto();
    const common = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
    s3 = new S3Client({ ...common, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    firehose = new FirehoseClient(common);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: stream,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${bucket}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose-to-s3',
          Prefix: 'app/',
        },
      }),
    );
  });
  after(async () => {
    s3?.destroy();
    firehose?.destroy();
    await moto?.stop();
  });

  it('puts records to a delivery stream and finds them in the bucket', async () => {
    const d = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }));
    assert.equal(d.DeliveryStreamDescription?.DeliveryStreamStatus, 'ACTIVE');
    const one = await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('{"n":0}\n') } }),
    );
    assert.ok(one.RecordId);
    const batch = await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: [1, 2, 3].map((n) => ({ Data: Buffer.from(`{"n":${n}}\n`) })),
      }),
    );
    assert.equal(batch.FailedPutCount, 0);
    assert.equal(batch.RequestResponses?.length, 3);

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'app/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    assert.ok(keys.length >= 1, 'objects delivered under the prefix');
    let all = '';
    for (const Key of keys) {
      const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      all += await o.Body!.transformToString();
    }
    const ns = all
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { n: number }).n)
      .sort();
    assert.deepEqual(ns, [0, 1, 2, 3]);
  });
});
