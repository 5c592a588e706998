// The bytes of an object: the chunk formatted a slice of entries at a time into one reused
// Buffer, then gzipped (one gzip member) for store_as gzip. The two common formats are written straight from the chunk's msgpack (codec/msgpack-json.ts),
// without an object per event: `<format> @type json` (JSON lines) and the default out_file
// format (`<time ISO 8601 local>\t<tag>\t<json>\n`, out_file's own default). Any other
// <format> (or an <inject>) goes through the formatter, event by event.
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import { decode, EventTime } from '@sluice/forward';
import { recordJson } from '../../../codec/json.ts';
import { JSON_GIVE_UP, JsonOut, recordsJson, writeJsonValue } from '../../../codec/msgpack-json.ts';
import { skipValue } from '../../../codec/msgpack-scan.ts';
import type { EventRecord } from '../../../core/batch.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Chunk, FormatterPlugin } from '../../../core/plugin.ts';
import { formatChunk } from '../../../shared/parse/format-chunk.ts';
import { compileStrftime } from '../../../time/time-format.ts';

/** The chunk's bytes are not msgpack entries (no retry can help). */
export class BrokenChunk extends Error {}

/** msgpack bytes of the chunk formatted at a time (the formatted slice is about 1.3 times this). */
export const SLICE_BYTES = 4 * 1024 * 1024;

/**
 * The chunk cut at entry boundaries into parts of about `target` bytes, each as a chunk of its
 * own (same id and keys) for a Formatter. One part when the chunk is smaller.
 */
export function* slices(chunk: Chunk, target = SLICE_BYTES): Generator<Chunk> {
  const b = chunk.bytes;
  if (b.length <= target) {
    yield chunk;
    return;
  }
  let start = 0;
  let first = 0;
  let off = 0;
  let n = 0;
  while (off < b.length) {
    const next = skipValue(b, off, b.length);
    if (next < 0) throw new BrokenChunk(`chunk holds a broken msgpack entry at byte ${off}`);
    off = next;
    n++;
    if (off - start >= target || off >= b.length) {
      const from = first;
      const to = first + n;
      yield {
        ...chunk,
        bytes: b.subarray(start, off),
        count: n,
        entries: () => chunk.entries().slice(from, to),
      };
      start = off;
      first = to;
      n = 0;
    }
  }
}

/**
 * Turns a chunk's events into the object's uncompressed bytes, in `scratch` when it is large
 * enough (memory reused from chunk to chunk, core/buffer-pool.ts).
 */
export type Formatter = (chunk: Chunk, scratch?: Buffer) => Buffer;

/** `<format> @type json` without other parameters: the records as JSON lines. */
export function jsonLines(): Formatter {
  return (chunk, scratch) => recordsJson(chunk.bytes, 0x0a, scratch);
}

/** The seconds of the time at `off` (an EventTime ext or an integer/float), and its nanoseconds. */
function readTime(b: Buffer, off: number): EventTime | undefined {
  const t = b[off]!;
  if (t === 0xd7 && b[off + 1] === 0) return new EventTime(b.readUInt32BE(off + 2), b.readUInt32BE(off + 6));
  return EventTime.from(decode(b.subarray(off, skipValue(b, off))));
}

/**
 * out_file's default format, Fluentd's: the time in ISO 8601 in local time (formatted once per
 * second), the tag, the record as JSON, separated by tabs.
 */
export function outFileLines(): Formatter {
  const fmt = compileStrftime('%Y-%m-%dT%H:%M:%S%:z');
  let lastSec = Number.NaN;
  let lastText = Buffer.alloc(0);
  return (chunk, scratch) => {
    const b = chunk.bytes;
    const end = b.length;
    const tag = Buffer.from(`\t${chunk.keys.tag ?? ''}\t`);
    const out = new JsonOut(Math.ceil(end * 1.3) + chunk.count * (32 + tag.length) + 64, scratch);
    let off = 0;
    while (off < end) {
      const entryEnd = skipValue(b, off, end);
      if (entryEnd < 0)
        throw new SluiceError('CHUNK_BROKEN_ENTRY', `chunk holds a broken msgpack entry at byte ${off}`);
      const mark = out.len;
      let next = JSON_GIVE_UP;
      if (b[off] === 0x92) {
        const time = readTime(b, off + 1);
        const rec = skipValue(b, off + 1, entryEnd);
        if (time && rec > 0) {
          if (time.sec !== lastSec) {
            lastSec = time.sec;
            lastText = Buffer.from(fmt(time));
          }
          out.reserve(lastText.length + tag.length);
          lastText.copy(out.buf, out.len);
          out.len += lastText.length;
          tag.copy(out.buf, out.len);
          out.len += tag.length;
          next = writeJsonValue(out, b, rec, entryEnd);
        }
      }
      if (next !== entryEnd) {
        out.len = mark;
        const entry = decode(b.subarray(off, entryEnd)) as unknown[];
        const time = EventTime.from(entry[0]) ?? new EventTime(0, 0);
        const text = Buffer.from(`${fmt(time)}${tag.toString()}${recordJson(entry[1] as EventRecord)}`);
        out.reserve(text.length);
        text.copy(out.buf, out.len);
        out.len += text.length;
      }
      out.byte(0x0a);
      off = entryEnd;
    }
    return out.buf.subarray(0, out.len);
  };
}

/** Any formatter: its output per event, in one Buffer. */
export function formatted(formatter: FormatterPlugin): Formatter {
  return (chunk) => formatChunk(formatter, chunk);
}

export interface Storage {
  extension: string;
  contentType: string;
  gzip: boolean;
}

/** fluent-plugin-s3's compressors gzip, json and text. */
export function storage(storeAs: string): Storage {
  switch (storeAs) {
    case 'gzip':
      return { extension: 'gz', contentType: 'application/x-gzip', gzip: true };
    case 'json':
      return { extension: 'json', contentType: 'application/json', gzip: false };
    default:
      return { extension: 'txt', contentType: 'text/plain', gzip: false };
  }
}

/**
 * One gzip member made of the slices written to it (node:zlib, in libuv's thread pool); what it
 * makes goes to `sink` as it comes. A slice's memory may be reused once write() resolves.
 */
export class GzipPipe {
  private readonly gz: Gzip = createGzip();
  private out: Buffer[] = [];

  constructor(private readonly sink: (b: Buffer) => Promise<void>) {
    this.gz.on('data', (b: Buffer) => this.out.push(b));
  }

  async write(slice: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.gz.write(slice, (e) => (e ? reject(e) : resolve())));
    await this.drain();
  }

  async end(): Promise<void> {
    const ended = once(this.gz, 'end');
    this.gz.end();
    await ended;
    await this.drain();
  }

  destroy(): void {
    this.gz.destroy();
  }

  private async drain(): Promise<void> {
    while (this.out.length > 0) {
      const b = this.out.shift()!;
      await this.sink(b);
    }
  }
}
