// Uploads through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3), loaded on first use
// (core/lazy-require.ts): its module loading is a noticeable part of the start-up, which
// configs without s3 never pay (the load time is in bench/RESULTS.md, "forward -> out_s3").
//
// An ObjectWriter takes an object's bytes as they are made (a chunk is formatted and gzipped a
// slice at a time): up to multipart_threshold they are kept and sent with one PutObject; past it
// a multipart upload starts and parts of multipart_chunk_size go up as they fill, up to
// PARALLEL_PARTS at a time. So a write holds about the threshold plus the parts in flight, not
// the whole object (which for a large file-buffer chunk is larger than the chunk: see
// bench/RESULTS.md, "forward -> out_s3"). Any failure aborts the
// multipart upload, so no incomplete upload is left to be billed; the chunk is retried whole,
// under the same key.
import type * as S3 from '@aws-sdk/client-s3';
import { SluiceError } from '../../../core/errors.ts';
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

/** One request with its own timeout. */
function send<O>(client: S3.S3Client, cmd: unknown, timeoutMs: number): Promise<O> {
  // the SDK's send is generic over each command's input and output types
  const c = client as unknown as { send(cmd: unknown, o: { abortSignal: AbortSignal }): Promise<O> };
  return c.send(cmd, { abortSignal: AbortSignal.timeout(timeoutMs) });
}

export class ObjectWriter {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private uploadId: string | undefined;
  private readonly etags: string[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  /** bytes written so far */
  bytes = 0;
  /** parts cut so far (0 until a multipart upload starts) */
  parts = 0;

  constructor(
    private readonly client: S3.S3Client,
    private readonly key: string,
    private readonly object: ObjectOptions,
    private readonly o: UploadOptions,
  ) {}

  /** The next bytes of the object; copied unless `owned` (the caller reuses its memory after this resolves). */
  async write(b: Buffer, owned = false): Promise<void> {
    if (b.length === 0) return;
    this.pending.push(owned ? b : Buffer.from(b));
    this.pendingLen += b.length;
    this.bytes += b.length;
    if (this.uploadId === undefined && this.pendingLen > this.o.threshold) await this.start();
    if (this.uploadId !== undefined)
      while (this.pendingLen >= this.o.partSize) await this.part(this.take(this.o.partSize));
  }

  /** Sends what is left and completes the object; resolves once S3 has it. */
  async end(): Promise<void> {
    const sdk = s3Sdk();
    if (this.uploadId === undefined) {
      const body = Buffer.concat(this.pending, this.pendingLen);
      await send(
        this.client,
        new sdk.PutObjectCommand({ ...this.object, Key: this.key, Body: body }),
        this.o.timeoutMs,
      );
      return;
    }
    if (this.pendingLen > 0 || this.parts === 0) await this.part(this.take(this.pendingLen));
    await Promise.all(this.inflight);
    if (this.failure) throw this.failure;
    await send(
      this.client,
      new sdk.CompleteMultipartUploadCommand({
        Bucket: this.object.Bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
      this.o.timeoutMs,
    );
  }

  /** After a failure: aborts the multipart upload, if one was started. Returns why that failed, if it did. */
  async abort(): Promise<string | undefined> {
    this.pending = [];
    this.pendingLen = 0;
    if (this.uploadId === undefined) return undefined;
    await Promise.allSettled(this.inflight);
    try {
      await send(
        this.client,
        new (s3Sdk().AbortMultipartUploadCommand)({
          Bucket: this.object.Bucket,
          Key: this.key,
          UploadId: this.uploadId,
        }),
        this.o.timeoutMs,
      );
      return undefined;
    } catch (e) {
      return `AbortMultipartUpload ${this.uploadId} failed: ${(e as Error).message}; a bucket lifecycle rule AbortIncompleteMultipartUpload removes it`;
    }
  }

  private async start(): Promise<void> {
    const created = await send<S3.CreateMultipartUploadCommandOutput>(
      this.client,
      new (s3Sdk().CreateMultipartUploadCommand)({ ...this.object, Key: this.key }),
      this.o.timeoutMs,
    );
    if (!created.UploadId)
      throw new SluiceError('S3_UPLOAD_FAILED', 'CreateMultipartUpload answered without an UploadId');
    this.uploadId = created.UploadId;
  }

  /** The first `n` pending bytes, in a buffer of their own. */
  private take(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLen = rest.length;
    return all.subarray(0, n);
  }

  private async part(body: Buffer): Promise<void> {
    while (this.inflight.size >= PARALLEL_PARTS) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
    const n = ++this.parts;
    const p: Promise<void> = send<S3.UploadPartCommandOutput>(
      this.client,
      new (s3Sdk().UploadPartCommand)({
        Bucket: this.object.Bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: n,
        Body: body,
      }),
      this.o.timeoutMs,
    )
      .then((r) => {
        if (!r.ETag) throw new SluiceError('S3_UPLOAD_FAILED', `UploadPart ${n} answered without an ETag`);
        this.etags[n - 1] = r.ETag;
      })
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }
}
