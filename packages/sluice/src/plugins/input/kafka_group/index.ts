// fluent-plugin-kafka's in_kafka_group: consumes topics as a member of a consumer group and
// emits each fetched batch. An offset is committed only after the emit of the events it
// belongs to resolved (every output accepted them), so a crash or a lost partition replays
// instead of losing; while an emit waits (overflow_action block), nothing more is read, and
// the client stops fetching once its stream buffer is full. See docs/outputs/kafka.md.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Admin,
  Consumer,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka';
import { decode, EventTime } from '@sluice/forward';
import type { ConfigElement } from '../../../config/ast.ts';
import { defineParams, defineSchema, type ParamsOf, type Resolved } from '../../../config/schema.ts';
import { EventBatch, type EventRecord } from '../../../core/batch.ts';
import { ConfigError, SluiceError } from '../../../core/errors.ts';
import type { InputPlugin, ParserPlugin, PluginContext, PluginDescriptor } from '../../../core/plugin.ts';
import {
  type ConnectionParams,
  clientConnection,
  connectionParams,
  defined,
} from '../../../shared/kafka/connection.ts';
import { installReadCommittedFix } from '../../../shared/kafka/read-committed.ts';
import { createTimeParser, parseFloatTime } from '../../../shared/parse/time-parser.ts';

const params = defineParams({
  ...connectionParams,
  client_id: { type: 'string', description: 'The client id sent to the brokers.', default: 'kafka' },
  consumer_group: { type: 'string', required: true, description: 'The consumer group this input joins.' },
  topics: {
    type: 'string',
    required: true,
    description:
      'Topics to consume, separated by commas; /regex/ subscribes to every topic matching it (listed at start).',
  },
  format: {
    type: 'string',
    description:
      'How a message value is read: json, ltsv, msgpack, text (the value in message_key), or a parser type. A <parse> section takes precedence.',
    default: 'json',
  },
  message_key: {
    type: 'string',
    description: 'format text: the field the value goes into.',
    default: 'message',
  },
  add_headers: { type: 'bool', description: "Add the message's headers as record fields.", default: false },
  add_prefix: { type: 'string', description: 'Prefix of the tag (prefix.topic).', default: null },
  add_suffix: { type: 'string', description: 'Suffix of the tag (topic.suffix).', default: null },
  retry_emit_limit: {
    type: 'integer',
    description:
      'How many times (one a second) an emit the buffer refused is tried again before the batch is fetched anew from the last committed offset; default: until it is accepted.',
    default: null,
  },
  use_record_time: { type: 'bool', description: 'Same as time_source record.', default: false },
  time_source: {
    type: 'enum',
    values: ['now', 'kafka', 'record'],
    description: "The event time: now, the message's timestamp (kafka), or record_time_key of the record.",
    default: 'now',
  },
  record_time_key: {
    type: 'string',
    description: 'time_source record: the field holding the time.',
    default: 'time',
  },
  time_format: {
    type: 'string',
    description: 'time_source record: strptime format of the time field (default: a number of seconds).',
    default: null,
  },
  tag_source: {
    type: 'enum',
    values: ['topic', 'record'],
    description: 'The tag: the topic, or record_tag_key of the record.',
    default: 'topic',
  },
  record_tag_key: {
    type: 'string',
    description: 'tag_source record: the field holding the tag.',
    default: 'tag',
  },
  kafka_message_key: {
    type: 'string',
    description: "Add the message's key to the record under this field.",
    default: null,
  },
  retry_wait_seconds: {
    type: 'integer',
    description: 'Seconds before the consumer is built again after an error.',
    default: 30,
  },
  disable_retry_limit: {
    type: 'bool',
    description: 'Rebuild the consumer after errors without limit.',
    default: false,
  },
  retry_limit: {
    type: 'integer',
    description:
      'How many times in a row the consumer is rebuilt after errors before the input gives up (logged).',
    default: 10,
  },
  max_bytes: {
    type: 'integer',
    description: 'The most bytes fetched per partition in one fetch.',
    default: 1_048_576,
  },
  max_wait_time: {
    type: 'integer',
    description: 'Seconds the broker may wait for min_bytes before answering a fetch (default 5).',
    default: null,
  },
  max_wait_ms: {
    type: 'integer',
    description: 'max_wait_time in milliseconds (deprecated there).',
    default: null,
  },
  min_bytes: { type: 'integer', description: 'Bytes a fetch waits for (default 1).', default: null },
  session_timeout: {
    type: 'integer',
    description: 'Seconds of silence after which the group drops a member (default 30).',
    default: null,
  },
  fetcher_max_queue_size: {
    type: 'integer',
    description:
      'Messages fetched ahead of the emits at most (the stream buffer; fetching stops when it is full). Default 8192.',
    default: null,
  },
  start_from_beginning: {
    type: 'bool',
    description: 'A group without a committed offset starts at the earliest message (else the latest).',
    default: true,
  },
  offset_commit_interval: {
    type: 'integer',
    description: 'Accepted for compatibility: offsets are committed after each accepted batch.',
    default: null,
    deprecated: 'not acted on',
  },
  offset_commit_threshold: {
    type: 'integer',
    description: 'Accepted for compatibility: offsets are committed after each accepted batch.',
    default: null,
    deprecated: 'not acted on',
  },
  refresh_topic_interval: {
    type: 'integer',
    description: 'Accepted for compatibility: a /regex/ is matched against the topics listed at start.',
    default: null,
    deprecated: 'not acted on',
  },
  get_kafka_client_log: {
    type: 'bool',
    description: 'Accepted for compatibility.',
    default: false,
    deprecated: 'not acted on',
  },
});
type Params = ParamsOf<typeof params>;

type Msg = Message<Buffer, Buffer, Buffer, Buffer>;
type ValueReader = (value: Buffer) => EventRecord;

/** The most messages read from the stream into one emit round. */
const ROUND = 2000;

function isObject(v: unknown): v is EventRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

const schema = defineSchema({
  params,
  sections: {
    parse: { description: 'How a message value is parsed (instead of format).', plugin: 'parser' },
  },
});

type KafkaGroupConfig = Resolved<typeof schema>;

function readerFor(p: Params, config: KafkaGroupConfig, ctx: PluginContext): ValueReader {
  const parse = config.sections.parse;
  if (parse) {
    const parser = ctx.createNested<ParserPlugin>('parser', parse.element);
    return (v) => {
      const r = parser.parse(v.toString());
      if (!r) throw new SluiceError('KAFKA_PARSE_ERROR', 'pattern not matched');
      return r.record;
    };
  }
  switch (p.format) {
    case 'json':
      return (v) => {
        const r = JSON.parse(v.toString()) as unknown;
        if (!isObject(r)) throw new SluiceError('KAFKA_PARSE_ERROR', 'not a JSON object');
        return r;
      };
    case 'msgpack':
      return (v) => {
        const r = decode(v) as unknown;
        if (!isObject(r)) throw new SluiceError('KAFKA_PARSE_ERROR', 'not a msgpack map');
        return r;
      };
    case 'ltsv':
      return (v) => {
        const r: EventRecord = {};
        for (const field of v
          .toString()
          .replace(/\r?\n$/, '')
          .split('\t')) {
          const i = field.indexOf(':');
          if (i > 0) r[field.slice(0, i)] = field.slice(i + 1);
        }
        return r;
      };
    case 'text':
      return (v) => ({ [p.message_key]: v.toString() });
    default: {
      const el: ConfigElement = {
        name: 'parse',
        arg: '',
        params: [{ key: '@type', value: p.format, location: config.element.location }],
        elements: [],
        location: config.element.location,
      };
      let parser: ParserPlugin;
      try {
        parser = ctx.createNested<ParserPlugin>('parser', el);
      } catch (e) {
        throw new ConfigError(
          `KAFKA_FORMAT: format ${p.format}: ${(e as Error).message}; use json, ltsv, msgpack, text or a <parse> section`,
          config.element.location,
        );
      }
      return (v) => {
        const r = parser.parse(v.toString());
        if (!r) throw new SluiceError('KAFKA_PARSE_ERROR', 'pattern not matched');
        return r.record;
      };
    }
  }
}

export class KafkaGroupInput implements InputPlugin {
  private stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
  private stopping = false;
  private draining?: Promise<void>;
  private loop?: Promise<void>;
  private readonly read: ValueReader;
  private readonly recordTime?: (v: unknown) => EventTime | undefined;
  private readonly conn: ReturnType<typeof clientConnection>;
  private wake?: () => void;

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: KafkaGroupConfig,
  ) {
    this.conn = clientConnection(p as unknown as ConnectionParams, config.element.location);
    if (p.topics.split(',').every((t) => t.trim() === ''))
      throw new ConfigError(`kafka_group: '${p.topics}' is a required parameter`, config.element.location);
    this.read = readerFor(p, config, ctx);
    if (p.time_source === 'record' || p.use_record_time) {
      // with time_format a string parsed by it, else a number of seconds (float kept)
      const str = p.time_format ? createTimeParser({ type: 'string', format: p.time_format }) : undefined;
      this.recordTime = (v) => (str ? str(typeof v === 'string' ? v : String(v)) : parseFloatTime(v));
    }
  }

  private async topicList(): Promise<string[]> {
    const names = this.p.topics
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const regexes = names.filter((t) => t.length > 2 && t.startsWith('/') && t.endsWith('/'));
    const plain = names.filter((t) => !regexes.includes(t));
    if (regexes.length === 0) return plain;
    const admin = new Admin({ ...this.conn, clientId: `${this.conn.clientId}-admin` });
    try {
      const all = await admin.listTopics();
      const res = regexes.map((r) => new RegExp(r.slice(1, -1)));
      const matched = all.filter((t) => !t.startsWith('__') && res.some((re) => re.test(t)));
      this.ctx.logger.info({ topics: matched }, `Subscribe to topics matching ${regexes.join(', ')}`);
      return [...new Set([...plain, ...matched])];
    } finally {
      await admin.close();
    }
  }

  async start(): Promise<void> {
    this.loop = this.run();
  }

  /** Builds the consumer and reads until stopped; after an error, again after retry_wait_seconds. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.consumeOnce();
        failures = 0;
      } catch (e) {
        if (this.stopping) break;
        failures++;
        this.ctx.logger.error(
          { code: 'KAFKA_CONSUME_FAILED', error: (e as Error).message, failures },
          'unexpected error during consuming events from kafka. Re-fetch events.',
        );
        if (!this.p.disable_retry_limit && failures > this.p.retry_limit) {
          this.ctx.logger.error(
            { code: 'KAFKA_CONSUME_FAILED' },
            'kafka_group gives up after retry_limit failures',
          );
          return;
        }
        await this.pause(this.p.retry_wait_seconds * 1000);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    await Promise.race([
      sleep(ms, undefined, { ref: false }).catch(() => {}),
      new Promise<void>((r) => {
        this.wake = r;
      }),
    ]);
  }

  /** One consumer and stream; resolves when stopped, rejects on an error (the caller retries). */
  private async consumeOnce(): Promise<void> {
    const p = this.p;
    const maxWait = p.max_wait_ms ?? (p.max_wait_time !== undefined ? p.max_wait_time * 1000 : undefined);
    const sessionMs = p.session_timeout !== undefined ? p.session_timeout * 1000 : undefined;
    installReadCommittedFix();
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>(
      defined({
        ...this.conn,
        groupId: p.consumer_group,
        sessionTimeout: sessionMs,
        // the client's defaults (rebalance 60 s, heartbeat 3 s) must fit the session
        rebalanceTimeout: sessionMs !== undefined ? Math.max(sessionMs, 60_000) : undefined,
        heartbeatInterval: sessionMs !== undefined ? Math.min(3_000, Math.floor(sessionMs / 3)) : undefined,
        autocreateTopics: false,
      }),
    );
    try {
      const topics = await this.topicList();
      const stream = await consumer.consume(
        defined({
          topics,
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: p.start_from_beginning
            ? MessagesStreamFallbackModes.EARLIEST
            : MessagesStreamFallbackModes.LATEST,
          autocommit: false,
          maxBytesPerPartition: p.max_bytes,
          maxWaitTime: maxWait,
          minBytes: p.min_bytes,
          highWaterMark: p.fetcher_max_queue_size ?? 8192,
        }),
      );
      this.stream = stream;
      await new Promise<void>((resolve, reject) => {
        const onReadable = () => {
          if (this.draining) return;
          this.draining = this.drain(stream)
            .catch((e) => {
              stream.off('readable', onReadable);
              reject(e);
            })
            .finally(() => {
              this.draining = undefined;
              if (stream.readableLength > 0 && !this.stopping) onReadable();
            });
        };
        stream.on('readable', onReadable);
        stream.once('error', reject);
        stream.once('close', () => resolve());
        if (this.stopping) resolve();
      });
    } finally {
      this.stream = undefined;
      await this.draining?.catch(() => {});
      await new Promise<void>((r) => consumer.close(true, () => r()));
    }
  }

  /** Reads what the stream holds (up to ROUND messages), emits it, then commits it. */
  private async drain(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    while (!this.stopping) {
      const msgs: Msg[] = [];
      let m: Msg | null;
      while (msgs.length < ROUND && (m = stream.read() as Msg | null) !== null) msgs.push(m);
      if (msgs.length === 0) return;
      await this.emitRound(msgs);
      // commit the last message of each partition: offset + 1, with its leader epoch
      const last = new Map<string, Msg>();
      for (const x of msgs) last.set(`${x.topic}\u0000${x.partition}`, x);
      for (const x of last.values()) {
        try {
          await x.commit();
        } catch (e) {
          // The partition went to another member (rebalance): it reads again from the last
          // committed offset, so these events may arrive twice, never not at all.
          this.ctx.logger.warn(
            {
              code: 'KAFKA_COMMIT_FAILED',
              topic: x.topic,
              partition: x.partition,
              error: (e as Error).message,
            },
            'offset commit failed; the events since the last commit may be delivered again',
          );
        }
      }
    }
  }

  private tagOf(topic: string): string {
    let tag = topic;
    if (this.p.add_prefix) tag = `${this.p.add_prefix}.${tag}`;
    if (this.p.add_suffix) tag = `${tag}.${this.p.add_suffix}`;
    return tag;
  }

  /** in_kafka_group's process_batch for each message, then one emit per tag, in order. */
  private async emitRound(msgs: Msg[]): Promise<void> {
    const p = this.p;
    const byTag = new Map<string, { time: EventTime; record: EventRecord }[]>();
    const now = EventTime.now();
    for (const m of msgs) {
      let record: EventRecord;
      try {
        record = this.read(m.value);
      } catch (e) {
        this.ctx.logger.warn(
          {
            code: 'KAFKA_PARSE_ERROR',
            topic: m.topic,
            partition: m.partition,
            offset: String(m.offset),
            error: (e as Error).message,
            value: m.value.subarray(0, 200).toString(),
          },
          `parser error in ${m.topic}/${m.partition}`,
        );
        this.ctx.metrics.kafkaParseErrors = ((this.ctx.metrics.kafkaParseErrors as number) ?? 0) + 1;
        continue;
      }
      let tag: string;
      if (p.tag_source === 'record') {
        const t = record[p.record_tag_key];
        tag = this.tagOf(t === undefined || t === null ? '' : String(t));
      } else tag = this.tagOf(m.topic);
      let time: EventTime;
      if (this.recordTime) time = this.recordTime(record[p.record_time_key]) ?? now;
      else if (p.time_source === 'kafka') time = EventTime.fromMillis(Number(m.timestamp));
      else time = now;
      if (p.kafka_message_key)
        record[p.kafka_message_key] = m.key && m.key.length > 0 ? m.key.toString() : null;
      if (p.add_headers) for (const [k, v] of m.headers) record[k.toString()] = v.toString();
      let list = byTag.get(tag);
      if (!list) byTag.set(tag, (list = []));
      list.push({ time, record });
    }
    for (const [tag, entries] of byTag) {
      const batch = EventBatch.fromEntries(tag, entries);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.ctx.emit(batch);
          break;
        } catch (e) {
          // the buffer refused (overflow): as in_kafka_group, try again a second later
          if (this.stopping) throw e;
          if (p.retry_emit_limit !== undefined && attempt >= p.retry_emit_limit)
            throw new SluiceError('KAFKA_EMIT_LIMIT', `Exceeds retry_emit_limit: ${(e as Error).message}`);
          await this.pause(1000);
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    // the round being emitted finishes (and is committed) first
    await this.draining?.catch(() => {});
    await (this.stream?.close() as Promise<void> | undefined)?.catch(() => {});
    await this.loop;
  }
}

const descriptor: PluginDescriptor<KafkaGroupInput, typeof schema> = {
  kind: 'input',
  type: 'kafka_group',
  description:
    "Consumes Kafka topics in a consumer group (fluent-plugin-kafka's in_kafka_group); an offset is committed only after the events up to it were accepted by the pipeline, and fetching waits while an emit does.",
  schema,
  create: (config, ctx) => new KafkaGroupInput(config.params, ctx, config),
};

export default descriptor;
