// fluent-plugin-kafka's out_kafka2 (and its v0.12 names kafka_buffered and kafka): a chunk
// is written when the broker has acknowledged every message of it at required_acks. See
// docs/outputs/kafka.md.
import { hostname } from 'node:os';
import type { EventTime } from '@sluice/forward';
import { type ConfigElement, typeOf } from '../../../config/ast.ts';
import { defineSchema, type Resolved } from '../../../config/schema.ts';
import type { EventRecord } from '../../../core/batch.ts';
import { BufferPool } from '../../../core/buffer-pool.ts';
import { ConfigError, SluiceError } from '../../../core/errors.ts';
import type {
  Chunk,
  FormatterPlugin,
  OutputPlugin,
  PluginContext,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { createRecordAccessor } from '../../../core/record-accessor.ts';
import { type ConnectionParams, clientConnection } from '../../../shared/kafka/connection.ts';
import { INJECT_SECTION, withInject } from '../../../shared/parse/inject.ts';
import { compileStrftime } from '../../../time/time-format.ts';
import {
  type EncodeOptions,
  type KafkaMessage,
  MessageEncoder,
  partitionHash,
  type ValueFormat,
} from './encode.ts';
import { type Params, params } from './params.ts';
import { brokerErrorIds, describe, KafkaDelivery } from './producer.ts';
import { TransactionalDelivery } from './transactional.ts';

/** The names this plugin answers to that mean fluent-plugin-kafka's v0.12 outputs. */
const LEGACY = new Set(['kafka_buffered', 'kafka']);
/** Broker errors a retry cannot mend: the chunk goes to <secondary> or the backup. */
const FATAL = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

function counter(ctx: PluginContext, key: string, n = 1): void {
  ctx.metrics[key] = ((ctx.metrics[key] as number | undefined) ?? 0) + n;
}

export class Kafka2Output implements OutputPlugin {
  readonly delivery: KafkaDelivery;
  private readonly encoder: MessageEncoder;
  private readonly pool = new BufferPool(2);
  private readonly topicFromChunkKey: boolean;

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Kafka2Config,
    format: ValueFormat,
    legacy: boolean,
    chunkKeys: string[],
  ) {
    const where = config.element.location;
    if (p.zookeeper)
      throw new ConfigError(
        'KAFKA_ZOOKEEPER: zookeeper is not supported (Kafka 4 has none); set brokers',
        where,
      );
    const conn = clientConnection(
      {
        ...(p as unknown as ConnectionParams),
        client_id:
          legacy && !config.element.params.some((x) => x.key === 'client_id') ? 'kafka' : p.client_id,
      },
      where,
    );
    const explicitIdempotent = p.idempotent;
    if (explicitIdempotent === true && p.required_acks !== -1)
      throw new ConfigError('KAFKA_IDEMPOTENT_ACKS: idempotent true needs required_acks -1', where);
    const idempotent = explicitIdempotent ?? p.required_acks === -1;
    const exactlyOnce = p.exactly_once || p.transactional_id !== undefined;
    if (exactlyOnce && !idempotent)
      throw new ConfigError(
        'KAFKA_EXACTLY_ONCE: exactly_once (or transactional_id) needs the idempotent producer: required_acks -1, idempotent not false',
        where,
      );
    const available = ['gzip', 'snappy', 'lz4'];
    if (p.compression_codec === 'zstd')
      throw new ConfigError(
        'KAFKA_COMPRESSION: compression_codec zstd needs zlib zstd, which this Node does not have (22.15 or later); use gzip, snappy or lz4',
        where,
      );
    if (p.compression_codec && !available.includes(p.compression_codec))
      throw new ConfigError(
        `KAFKA_COMPRESSION: compression_codec ${p.compression_codec} is not supported`,
        where,
      );
    let ackTimeout = p.ack_timeout;
    if (legacy && p.ack_timeout_ms !== undefined) ackTimeout = p.ack_timeout_ms / 1000;
    this.topicFromChunkKey = chunkKeys.includes(p.topic_key);
    if (p.default_topic === undefined && !p.topic && this.topicFromChunkKey && !chunkKeys.includes('tag'))
      ctx.logger.warn(
        { code: 'KAFKA_NO_DEFAULT_TOPIC' },
        "Use 'topic' field of event record for topic but no fallback. Recommend to set default_topic or set 'tag' in buffer chunk keys like <buffer topic,tag>",
      );

    const headers = new Map<Buffer, Buffer>();
    for (const [k, v] of Object.entries(p.headers)) headers.set(Buffer.from(k), Buffer.from(v));
    const opts: EncodeOptions = {
      format,
      topicKey: p.topic_key,
      perRecordTopic: !p.topic && !this.topicFromChunkKey && legacy,
      excludeTopicKey: p.exclude_topic_key,
      partitionKeyKey: p.partition_key_key,
      defaultPartitionKey: p.default_partition_key,
      excludePartitionKey: p.exclude_partition_key,
      partitionKey: p.partition_key,
      defaultPartition: p.default_partition,
      excludePartition: p.exclude_partition,
      messageKeyKey: p.message_key_key,
      defaultMessageKey: p.default_message_key,
      excludeMessageKey: p.exclude_message_key,
      headers,
      headersFromRecord: Object.entries(p.headers_from_record).map(([k, v]) => [
        Buffer.from(k),
        createRecordAccessor(v, where),
      ]),
      excludeFields: p.exclude_fields.map((f) => createRecordAccessor(f, where)),
      recordKey: p.record_key ? createRecordAccessor(p.record_key, where) : undefined,
      useEventTime: p.use_event_time,
      maxSendLimitBytes: p.max_send_limit_bytes,
      includeTag: legacy && p.output_include_tag,
      includeTime:
        legacy && p.output_include_time
          ? p.time_format
            ? (
                (f) => (t: EventTime) =>
                  f(t)
              )(compileStrftime(p.time_format))
            : (t: EventTime) => t.sec
          : undefined,
    };
    const injectSection = config.sections.inject;
    if (injectSection) {
      // withInject adds the fields to a copy and hands it to a formatter: this one keeps it
      let injected: EventRecord = {};
      const capture = withInject(
        {
          format: (_tag, _time, r) => {
            injected = r;
            return '';
          },
        },
        injectSection,
        ctx,
      );
      opts.inject = (tag, time, record) => {
        capture.format(tag, time, record);
        return injected === record ? { ...record } : injected;
      };
    }
    this.encoder = new MessageEncoder(opts);
    const ackMs = ackTimeout !== undefined ? Math.round(ackTimeout * 1000) : undefined;
    // the socket waits for an answer a little longer than the broker waits for its acks
    const requestMs = conn.requestTimeout ?? (ackMs !== undefined ? ackMs + 5_000 : 30_000);
    const perAttempt = requestMs + (conn.connectTimeout ?? 5_000);
    const deliveryOptions = {
      sendTimeoutMs: perAttempt * (p.max_send_retries + 1) + 250 * p.max_send_retries,
      idempotent,
      maxBatchBytes:
        legacy && p.kafka_agg_max_bytes !== undefined
          ? Math.max(p.kafka_agg_max_bytes, 1)
          : p.max_batch_bytes,
      maxBatchMessages: legacy ? p.kafka_agg_max_messages : undefined,
      partitionHash: partitionHash(p.partitioner_hash_function),
      producer: {
        ...conn,
        requestTimeout: requestMs,
        acks: p.required_acks,
        compression: p.compression_codec as 'gzip' | 'snappy' | 'lz4' | undefined,
        retries: p.max_send_retries,
        retryDelay: 250,
        timeout: ackMs,
      },
    };
    let transactionalId = p.transactional_id ?? `sluice-${hostname()}-${ctx.id}`;
    if (ctx.workers > 1) transactionalId += `-${ctx.workerId}`;
    this.delivery = exactlyOnce
      ? new TransactionalDelivery({ ...deliveryOptions, transactionalId })
      : new KafkaDelivery(deliveryOptions);
    if (legacy)
      ctx.logger.warn(
        { code: 'KAFKA_LEGACY_TYPE' },
        'Support of fluentd v0.12 has ended. Use kafka2 instead. kafka_buffered will be an alias of kafka2',
      );
  }

  /** out_kafka2.rb: topic (placeholders), else the topic chunk key, else default_topic, else the tag. */
  topicOf(chunk: Chunk): string {
    if (this.p.topic) return chunk.expand(this.p.topic);
    const v = this.topicFromChunkKey ? chunk.keys.vars[this.p.topic_key] : undefined;
    if (v) return v;
    return this.p.default_topic ?? chunk.keys.tag ?? '';
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    const topic = this.topicOf(chunk);
    const tag = chunk.keys.tag ?? '';
    const scratch = this.pool.take(chunk.bytes.length);
    const enc = this.encoder.encode(chunk, topic, scratch);
    try {
      for (const r of enc.rejected) this.reject(tag, r.time, r.record, r.error, r.code);
      if (enc.messages.length === 0) return { status: 'ok' };
      const res = await this.delivery.deliver(chunk.id, enc.messages, enc.sizes);
      if (res.replayed) {
        this.ctx.logger.info(
          { chunk: chunk.id, tag },
          'chunk was committed to Kafka before the last stop (its id is in the transactional record); not sent again',
        );
        return { status: 'ok' };
      }
      if (res.tooLarge.length > 0) this.rejectTooLarge(chunk, res.tooLarge);
      if (!res.error) {
        counter(this.ctx, 'kafkaMessages', enc.messages.length - res.tooLarge.length);
        return { status: 'ok' };
      }
      const ids = brokerErrorIds(res.error);
      const error = new SluiceError(
        'KAFKA_SEND_FAILED',
        `KAFKA_SEND_FAILED: sending to topic '${topic}' failed: ${describe(res.error)}`,
      );
      counter(this.ctx, 'kafkaSendErrors');
      if (this.p.discard_kafka_delivery_failed) {
        this.delivery.forget(chunk.id);
        this.ctx.logger.warn(
          { code: 'KAFKA_SEND_FAILED', chunk: chunk.id, tag },
          `DeliveryFailed occurred. Discard broken event: ${error.message}`,
        );
        return { status: 'ok' };
      }
      if (ids.some((x) => FATAL.has(x))) {
        this.delivery.forget(chunk.id);
        return { status: 'fatal', error };
      }
      return { status: 'retry', error };
    } finally {
      // the values were views of this memory; the client has copied them into its requests
      if (enc.out.length >= 64 * 1024) this.pool.give(enc.out);
    }
  }

  private reject(tag: string, time: EventTime, record: EventRecord, error: Error, code: string): void {
    counter(this.ctx, code === 'KAFKA_RECORD_TOO_LARGE' ? 'kafkaRecordsTooLarge' : 'kafkaFormatErrors');
    this.ctx.logger.warn({ code, tag }, error.message);
    this.ctx.emitError(tag, time, record, error);
  }

  private rejectTooLarge(chunk: Chunk, messages: KafkaMessage[]): void {
    const entries = chunk.entries();
    for (const m of messages) {
      const e = entries[m.metadata.index];
      if (!e) continue;
      this.reject(
        chunk.keys.tag ?? '',
        e.time,
        e.record,
        new SluiceError(
          'KAFKA_RECORD_TOO_LARGE',
          `the broker refused a message of ${m.value?.length ?? 0} bytes as too large (MESSAGE_TOO_LARGE); not sent`,
        ),
        'KAFKA_RECORD_TOO_LARGE',
      );
    }
  }

  async start(): Promise<void> {
    // fences an earlier process's transaction at once rather than at the first chunk; a
    // failure here is met again (and reported) by write()
    if (this.delivery instanceof TransactionalDelivery)
      this.delivery.start().catch((e) => {
        this.ctx.logger.warn(
          { code: 'KAFKA_SEND_FAILED' },
          `exactly_once: taking the transactional id failed (retried with the first chunk): ${describe(e)}`,
        );
      });
  }

  async stop(): Promise<void> {
    this.pool.clear();
    await this.delivery.close();
  }
}

/** `<format>` (kafka2), or output_data_type (kafka_buffered, kafka), as a value format. */
async function valueFormat(
  config: Kafka2Config,
  ctx: PluginContext,
  p: Params,
  legacy: boolean,
): Promise<ValueFormat> {
  const section = config.sections.format;
  const where = config.element.location;
  let element: ConfigElement | undefined = section?.element;
  let type = element ? (typeOf(element) ?? 'json') : 'json';
  if (!element && legacy && p.output_data_type) {
    const t = p.output_data_type;
    const attr = /^attr:(.*)$/.exec(t);
    if (attr) {
      const fields = attr[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (p.output_include_time) fields.unshift('time');
      if (p.output_include_tag) fields.unshift('tag');
      const fs = p.field_separator ?? '';
      const separator = /SPACE/i.test(fs) ? ' ' : /COMMA/i.test(fs) ? ',' : /SOH/i.test(fs) ? '\x01' : '\t';
      return { kind: 'attr', fields, separator };
    }
    type = t;
    element = {
      name: 'format',
      arg: '',
      params: [{ key: '@type', value: t, location: where }],
      elements: [],
      location: where,
    };
  }
  const plain = !element || element.params.filter((x) => x.key !== '@type' && x.key !== 'type').length === 0;
  if (type === 'json' && plain) return { kind: 'json' };
  if (type === 'msgpack' && plain) return { kind: 'msgpack' };
  if (!element) return { kind: 'json' };
  // The engine has loaded every formatter before plugins are built; a type it does not
  // know (from output_data_type) fails here.
  let formatter: FormatterPlugin;
  try {
    formatter = ctx.createNested<FormatterPlugin>('formatter', element, 'json');
  } catch (e) {
    throw new ConfigError(`KAFKA_FORMAT: ${(e as Error).message}`, element.location);
  }
  return type === 'ltsv' ? { kind: 'ltsv', formatter } : { kind: 'formatter', formatter };
}

function chunkKeysOf(config: Resolved): string[] {
  const buffer = config.element.elements.find((e) => e.name === 'buffer');
  const arg = buffer?.arg.trim() ?? '';
  if (!arg) return ['topic'];
  return arg
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const schema = defineSchema({
  params,
  sections: {
    format: {
      description:
        'How each record becomes a message value: json (default), msgpack, ltsv, single_value, any formatter.',
      plugin: 'formatter',
    },
    inject: INJECT_SECTION,
  },
});

type Kafka2Config = Resolved<typeof schema>;

const descriptor: PluginDescriptor<Kafka2Output, typeof schema> = {
  kind: 'output',
  type: 'kafka2',
  description:
    "Sends chunks to Kafka as fluent-plugin-kafka's out_kafka2 does (also under its v0.12 names kafka_buffered and kafka): a chunk counts as written once the broker acknowledged every message at required_acks, through an idempotent producer; a message too large is routed to <label @ERROR> and the rest delivered.",
  buffered: 'always',
  bufferDefaults: { chunkKeys: ['topic'] },
  schema,
  create: async (config, ctx) => {
    const p = config.params;
    const legacy = LEGACY.has(typeOf(config.element) ?? '');
    const format = await valueFormat(config, ctx, p, legacy);
    return new Kafka2Output(p, ctx, config, format, legacy, chunkKeysOf(config));
  },
};

export default descriptor;
