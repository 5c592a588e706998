// Uploads through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3), loaded on first use
// (core/lazy-require.ts): about 140 ms of module loading on our 2-core machine, which configs without s3 never pay.
// One PutObject up to multipart_threshold; above it a multipart upload of
// multipart_chunk_size parts, up to PARALLEL_PARTS at a time, aborted when any step fails so
// no incomplete upload is left to be billed (the chunk is retried whole, under the same key).
import type * as S3 from '@aws-sdk/client-s3';
import { lazyRequire } from '../../../core/lazy-require.ts';

export const s3Sdk = lazyRequire<typeof S3>('@aws-sdk/client-s3');

/** Parts of one multipart upload in flight at a time. */
const PARALLEL_PARTS = 4;

/** What every object gets (PutObject and CreateMultipartUpload share these fields). */
export type ObjectOptions = Omit<S3.PutObjectCommandInput, 'Body' | 'Key'> & { Bucket: string };

export interface UploadOptions {
  threshold: number;
  partSize: number;
  timeoutMs: number;
}

export interface UploadResult {
  parts: number;
}

/** One request with its own timeout. */
function send<O>(client: S3.S3Client, cmd: unknown, timeoutMs: number): Promise<O> {
  return (client as any).send(cmd, { abortSignal: AbortSignal.timeout(timeoutMs) }) as Promise<O>;
}

export async function upload(
  client: S3.S3Client,
  key: string,
  body: Buffer,
  object: ObjectOptions,
  o: UploadOptions,
): Promise<UploadResult> {
  const sdk = s3Sdk();
  if (body.length <= o.threshold) {
    await send(client, new sdk.PutObjectCommand({ ...object, Key: key, Body: body }), o.timeoutMs);
    return { parts: 1 };
  }
  const created = await send<S3.CreateMultipartUploadCommandOutput>(
    client,
    new sdk.CreateMultipartUploadCommand({ ...object, Key: key }),
    o.timeoutMs,
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
  const count = Math.ceil(body.length / o.partSize);
  const etags: string[] = new Array(count);
  try {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const part = body.subarray(i * o.partSize, Math.min(body.length, (i + 1) * o.partSize));
        const r = await send<S3.UploadPartCommandOutput>(
          client,
          new sdk.UploadPartCommand({
            Bucket: object.Bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: i + 1,
            Body: part,
          }),
          o.timeoutMs,
        );
        if (!r.ETag) throw new Error(`UploadPart ${i + 1} answered without an ETag`);
        etags[i] = r.ETag;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, count) }, worker));
    await send(
      client,
      new sdk.CompleteMultipartUploadCommand({
        Bucket: object.Bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
      o.timeoutMs,
    );
    return { parts: count };
  } catch (e) {
    try {
      await send(
        client,
        new sdk.AbortMultipartUploadCommand({ Bucket: object.Bucket, Key: key, UploadId: uploadId }),
        o.timeoutMs,
      );
    } catch (abortError) {
      (e as Error).message +=
        ` (and AbortMultipartUpload ${uploadId} failed: ${(abortError as Error).message}; a bucket lifecycle rule AbortIncompleteMultipartUpload removes it)`;
    }
    throw e;
  }
}
