import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type MotoServer, startMoto } from './moto.ts';

// moto's S3 through the AWS SDK v3 client (path-style; checksums only where required, as an
// S3-compatible store other than AWS wants).

describe('stores: moto S3', () => {
  let moto: MotoServer;
  let s3: S3Client;
  const bucket = `sluice-smoke-${process.pid}`;
  before(async () => {
    moto = await startMoto();
    s3 = new S3Client({
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: moto.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  it('puts an object and reads it back', async () => {
    const body = '{"message":"hello"}\n{"message":"world"}\n';
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'logs/single.json',
        Body: body,
        ContentType: 'application/json',
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'logs/single.json' }));
    assert.equal(await got.Body!.transformToString(), body);
    assert.equal(got.ContentType, 'application/json');
  });

  it('puts an object in a multipart upload (two 5 MiB parts and a short last one) and reads it back', async () => {
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(1234)];
    const Key = 'logs/multipart.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    assert.ok(UploadId);
    const done: { ETag: string; PartNumber: number }[] = [];
    for (const [i, part] of parts.entries()) {
      const r = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: i + 1, Body: part }),
      );
      done.push({ ETag: r.ETag!, PartNumber: i + 1 });
    }
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: done } }),
    );
    assert.match(completed.ETag ?? '', /-3"?$/, 'a multipart ETag names its part count');
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
    const whole = Buffer.concat(parts);
    assert.equal(head.ContentLength, whole.length);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(whole));
  });
});
