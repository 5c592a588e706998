// What one event becomes in a PutRecordBatch, as fluent-plugin-kinesis makes it (kinesis.rb's
// data_formatter_create, out_kinesis_firehose.rb's append_new_line), and how a chunk's records
// are cut into requests within Firehose's limits (kinesis_helper/api.rb's split_to_batches).
import { deflateSync, gzipSync } from 'node:zlib';
import type { EventTime } from '@sluice/forward';
import { recordsJson } from '../../../codec/msgpack-json.ts';
import type { EventRecord } from '../../../core/batch.ts';
import type { FormatterPlugin } from '../../../core/plugin.ts';
import { rubyToS } from '../../../shared/parse/format-common.ts';

/** A record that cannot be made into data; it goes to @ERROR with this code. */
export class RecordError extends Error {
  constructor(
    readonly code: 'FIREHOSE_RECORD_INVALID' | 'FIREHOSE_RECORD_TOO_LARGE',
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface EncoderOptions {
  formatter: FormatterPlugin;
  dataKey?: string;
  chompRecord: boolean;
  appendNewLine: boolean;
  compression?: string;
  /** bytes of one record's data at most (after compression and the newline) */
  maxRecordSize: number;
}

export type Encoder = (tag: string, time: EventTime, record: EventRecord) => Buffer;

/** Ruby's String#chomp: one trailing \r\n, \n or \r. */
function chomp(b: Buffer): Buffer {
  const n = b.length;
  if (n >= 2 && b[n - 2] === 13 && b[n - 1] === 10) return b.subarray(0, n - 2);
  if (n >= 1 && (b[n - 1] === 10 || b[n - 1] === 13)) return b.subarray(0, n - 1);
  return b;
}

const NEWLINE = Buffer.from('\n');

export function createEncoder(o: EncoderOptions): Encoder {
  const compress =
    o.compression === 'zlib'
      ? (b: Buffer) => deflateSync(b)
      : o.compression === 'gzip'
        ? (b: Buffer) => gzipSync(b)
        : undefined;
  const text = (tag: string, time: EventTime, record: EventRecord): Buffer => {
    if (o.dataKey !== undefined) {
      if (record === null || typeof record !== 'object' || Array.isArray(record))
        throw new RecordError('FIREHOSE_RECORD_INVALID', 'Invalid type of record');
      const v = record[o.dataKey];
      if (v === undefined || v === null)
        throw new RecordError('FIREHOSE_RECORD_INVALID', `Key '${o.dataKey}' doesn't exist`);
      return Buffer.from(rubyToS(v));
    }
    let out: Buffer | string;
    try {
      out = o.formatter.format(tag, time, record);
    } catch (e) {
      throw new RecordError('FIREHOSE_RECORD_INVALID', `the formatter failed: ${(e as Error).message}`);
    }
    const b = typeof out === 'string' ? Buffer.from(out) : out;
    return o.chompRecord ? chomp(b) : b;
  };
  return (tag, time, record) => {
    let data = text(tag, time, record);
    // compressed bytes are not text: their last byte is not a line end to remove
    if (compress) data = compress(data);
    else if (o.appendNewLine) data = chomp(data);
    if (o.appendNewLine) data = Buffer.concat([data, NEWLINE]);
    return withinLimit(data, o.maxRecordSize);
  };
}

/** `data`, or fluent-plugin-kinesis's error for a record over max_record_size (to @ERROR). */
export function withinLimit(data: Buffer, maxRecordSize: number): Buffer {
  if (data.length > maxRecordSize)
    throw new RecordError(
      'FIREHOSE_RECORD_TOO_LARGE',
      `Record size limit exceeded in ${Math.floor(data.length / 1024)} KB (${data.length} bytes; the limit is ${maxRecordSize})`,
    );
  return data;
}

/**
 * The default format (json, no <inject>, no data_key, no compression) from the chunk's msgpack:
 * one JSON text per entry, each ending in a newline, written without decoding the records.
 * `ends[i]` is where entry i's line ends, its newline included. undefined when the lines do not
 * match the entry count (the caller then takes the formatter's path).
 */
export function jsonLines(
  bytes: Buffer,
  count: number,
  scratch?: Buffer,
): { buf: Buffer; ends: Uint32Array } | undefined {
  const buf = recordsJson(bytes, 0x0a, scratch);
  const ends = new Uint32Array(count);
  let n = 0;
  // JSON texts hold no raw newline: every 0x0a ends a record
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (n === count) return undefined;
    ends[n++] = i + 1;
  }
  return n === count ? { buf, ends } : undefined;
}

/** One record on its way: its entry's place in the chunk and its data. */
export interface PendingRecord {
  index: number;
  data: Buffer;
}

/**
 * Cuts records into batches of at most `maxCount` records and `maxSize` bytes of data, in
 * order (a record is never larger than maxSize: the encoder's limit is below it).
 */
export class Batcher {
  private batch: PendingRecord[] = [];
  private size = 0;

  constructor(
    private readonly maxCount: number,
    private readonly maxSize: number,
  ) {}

  /** Adds a record; returns the batch it closed, if adding it would have gone over a limit. */
  add(r: PendingRecord): PendingRecord[] | undefined {
    let full: PendingRecord[] | undefined;
    if (
      this.batch.length > 0 &&
      (this.batch.length + 1 > this.maxCount || this.size + r.data.length > this.maxSize)
    ) {
      full = this.batch;
      this.batch = [];
      this.size = 0;
    }
    this.batch.push(r);
    this.size += r.data.length;
    return full;
  }

  /** The last batch (empty when nothing is left). */
  rest(): PendingRecord[] {
    const b = this.batch;
    this.batch = [];
    this.size = 0;
    return b;
  }
}

/**
 * fluent-plugin-kinesis's Backoff: 2^n times 0.3 s, give or take 0.05 s, n counting the
 * retries since the start (or since a partly accepted answer, with reset_backoff_if_success).
 */
export class Backoff {
  private count = 0;

  next(): number {
    const v = 2 ** this.count * (0.3 + (0.5 - Math.random()) * 0.1);
    this.count++;
    return v;
  }

  reset(): void {
    this.count = 0;
  }
}
