// A chunk's [time, record] entries -> Kafka messages, as out_kafka2.rb's write() builds
// them: topic, partition, partition key, message key and headers taken from the record
// (and removed from it when asked), the record formatted (JSON by default). The common case,
// a JSON message from a record that holds none of those fields, is written straight from
// the chunk's msgpack into one buffer per chunk (codec/msgpack-json.ts), without decoding
// the record; any other entry is decoded and handled as the Ruby plugin does.
import { crc32 } from 'node:zlib';
import type { MessageToProduce } from '@platformatic/kafka';
import { murmur2 } from '@platformatic/kafka';
import { decode, type EventTime, encode as encodeMsgpack } from '@sluice/forward';
import { recordJson } from '../../../codec/json.ts';
import { JsonOut, writeJsonValue } from '../../../codec/msgpack-json.ts';
import { skipValue } from '../../../codec/msgpack-scan.ts';
import type { EventRecord } from '../../../core/batch.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Chunk, FormatterPlugin } from '../../../core/plugin.ts';
import type { RecordAccessor } from '../../../core/record-accessor.ts';
import { rubyToS } from '../../../shared/parse/format-common.ts';

const EMPTY = Buffer.alloc(0);

export type KafkaMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer> & { metadata: MessageMeta };

/** What the partitioner reads: the partition key, else a place in the chunk's round robin. */
export interface MessageMeta {
  pkey?: Buffer;
  /** deterministic per chunk and entry, so a retried chunk goes to the same partitions */
  seed: number;
  /** the entry's index in the chunk */
  index: number;
}

/** How each message's value is written. */
export type ValueFormat =
  | { kind: 'json' }
  | { kind: 'msgpack' }
  | { kind: 'ltsv'; formatter: FormatterPlugin }
  | { kind: 'attr'; fields: string[]; separator: string }
  | { kind: 'formatter'; formatter: FormatterPlugin };

export interface EncodeOptions {
  format: ValueFormat;
  topicKey: string;
  /** kafka_buffered/kafka without a topic chunk key: the topic is read per record */
  perRecordTopic: boolean;
  excludeTopicKey: boolean;
  partitionKeyKey: string;
  defaultPartitionKey?: string;
  excludePartitionKey: boolean;
  partitionKey: string;
  defaultPartition?: number;
  excludePartition: boolean;
  messageKeyKey: string;
  defaultMessageKey?: string;
  excludeMessageKey: boolean;
  headers: Map<Buffer, Buffer>;
  headersFromRecord: [Buffer, RecordAccessor][];
  excludeFields: RecordAccessor[];
  recordKey?: RecordAccessor;
  useEventTime: boolean;
  maxSendLimitBytes?: number;
  /** kafka_buffered/kafka: output_include_tag / output_include_time (with time_format) */
  includeTag: boolean;
  includeTime?: (time: EventTime) => unknown;
  /** `<inject>`: the record with the section's fields added (a copy) */
  inject?: (tag: string, time: EventTime, record: EventRecord) => EventRecord;
}

export interface Rejected {
  time: EventTime;
  record: EventRecord;
  error: Error;
  code: 'KAFKA_RECORD_TOO_LARGE' | 'KAFKA_FORMAT_ERROR';
}

export interface Encoded {
  messages: KafkaMessage[];
  /** value bytes + key bytes of each message, for splitting into requests */
  sizes: number[];
  rejected: Rejected[];
}

export function partitionHash(fn: 'crc32' | 'murmur2'): (key: Buffer) => number {
  return fn === 'crc32' ? (key) => crc32(key) : (key) => murmur2(key) & 0x7fffffff;
}

function seedOf(id: string): number {
  return crc32(id);
}

/** Reads a map's string keys in place: true when one of `wanted` is among them. */
function hasAnyKey(b: Buffer, off: number, end: number, wanted: Buffer[]): boolean {
  const t = b[off]!;
  let n: number;
  if (t >= 0x80 && t <= 0x8f) {
    n = t & 0x0f;
    off += 1;
  } else if (t === 0xde) {
    n = b.readUInt16BE(off + 1);
    off += 3;
  } else if (t === 0xdf) {
    n = b.readUInt32BE(off + 1);
    off += 5;
  } else return true; // not a map: the general path decides
  for (let i = 0; i < n; i++) {
    const k = b[off]!;
    let start: number;
    let len: number;
    if (k >= 0xa0 && k <= 0xbf) {
      len = k & 0x1f;
      start = off + 1;
    } else if (k === 0xd9) {
      len = b[off + 1]!;
      start = off + 2;
    } else if (k === 0xda) {
      len = b.readUInt16BE(off + 1);
      start = off + 3;
    } else if (k === 0xdb) {
      len = b.readUInt32BE(off + 1);
      start = off + 5;
    } else return true;
    for (const w of wanted)
      if (w.length === len && b.compare(w, 0, len, start, start + len) === 0) return true;
    // past the key, then past its value
    off = skipValue(b, start + len, end);
    if (off < 0) return true;
  }
  return false;
}

function toBuf(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(rubyToS(v));
}

function present(v: unknown): boolean {
  // Ruby's `record[k] || default`: only nil and false fall through
  return v !== undefined && v !== null && v !== false;
}

export class MessageEncoder {
  /** the fields whose presence sends a record through the general path */
  private readonly watched: Buffer[];
  private readonly fastPath: boolean;
  private readonly defaultKey?: Buffer;
  private readonly defaultPkey?: Buffer;

  constructor(private readonly o: EncodeOptions) {
    const watched = [o.partitionKey, o.partitionKeyKey, o.messageKeyKey];
    if (o.excludeTopicKey || o.perRecordTopic) watched.push(o.topicKey);
    this.watched = watched.map((k) => Buffer.from(k));
    this.fastPath =
      (o.format.kind === 'json' || o.format.kind === 'msgpack') &&
      o.headersFromRecord.length === 0 &&
      o.excludeFields.length === 0 &&
      !o.recordKey &&
      !o.includeTag &&
      !o.includeTime &&
      !o.inject;
    if (o.defaultMessageKey !== undefined) this.defaultKey = Buffer.from(o.defaultMessageKey);
    if (o.defaultPartitionKey !== undefined) this.defaultPkey = Buffer.from(o.defaultPartitionKey);
  }

  /**
   * The chunk's messages to `topic`. `scratch` is memory the JSON values may be written into
   * (the values are views of it, or of a larger buffer when it is too small: see `out`).
   */
  encode(chunk: Chunk, topic: string, scratch?: Buffer): Encoded & { out: Buffer } {
    const o = this.o;
    const b = chunk.bytes;
    const end = b.length;
    const out = new JsonOut(Math.ceil(end * 1.2) + 64, scratch);
    // values written into `out` are (start, end) until the end: `out` may grow and move
    const spans: number[] = [];
    const messages: KafkaMessage[] = [];
    const sizes: number[] = [];
    const rejected: Rejected[] = [];
    const seed = seedOf(chunk.id);
    const tag = chunk.keys.tag ?? '';
    const timestamp = (time: EventTime) =>
      o.useEventTime ? BigInt(time.sec) * 1000n + BigInt(Math.floor(time.nsec / 1e6)) : undefined;
    let off = 0;
    let index = 0;
    while (off < end) {
      const entryEnd = skipValue(b, off, end);
      if (entryEnd < 0)
        throw new SluiceError(
          'CHUNK_BROKEN_ENTRY',
          `chunk ${chunk.id} holds a broken msgpack entry at byte ${off}`,
        );
      const i = index++;
      let done = false;
      if (this.fastPath && b[off] === 0x92) {
        const rec = skipValue(b, off + 1, entryEnd);
        if (rec > 0 && !hasAnyKey(b, rec, entryEnd, this.watched)) {
          let start = -1;
          let stop = -1;
          let value: Buffer | undefined;
          if (o.format.kind === 'msgpack') value = b.subarray(rec, entryEnd);
          else {
            const mark = out.len;
            const next = writeJsonValue(out, b, rec, entryEnd);
            if (next === entryEnd) {
              start = mark;
              stop = out.len;
            } else out.len = mark;
          }
          const size = value ? value.length : stop - start;
          if (value || start >= 0) {
            done = true;
            if (o.maxSendLimitBytes !== undefined && size > o.maxSendLimitBytes) {
              if (start >= 0) out.len = start;
              const [time, record] = decode(b.subarray(off, entryEnd)) as [EventTime, EventRecord];
              rejected.push(tooLarge(time, record, size, o.maxSendLimitBytes));
            } else {
              const time = o.useEventTime ? (decode(b.subarray(off, entryEnd)) as [EventTime])[0] : undefined;
              messages.push({
                topic,
                // a msgpack value is a view of the chunk: sent before write() settles
                value: value ?? EMPTY,
                key: this.defaultKey,
                partition: o.defaultPartition,
                headers: o.headers,
                timestamp: time ? timestamp(time) : undefined,
                metadata: { pkey: this.defaultPkey, seed: (seed + i) >>> 0, index: i },
              });
              spans.push(start, stop);
              sizes.push(size + (this.defaultKey?.length ?? 0));
            }
          }
        }
      }
      if (!done) {
        const [time, record] = decode(b.subarray(off, entryEnd)) as [EventTime, EventRecord];
        const m = this.general(tag, topic, time, record, i, seed, rejected);
        if (m) {
          messages.push(m);
          spans.push(-1, -1);
          sizes.push(m.value!.length + (m.key?.length ?? 0));
        }
      }
      off = entryEnd;
    }
    for (let j = 0; j < messages.length; j++) {
      const s = spans[2 * j]!;
      if (s >= 0) messages[j]!.value = out.buf.subarray(s, spans[2 * j + 1]!);
    }
    return { messages, sizes, rejected, out: out.buf };
  }

  /** out_kafka2.rb's per-record steps, in its order. */
  private general(
    tag: string,
    chunkTopic: string,
    time: EventTime,
    original: EventRecord,
    index: number,
    seed: number,
    rejected: Rejected[],
  ): KafkaMessage | undefined {
    const o = this.o;
    // out_kafka2.rb: inject_values_to_record first
    const record: EventRecord = o.inject ? o.inject(tag, time, original) : { ...original };
    try {
      if (o.includeTime) record.time = o.includeTime(time);
      if (o.includeTag) record.tag = tag;
      let topic = chunkTopic;
      const t = record[o.topicKey];
      if (o.excludeTopicKey) delete record[o.topicKey];
      if (o.perRecordTopic && present(t)) topic = rubyToS(t);
      const pk = record[o.partitionKeyKey];
      if (o.excludePartitionKey) delete record[o.partitionKeyKey];
      const part = record[o.partitionKey];
      if (o.excludePartition) delete record[o.partitionKey];
      const mk = record[o.messageKeyKey];
      if (o.excludeMessageKey) delete record[o.messageKeyKey];
      let headers = o.headers;
      if (o.headersFromRecord.length > 0) {
        headers = new Map(o.headers);
        for (const [name, acc] of o.headersFromRecord) {
          const v = acc.get(record);
          if (present(v)) headers.set(name, toBuf(v));
        }
      }
      for (const acc of o.excludeFields) acc.delete(record);
      let payload: unknown = record;
      if (o.recordKey) payload = o.recordKey.get(record);
      const value = this.format(tag, time, payload);
      if (o.maxSendLimitBytes !== undefined && value.length > o.maxSendLimitBytes) {
        rejected.push(tooLarge(time, original, value.length, o.maxSendLimitBytes));
        return undefined;
      }
      let partition: number | undefined;
      if (present(part)) {
        const n = Number(part);
        if (Number.isInteger(n) && n >= 0) partition = n;
      } else if (o.defaultPartition !== undefined) partition = o.defaultPartition;
      return {
        topic,
        value,
        key: present(mk) ? toBuf(mk) : this.defaultKey,
        partition,
        headers,
        timestamp: o.useEventTime
          ? BigInt(time.sec) * 1000n + BigInt(Math.floor(time.nsec / 1e6))
          : undefined,
        metadata: { pkey: present(pk) ? toBuf(pk) : this.defaultPkey, seed: (seed + index) >>> 0, index },
      };
    } catch (e) {
      rejected.push({
        time,
        record: original,
        error: new SluiceError(
          'KAFKA_FORMAT_ERROR',
          `unexpected error during format record: ${(e as Error).message}`,
        ),
        code: 'KAFKA_FORMAT_ERROR',
      });
      return undefined;
    }
  }

  private format(tag: string, time: EventTime, payload: unknown): Buffer {
    const f = this.o.format;
    switch (f.kind) {
      case 'json':
        return Buffer.from(recordJson(payload));
      case 'msgpack':
        return Buffer.from(encodeMsgpack(payload));
      case 'ltsv': {
        const s = String(f.formatter.format(tag, time, payload as EventRecord));
        return Buffer.from(s.endsWith('\n') ? s.slice(0, -1) : s);
      }
      case 'attr': {
        const r = payload as EventRecord;
        return Buffer.from(
          f.fields.map((k) => (r[k] === undefined || r[k] === null ? '' : rubyToS(r[k]))).join(f.separator),
        );
      }
      case 'formatter': {
        const v = f.formatter.format(tag, time, payload as EventRecord);
        return typeof v === 'string' ? Buffer.from(v) : v;
      }
    }
  }
}

function tooLarge(time: EventTime, record: EventRecord, size: number, limit: number): Rejected {
  return {
    time,
    record,
    error: new SluiceError(
      'KAFKA_RECORD_TOO_LARGE',
      `record size ${size} exceeds max_send_limit_bytes ${limit}; not sent`,
    ),
    code: 'KAFKA_RECORD_TOO_LARGE',
  };
}
