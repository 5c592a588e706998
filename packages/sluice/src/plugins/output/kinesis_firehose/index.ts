// out_kinesis_firehose: fluent-plugin-kinesis's parameters, PutRecordBatch calls within
// Firehose's limits, and an outcome per record: a record Firehose reports failed is sent again
// alone, one it can never take goes to <label @ERROR>, and a chunk written again after a failed
// write sends only what was not delivered. docs/outputs/kinesis_firehose.md says how.
import type * as Firehose from '@aws-sdk/client-firehose';
import type { ConfigElement } from '../../../config/ast.ts';
import { defineSchema, defineSection, type Resolved } from '../../../config/schema.ts';
import { BufferPool } from '../../../core/buffer-pool.ts';
import { ConfigError, SluiceError } from '../../../core/errors.ts';
import { lazyRequire } from '../../../core/lazy-require.ts';
import type {
  Chunk,
  FormatterPlugin,
  OutputPlugin,
  PluginContext,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { INJECT_SECTION, withInject } from '../../../shared/parse/inject.ts';
import { BATCH_LIMIT_SIZE, FIREHOSE_MAX_RECORD_SIZE, notBuilt, type Params, schemaParams } from './params.ts';
import {
  Backoff,
  Batcher,
  createEncoder,
  type Encoder,
  jsonLines,
  type PendingRecord,
  RecordError,
  withinLimit,
} from './records.ts';

const firehoseSdk = lazyRequire<typeof Firehose>('@aws-sdk/client-firehose');

/**
 * Chunks partly delivered, remembered at most (the oldest is forgotten first: a chunk the
 * buffer gave up on is never written again). A forgotten chunk is sent whole if it comes back.
 */
const MAX_PARTIAL = 1_000;

/** A write that stops before the end of its chunk. */
interface Stop {
  error: Error;
}

const METRICS = [
  'records_sent',
  'records_retried',
  'records_too_large',
  'records_invalid',
  'records_given_up',
  'batch_requests',
  'batch_request_retries',
  'batch_request_failures',
] as const;

export class KinesisFirehoseOutput implements OutputPlugin {
  private client: Firehose.FirehoseClient | undefined;
  private readonly encode: Encoder;
  /** chunk id -> 1 for each entry settled (delivered, or routed to @ERROR) */
  private readonly partial = new Map<string, Uint8Array>();
  private readonly maxRecordSize: number;
  /** the default json format: lines written from the chunk's msgpack (records.ts jsonLines) */
  private readonly plainJson: boolean;
  /** with plainJson: the line's newline is part of the data */
  private readonly keepNewline: boolean;
  /** memory of the JSON lines of finished writes, reused (two: flush_thread_count writes take turns) */
  private readonly pool = new BufferPool(2);

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Resolved<typeof schema>,
  ) {
    notBuilt.refuse(config);
    const el = config.element;
    const at = (key: string) => el.params.find((x) => x.key === key)?.location ?? el.location;
    if ((p.aws_key_id == null) !== (p.aws_sec_key == null))
      throw new ConfigError(
        'FIREHOSE_CREDENTIALS: aws_key_id and aws_sec_key go together (set both, or neither for the default credential chain)',
        at(p.aws_key_id == null ? 'aws_sec_key' : 'aws_key_id'),
      );
    if (p.aws_ses_token != null && p.aws_key_id == null)
      throw new ConfigError(
        'FIREHOSE_CREDENTIALS: aws_ses_token goes with aws_key_id and aws_sec_key',
        at('aws_ses_token'),
      );
    if (p.batch_request_max_size > BATCH_LIMIT_SIZE)
      throw new ConfigError(
        `FIREHOSE_BATCH_LIMIT: batch_request_max_size can't be greater than ${BATCH_LIMIT_SIZE}`,
        at('batch_request_max_size'),
      );
    // a record must fit in a request of its own, and in Firehose's limit
    this.maxRecordSize = Math.min(p.max_record_size, FIREHOSE_MAX_RECORD_SIZE, p.batch_request_max_size);

    const formatEl = el.elements.find((e) => e.name === 'format');
    const formatter = ctx.createNested<FormatterPlugin>(
      'formatter',
      formatEl ??
        ({ name: 'format', arg: '', params: [], elements: [], location: el.location } as ConfigElement),
      'json',
    );
    const inject = config.sections.inject;
    const formatType =
      formatEl?.params.findLast((x) => x.key === '@type' || x.key === 'type')?.value ?? 'json';
    this.plainJson =
      formatType === 'json' &&
      (formatEl?.params.length ?? 0) <= 1 &&
      (formatEl?.elements.length ?? 0) === 0 &&
      !inject &&
      p.data_key === undefined &&
      p.compression === undefined;
    this.keepNewline = p.append_new_line || !p.chomp_record;
    this.encode = createEncoder({
      formatter: withInject(formatter, inject, ctx),
      dataKey: p.data_key,
      chompRecord: p.chomp_record,
      appendNewLine: p.append_new_line,
      compression: p.compression,
      maxRecordSize: this.maxRecordSize,
    });
    for (const k of METRICS) ctx.metrics[k] = 0;
  }

  private count(key: (typeof METRICS)[number], n = 1): void {
    this.ctx.metrics[key] = ((this.ctx.metrics[key] as number | undefined) ?? 0) + n;
  }

  private truncate(s: string): string {
    const max = this.p.log_truncate_max_size;
    return max === 0 || s.length <= max ? s : s.slice(0, max);
  }

  /** The client, made on first use (the SDK is loaded then). */
  private firehose(): Firehose.FirehoseClient {
    if (this.client) return this.client;
    const p = this.p;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new (firehoseSdk().FirehoseClient)({
      ...(p.region ? { region: p.region } : {}),
      ...(p.endpoint ? { endpoint: p.endpoint } : {}),
      ...(p.aws_key_id && p.aws_sec_key
        ? {
            credentials: {
              accessKeyId: p.aws_key_id,
              secretAccessKey: p.aws_sec_key,
              ...(p.aws_ses_token ? { sessionToken: p.aws_ses_token } : {}),
            },
          }
        : {}),
      customUserAgent: 'sluice-kinesis_firehose',
      // a whole request that failed is the buffer's to retry (retry_wait, backoff, retry_timeout):
      // one schedule, and the chunk's progress kept
      maxAttempts: 1,
    });
    return this.client;
  }

  async start(): Promise<void> {
    const client = this.firehose();
    try {
      await client.config.region();
    } catch (e) {
      throw new SluiceError(
        'FIREHOSE_NO_REGION',
        `FIREHOSE_NO_REGION: no AWS region: set region, or AWS_REGION, or a region in the profile of ~/.aws/config (${(e as Error).message})`,
      );
    }
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    const stream = chunk.expand(this.p.delivery_stream_name);
    const tag = chunk.keys.tag ?? '';
    const lines = this.plainJson ? jsonLines(chunk.bytes, chunk.count, this.pool.take()) : undefined;
    try {
      const count = lines ? chunk.count : chunk.entries().length;
      const done = this.partial.get(chunk.id) ?? new Uint8Array(count);
      const batcher = new Batcher(this.p.batch_request_max_count, this.p.batch_request_max_size);
      let stop: Stop | undefined;
      for (let i = 0; i < count && !stop; i++) {
        if (done[i]) continue;
        let data: Buffer;
        try {
          data = lines ? this.line(lines, i) : this.encodeEntry(chunk, tag, i);
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          this.reject(tag, i, chunk, err);
          done[i] = 1;
          continue;
        }
        const full = batcher.add({ index: i, data });
        if (full) stop = await this.sendBatch(stream, full, chunk, done);
      }
      if (!stop) {
        const last = batcher.rest();
        if (last.length > 0) stop = await this.sendBatch(stream, last, chunk, done);
      }
      if (stop) {
        // nothing settled yet: nothing to remember
        if (done.includes(1)) this.remember(chunk.id, done);
        return { status: 'retry', error: stop.error };
      }
      this.partial.delete(chunk.id);
      return { status: 'ok' };
    } finally {
      // the SDK has serialized every request made from these views by now
      if (lines) this.pool.give(lines.buf);
    }
  }

  private encodeEntry(chunk: Chunk, tag: string, i: number): Buffer {
    const e = chunk.entries()[i]!;
    return this.encode(tag, e.time, e.record);
  }

  /** Entry i's data on the plain json path: its line, with or without the newline. */
  private line(lines: { buf: Buffer; ends: Uint32Array }, i: number): Buffer {
    const start = i === 0 ? 0 : lines.ends[i - 1]!;
    const end = this.keepNewline ? lines.ends[i]! : lines.ends[i]! - 1;
    return withinLimit(lines.buf.subarray(start, end), this.maxRecordSize);
  }

  /**
   * One batch, with fluent-plugin-kinesis's batch_request_with_retry: the failed records of an
   * answer are sent again after a backoff, up to retries_on_batch_request times.
   */
  private async sendBatch(
    stream: string,
    batch: PendingRecord[],
    chunk: Chunk,
    done: Uint8Array,
  ): Promise<Stop | undefined> {
    const p = this.p;
    const sdk = firehoseSdk();
    const backoff = new Backoff();
    let list = batch;
    for (let retry = 0; ; retry++) {
      let res: Firehose.PutRecordBatchCommandOutput;
      this.count('batch_requests');
      try {
        res = await this.firehose().send(
          new sdk.PutRecordBatchCommand({
            DeliveryStreamName: stream,
            Records: list.map((r) => ({ Data: r.data })),
          }),
          { abortSignal: AbortSignal.timeout(p.request_timeout * 1000) },
        );
      } catch (e) {
        this.count('batch_request_failures');
        const err = e as Error;
        return {
          error: new SluiceError(
            'FIREHOSE_REQUEST_FAILED',
            `FIREHOSE_REQUEST_FAILED: PutRecordBatch to '${stream}' (chunk ${chunk.id}, ${list.length} records) failed: ${err.name}: ${err.message}`,
          ),
        };
      }
      const answers = res.RequestResponses ?? [];
      const failed: (PendingRecord & { code: string; message: string })[] = [];
      for (const [i, r] of list.entries()) {
        const a = answers[i];
        // no answer for a record: not known to be delivered, so it is sent again
        if (!a || a.ErrorCode || !a.RecordId)
          failed.push({
            ...r,
            code: a?.ErrorCode ?? 'NoAnswer',
            message: a?.ErrorMessage ?? 'no answer for this record',
          });
        else done[r.index] = 1;
      }
      const sent = list.length - failed.length;
      this.count('records_sent', sent);
      this.log(stream, chunk, list.length, failed.length);
      if (failed.length === 0) return undefined;
      const first = failed.find((f) => f.code === 'ServiceUnavailableException') ?? failed[0]!;
      if (retry >= p.retries_on_batch_request) return this.giveUp(stream, chunk, done, failed, first, retry);
      if (p.reset_backoff_if_success && sent > 0) backoff.reset();
      const wait = backoff.next();
      this.ctx.logger.warn(
        {
          output: this.ctx.id,
          code: 'FIREHOSE_RECORDS_FAILED',
          chunk: chunk.id,
          errorCode: first.code,
        },
        this.truncate(
          `Retrying to request batch. Retry count: ${retry + 1}, Retry records: ${failed.length}, Wait seconds ${wait.toFixed(2)}: ${first.code}: ${first.message}`,
        ),
      );
      this.count('batch_request_retries');
      this.count('records_retried', failed.length);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      list = failed;
    }
  }

  /** Records still failed after the retries: @ERROR (drop_failed_records_...), else the chunk is retried. */
  private giveUp(
    stream: string,
    chunk: Chunk,
    done: Uint8Array,
    failed: (PendingRecord & { code: string; message: string })[],
    first: { code: string; message: string },
    retries: number,
  ): Stop | undefined {
    const what = `${failed.length} records put to '${stream}' still failed after ${retries} retries (${first.code}: ${first.message})`;
    if (!this.p.drop_failed_records_after_batch_request_retries)
      return {
        error: new SluiceError(
          'FIREHOSE_RECORDS_FAILED',
          `FIREHOSE_RECORDS_FAILED: ${what}; the chunk ${chunk.id} is retried with its unsent records`,
        ),
      };
    const tag = chunk.keys.tag ?? '';
    const entries = chunk.entries();
    for (const f of failed) {
      const e = entries[f.index]!;
      this.count('records_given_up');
      this.ctx.emitError(
        tag,
        e.time,
        e.record,
        new SluiceError(
          'FIREHOSE_RECORD_FAILED',
          `FIREHOSE_RECORD_FAILED: ${f.code}: ${f.message} (after ${retries} retries)`,
        ),
      );
      done[f.index] = 1;
    }
    this.ctx.logger.error(
      { output: this.ctx.id, code: 'FIREHOSE_RECORD_FAILED', chunk: chunk.id },
      `${what}; routed to @ERROR (drop_failed_records_after_batch_request_retries)`,
    );
    return undefined;
  }

  private log(stream: string, chunk: Chunk, records: number, failed: number): void {
    const fields = { output: this.ctx.id, stream, chunk: chunk.id, records, failed };
    if (this.p.debug) this.ctx.logger.info(fields, 'PutRecordBatch');
    else this.ctx.logger.debug(fields, 'PutRecordBatch');
  }

  /** A record Firehose can never take: @ERROR with the reason, not sent, not retried. */
  private reject(tag: string, index: number, chunk: Chunk, err: RecordError): void {
    const e = chunk.entries()[index]!;
    this.count(err.code === 'FIREHOSE_RECORD_TOO_LARGE' ? 'records_too_large' : 'records_invalid');
    this.ctx.logger.warn(
      { output: this.ctx.id, code: err.code, chunk: chunk.id, tag },
      this.truncate(`${err.message}; routed to @ERROR`),
    );
    this.ctx.emitError(tag, e.time, e.record, err);
  }

  private remember(id: string, done: Uint8Array): void {
    this.partial.delete(id);
    this.partial.set(id, done);
    if (this.partial.size > MAX_PARTIAL) this.partial.delete(this.partial.keys().next().value!);
  }

  async stop(): Promise<void> {
    this.pool.clear();
    this.client?.destroy();
    this.client = undefined;
  }
}

/** fluent-plugin-kinesis's <inject> defaults: the time as a string with nanoseconds and zone. */
const injectSection = defineSection({
  ...INJECT_SECTION,
  params: {
    ...INJECT_SECTION.params,
    time_type: { ...INJECT_SECTION.params.time_type, default: 'string' },
    time_format: { ...INJECT_SECTION.params.time_format, default: '%Y-%m-%dT%H:%M:%S.%N%z' },
  },
});

const schema = defineSchema({
  params: schemaParams,
  sections: {
    format: {
      plugin: 'formatter',
      description: "How each event becomes a record's data (default json).",
    },
    inject: injectSection,
    ...notBuilt.sections,
  },
});

const descriptor: PluginDescriptor<KinesisFirehoseOutput, typeof schema> = {
  kind: 'output',
  type: 'kinesis_firehose',
  description:
    "Puts each event as one record to an Amazon Kinesis Data Firehose delivery stream with PutRecordBatch (fluent-plugin-kinesis's parameters). Only the records an answer reports failed are sent again; a record over Firehose's 1,000 KiB limit goes to <label @ERROR>; a chunk written again sends only its undelivered records.",
  buffered: 'always',
  // events are formatted when the chunk is written, so the tag must be a chunk key for
  // formats and <inject> that use it, and for the records routed to @ERROR
  bufferDefaults: { chunkKeys: ['tag'] },
  schema,
  create: (config, ctx) => new KinesisFirehoseOutput(config.params, ctx, config),
};

export default descriptor;
