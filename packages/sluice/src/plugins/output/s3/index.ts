// out_s3: fluent-plugin-s3's parameters, one object per chunk under a key made from the chunk
// (key.ts), so keys never collide across threads, workers and hosts without a HEAD request and
// a chunk uploaded again after a crash overwrites its own object. Large objects go up in parts
// (upload.ts). docs/outputs/s3.md says what is guaranteed and how.
import type * as S3 from '@aws-sdk/client-s3';
import type { ConfigElement } from '../../../config/ast.ts';
import { defineSchema, type Resolved } from '../../../config/schema.ts';
import type { BufferConfig } from '../../../core/buffer-config.ts';
import { BufferPool } from '../../../core/buffer-pool.ts';
import { ConfigError, internalError, SluiceError, type SourceLocation } from '../../../core/errors.ts';
import type {
  Chunk,
  FormatterPlugin,
  OutputPlugin,
  PluginContext,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { INJECT_SECTION, withInject } from '../../../shared/parse/inject.ts';
import {
  BrokenChunk,
  type Formatter,
  formatted,
  GzipPipe,
  jsonLines,
  outFileLines,
  type Storage,
  slices,
  storage,
} from './body.ts';
import { compileKey, timekeyFormat, uniqueFormat } from './key.ts';
import { notBuilt, type Params, schemaParams } from './params.ts';
import { type ObjectOptions, ObjectWriter, s3Sdk } from './upload.ts';

/** The object metadata (x-amz-meta-sluice-chunk) naming the chunk an object was made from. */
const CHUNK_META = 'sluice-chunk';

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** fluent-plugin-s3's reject_s3_endpoint?: AWS's own endpoints are chosen by s3_region. */
function rejectedEndpoint(endpoint: string): boolean {
  const host = endpoint.replace(/\/+$/, '');
  return (
    !host.endsWith('vpce.amazonaws.com') &&
    host.endsWith('amazonaws.com') &&
    !['fips', 'gov'].some((x) => host.includes(x))
  );
}

export class S3Output implements OutputPlugin {
  private client: S3.S3Client | undefined;
  /** the object key of a chunk: made by useBuffer, from the chunk keys and timekey */
  private keyOf: (chunk: Chunk) => string = () => {
    throw internalError('out_s3: a key was asked for before its buffer was set up');
  };
  private readonly keyFormatAt: SourceLocation;
  private readonly format: Formatter;
  private readonly store: Storage;
  private readonly object: ObjectOptions;
  /** the key format has no per-chunk placeholder: check_object's HEAD request applies */
  private readonly shared: boolean;
  private readonly region: string;
  /**
   * Memory of formatted chunks, reused (V8 frees dead Buffers only after 64 MiB of new external
   * memory: a fresh one per chunk set the peak RSS). Two: flush_thread_count writes take turns.
   */
  private readonly pool = new BufferPool(2);
  /** the format writes into reused memory (the msgpack paths) */
  private readonly reuses: boolean;

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Resolved<typeof schema>,
  ) {
    notBuilt.refuse(config);
    const el = config.element;
    const at = (key: string) => el.params.find((x) => x.key === key)?.location ?? el.location;
    if (p.s3_endpoint && rejectedEndpoint(p.s3_endpoint))
      throw new ConfigError(
        'S3_ENDPOINT: s3_endpoint parameter is not supported for S3, use s3_region instead. This parameter is for S3 compatible services',
        at('s3_endpoint'),
      );
    if ((p.aws_key_id == null) !== (p.aws_sec_key == null))
      throw new ConfigError(
        'S3_CREDENTIALS: aws_key_id and aws_sec_key go together (set both, or neither for the default credential chain)',
        at(p.aws_key_id == null ? 'aws_sec_key' : 'aws_key_id'),
      );
    if (p.index_format !== '%d')
      ctx.logger.warn(
        { code: 'S3_PARAM_NO_EFFECT', output: ctx.id, index_format: p.index_format },
        'index_format has no effect in Sluice: %{index} is the chunk id (see docs/outputs/s3.md)',
      );
    this.region = p.s3_region ?? process.env.AWS_REGION ?? 'us-east-1';
    if (!['gzip', 'json', 'text'].includes(p.store_as))
      throw new ConfigError(
        `S3_PARAM_NOT_BUILT: store_as ${p.store_as} is not built in Sluice (gzip, json or text; fluent-plugin-s3 runs external commands for lzo, lzma2, zstd and parquet; see docs/outputs/s3.md)`,
        at('store_as'),
      );
    this.store = storage(p.store_as);

    this.keyFormatAt = at('s3_object_key_format');
    const format = p.s3_object_key_format;
    this.shared = !uniqueFormat(format);
    if (this.shared)
      ctx.logger.warn(
        { code: 'S3_SHARED_KEY', output: ctx.id, s3_object_key_format: format, check_object: p.check_object },
        p.check_object
          ? "no %{index}, ${chunk_id}, %{uuid_flush} or %{hex_random} in s3_object_key_format: chunks may share a key; a HEAD request before each upload refuses to overwrite another chunk's object (S3_OBJECT_EXISTS)"
          : 'no %{index}, ${chunk_id}, %{uuid_flush} or %{hex_random} in s3_object_key_format and check_object false: a chunk overwrites any object of another chunk under the same key',
      );

    const formatEl = el.elements.find((e) => e.name === 'format');
    const formatType =
      formatEl?.params.findLast((x) => x.key === '@type' || x.key === 'type')?.value ?? 'out_file';
    const inject = config.sections.inject;
    const plain = !inject && (formatEl?.params.length ?? 0) <= 1 && (formatEl?.elements.length ?? 0) === 0;
    this.reuses = plain && (formatType === 'json' || formatType === 'out_file');
    if (plain && formatType === 'json') this.format = jsonLines();
    else if (plain && formatType === 'out_file') this.format = outFileLines();
    else {
      const f = formatEl
        ? ctx.createNested<FormatterPlugin>('formatter', formatEl, 'out_file')
        : ctx.createNested<FormatterPlugin>(
            'formatter',
            { name: 'format', arg: '', params: [], elements: [], location: el.location } as ConfigElement,
            'out_file',
          );
      this.format = formatted(withInject(f, inject, ctx));
    }

    const storageClass = p.reduced_redundancy ? 'REDUCED_REDUNDANCY' : p.storage_class;
    this.object = {
      Bucket: p.s3_bucket,
      ContentType: this.store.contentType,
      StorageClass: storageClass as S3.StorageClass,
      ...(p.acl ? { ACL: p.acl as S3.ObjectCannedACL } : {}),
      ...(p.grant_full_control ? { GrantFullControl: p.grant_full_control } : {}),
      ...(p.grant_read ? { GrantRead: p.grant_read } : {}),
      ...(p.grant_read_acp ? { GrantReadACP: p.grant_read_acp } : {}),
      ...(p.grant_write_acp ? { GrantWriteACP: p.grant_write_acp } : {}),
      ...(p.use_server_side_encryption
        ? { ServerSideEncryption: p.use_server_side_encryption as S3.ServerSideEncryption }
        : {}),
      ...(p.ssekms_key_id ? { SSEKMSKeyId: p.ssekms_key_id } : {}),
      ...(p.tagging ? { Tagging: p.tagging } : {}),
    };
    for (const k of ['objects_uploaded', 'multipart_uploads', 'bytes_uploaded', 'upload_failures'])
      ctx.metrics[k] = 0;
  }

  private count(key: string, n = 1): void {
    this.ctx.metrics[key] = ((this.ctx.metrics[key] as number | undefined) ?? 0) + n;
  }

  /** The client, made on first use (the SDK is loaded then). */
  private s3(): S3.S3Client {
    if (this.client) return this.client;
    const p = this.p;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = s3Sdk();
    this.client = new sdk.S3Client({
      region: this.region,
      ...(p.s3_endpoint ? { endpoint: p.s3_endpoint } : {}),
      forcePathStyle: p.force_path_style,
      useAccelerateEndpoint: p.enable_transfer_acceleration,
      useDualstackEndpoint: p.enable_dual_stack,
      ...(p.aws_key_id && p.aws_sec_key
        ? { credentials: { accessKeyId: p.aws_key_id, secretAccessKey: p.aws_sec_key } }
        : {}),
      ...(p.aws_profile ? { profile: p.aws_profile } : {}),
      // S3-compatible servers (MinIO, Ceph, moto...) do not all take the SDK's default CRC32 trailers
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // retries are the buffer's (retry_wait, exponential backoff, retry_timeout)
      maxAttempts: 1,
    });
    return this.client;
  }

  async start(): Promise<void> {
    const p = this.p;
    const sdk = s3Sdk();
    const client = this.s3();
    const timeout = () => ({ abortSignal: AbortSignal.timeout(p.request_timeout * 1000) });
    const fail = (what: string, e: unknown) =>
      new SluiceError(
        'S3_START_FAILED',
        `S3_START_FAILED: ${what} (bucket ${p.s3_bucket}, region ${this.region}${p.s3_endpoint ? `, endpoint ${p.s3_endpoint}` : ''}): ${(e as Error).name}: ${(e as Error).message}`,
      );
    if (p.check_apikey_on_start) {
      // the part of path before any placeholder, as a listing prefix
      const prefix = p.path.split(/\$\{|%/)[0] ?? '';
      try {
        await client.send(
          new sdk.ListObjectsV2Command({ Bucket: p.s3_bucket, Prefix: prefix, MaxKeys: 1 }),
          timeout(),
        );
      } catch (e) {
        // a missing bucket is check_bucket's business
        if ((e as Error).name !== 'NoSuchBucket')
          throw fail("can't call S3 API. Please check your credentials or s3_region configuration", e);
      }
    }
    if (p.check_bucket) {
      let exists = true;
      try {
        await client.send(new sdk.HeadBucketCommand({ Bucket: p.s3_bucket }), timeout());
      } catch (e) {
        if (httpStatus(e) !== 404 && (e as Error).name !== 'NotFound' && (e as Error).name !== 'NoSuchBucket')
          throw fail('HeadBucket failed', e);
        exists = false;
      }
      if (!exists) {
        if (!p.auto_create_bucket)
          throw new SluiceError(
            'S3_NO_BUCKET',
            `S3_NO_BUCKET: The specified bucket does not exist: bucket = ${p.s3_bucket}`,
          );
        this.ctx.logger.info({ output: this.ctx.id, bucket: p.s3_bucket }, 'creating the bucket');
        try {
          await client.send(
            new sdk.CreateBucketCommand({
              Bucket: p.s3_bucket,
              ...(this.region !== 'us-east-1'
                ? {
                    CreateBucketConfiguration: {
                      LocationConstraint: this.region as S3.BucketLocationConstraint,
                    },
                  }
                : {}),
            }),
            timeout(),
          );
        } catch (e) {
          // another worker or host made it meanwhile
          const name = (e as Error).name;
          if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
            throw fail('CreateBucket failed', e);
        }
      }
    }
  }

  /** The key format with the buffer's chunk keys, timekey and zone (from the buffer engine). */
  useBuffer(buffer: BufferConfig): void {
    const p = this.p;
    // %{time_slice}: the timekey in time_slice_format, or fluent-plugin-s3 v1's format for the timekey
    this.keyOf = compileKey({
      format: p.s3_object_key_format,
      path: p.path,
      extension: this.store.extension,
      timeSliceFormat: buffer.keys.time ? (p.time_slice_format ?? timekeyFormat(buffer.timekey)) : '',
      zone: buffer.zone,
      hexRandomLength: p.hex_random_length,
      where: this.keyFormatAt,
    });
  }

  /** The object key a chunk is uploaded under (the same on every attempt). */
  key(chunk: Chunk): string {
    return this.keyOf(chunk);
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    const p = this.p;
    const key = this.keyOf(chunk);
    const client = this.s3();
    if (this.shared && p.check_object) {
      const refused = await this.checkObject(client, key, chunk);
      if (refused) return refused;
    }
    const writer = new ObjectWriter(
      client,
      key,
      { ...this.object, Metadata: { [CHUNK_META]: chunk.id } },
      {
        threshold: p.multipart_threshold,
        partSize: p.multipart_chunk_size,
        timeoutMs: p.request_timeout * 1000,
      },
    );
    // gzip's output is fresh memory, handed over; formatted slices are copied (their memory is reused)
    const gzip = this.store.gzip ? new GzipPipe((b) => writer.write(b, true)) : undefined;
    let scratch = this.pool.take();
    try {
      for (const part of slices(chunk)) {
        let formatted: Buffer;
        try {
          formatted = this.format(part, scratch);
        } catch (e) {
          throw new BrokenChunk((e as Error).message);
        }
        // the next slice reuses the memory of this one (the larger, when it had to grow); only
        // the msgpack paths write into it (a formatter's Buffer.concat may be Node's shared pool)
        if (this.reuses && formatted.byteOffset === 0)
          scratch = Buffer.from(formatted.buffer, 0, formatted.buffer.byteLength);
        if (gzip) await gzip.write(formatted);
        else await writer.write(formatted);
      }
      if (gzip) await gzip.end();
      await writer.end();
    } catch (e) {
      gzip?.destroy();
      const aborted = await writer.abort();
      if (e instanceof BrokenChunk)
        return {
          status: 'fatal',
          error: new SluiceError('S3_BROKEN_CHUNK', `S3_BROKEN_CHUNK: chunk ${chunk.id}: ${e.message}`),
        };
      this.count('upload_failures');
      return {
        status: 'retry',
        error: new SluiceError(
          'S3_UPLOAD_FAILED',
          `S3_UPLOAD_FAILED: s3://${p.s3_bucket}/${key} (chunk ${chunk.id}, ${writer.bytes} bytes made): ${(e as Error).name}: ${(e as Error).message}${aborted ? ` (${aborted})` : ''}`,
        ),
      };
    } finally {
      // every slice has been copied or gzipped by now
      if (scratch) this.pool.give(scratch);
    }
    this.count('objects_uploaded');
    this.count('bytes_uploaded', writer.bytes);
    if (writer.parts > 0) this.count('multipart_uploads');
    this.ctx.logger.debug(
      { output: this.ctx.id, chunk: chunk.id, key, bytes: writer.bytes, parts: writer.parts || 1 },
      'chunk uploaded',
    );
    if (p.warn_for_delay !== undefined && chunk.keys.time !== undefined) {
      if (chunk.keys.time * 1000 < Date.now() - p.warn_for_delay * 1000)
        this.ctx.logger.warn(
          { code: 'S3_DELAYED_EVENTS', output: this.ctx.id, key },
          `out_s3: delayed events were put to s3://${p.s3_bucket}/${key}`,
        );
    }
    return { status: 'ok' };
  }

  /**
   * check_object for a key format without a per-chunk placeholder: a HEAD request; an object of
   * another chunk under the key refuses the write (unless overwrite). undefined: go on.
   */
  private async checkObject(
    client: S3.S3Client,
    key: string,
    chunk: Chunk,
  ): Promise<WriteResult | undefined> {
    const p = this.p;
    try {
      const head = await client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: p.s3_bucket, Key: key }), {
        abortSignal: AbortSignal.timeout(p.request_timeout * 1000),
      });
      const owner = head.Metadata?.[CHUNK_META];
      if (owner === chunk.id) return undefined;
      const what = `s3://${p.s3_bucket}/${key} already exists${owner ? ` (from chunk ${owner})` : ''}`;
      if (!p.overwrite)
        return {
          status: 'fatal',
          error: new SluiceError(
            'S3_OBJECT_EXISTS',
            `S3_OBJECT_EXISTS: ${what}; use %{index} in s3_object_key_format, or overwrite true (chunk ${chunk.id})`,
          ),
        };
      this.ctx.logger.warn({ code: 'S3_OVERWRITE', output: this.ctx.id, key }, `${what}, but will overwrite`);
      return undefined;
    } catch (e) {
      if (httpStatus(e) === 404 || (e as Error).name === 'NotFound') return undefined;
      this.count('upload_failures');
      return {
        status: 'retry',
        error: new SluiceError(
          'S3_UPLOAD_FAILED',
          `S3_UPLOAD_FAILED: HeadObject ${key}: ${(e as Error).name}: ${(e as Error).message}`,
        ),
      };
    }
  }

  async stop(): Promise<void> {
    this.pool.clear();
    this.client?.destroy();
    this.client = undefined;
  }
}

const schema = defineSchema({
  params: schemaParams,
  sections: {
    format: {
      plugin: 'formatter',
      description: 'How each event is written (default out_file: time, tag and JSON separated by tabs).',
    },
    inject: INJECT_SECTION,
    ...notBuilt.sections,
  },
});

const descriptor: PluginDescriptor<S3Output, typeof schema> = {
  kind: 'output',
  type: 's3',
  description:
    "Uploads each chunk as one object to Amazon S3 or an S3-compatible server (fluent-plugin-s3's parameters). Keys are made from the chunk: unique across threads, workers and hosts without HEAD requests, and the same when a chunk is uploaded again, so a retry or a replay after a crash overwrites instead of duplicating. Large objects go up in parts.",
  buffered: 'always',
  // fluent-plugin-s3's <buffer> defaults: chunk key time, timekey 1 day
  bufferDefaults: { chunkKeys: ['time'], timekey: 86400 },
  schema,
  create: (config, ctx) => new S3Output(config.params, ctx, config),
};

export default descriptor;
