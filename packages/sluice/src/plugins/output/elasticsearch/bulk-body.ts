// The bulk request body (NDJSON: an action line, then the document, per event), written straight
// from the chunk's msgpack bytes as out_http's body is (codec/msgpack-json.ts): the record's
// fields are copied as JSON one by one, leaving out remove_keys and adding tag and @timestamp,
// without decoding the record into objects. The few values the action line needs (id_key,
// routing_key, parent_key, time_key) are decoded alone. An entry the walker cannot take
// (float32, ext values, non-string keys, invalid UTF-8, an entry not in Sluice's own encoding)
// is decoded and written from objects, with the same rules.
import { decode, EventTime } from '@sluice/forward';
import { recordJson } from '../../../codec/json.ts';
import { JsonOut, writeJsonString, writeJsonValue } from '../../../codec/msgpack-json.ts';
import { skipValue } from '../../../codec/msgpack-scan.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Chunk } from '../../../core/plugin.ts';
import type { RecordAccessor } from '../../../core/record-accessor.ts';
import type { TimeFormatter } from '../../../time/time-format.ts';
import type { IdOf } from './ids.ts';

export type Operation = 'index' | 'create' | 'update' | 'upsert';

/** What the output's config says about each document, compiled once. */
export interface DocumentRules {
  op: Operation;
  /** _type to send (Elasticsearch 6/7), or undefined */
  typeName?: string;
  pipeline?: string;
  /** include_tag_key: the field, else undefined */
  tagKey?: string;
  /** logstash_format, include_timestamp or a data stream: @timestamp is added when absent */
  timestamp: boolean;
  timeKey?: string;
  /** reads a time_key / @timestamp value; undefined when it cannot */
  parseTime: (value: unknown) => EventTime | undefined;
  /** @timestamp text of a time */
  formatTimestamp: TimeFormatter;
  /** logstash_format: the date part of the index name */
  indexDate?: TimeFormatter;
  removeKeys: ReadonlySet<string>;
  idKey?: RecordAccessor;
  routingKey?: RecordAccessor;
  parentKey?: RecordAccessor;
  /** parent_key's value is sent as routing (Elasticsearch 7+, OpenSearch), not _parent */
  parentAsRouting?: boolean;
  idOf: IdOf;
  /** id_policy chunk without id_key: ids written straight from the chunk id and the entry index */
  chunkIds: boolean;
}

/** The index of a chunk: fixed (index_name, data stream), or per event (logstash_format). */
export interface ChunkIndex {
  fixed?: string;
  /** logstash_format: prefix + separator, lower-cased */
  prefix?: string;
}

/** One bulk request: a slice of the body and the chunk entries its items answer for, in order. */
export interface BulkRequest {
  body: Buffer;
  entries: number[];
  /** the _index and _id of each document, as sent (for the reason of a rejected one) */
  indices: string[];
  ids: (string | undefined)[];
}

/** The requests of a chunk, made one at a time in one buffer (`memory()`, to give back to a pool when they are sent). */
export interface BulkBody {
  requests: Iterable<BulkRequest>;
  memory(): Buffer;
}

const EMPTY_BODY = Buffer.alloc(0);

const TIMESTAMP = '@timestamp';
const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
const NO_TIME = new EventTime(0, 0);

/**
 * The fields of the record map at b[off] into `into` (3 numbers per field: key start, key end =
 * value start, value end); their number, or -1 when it is not a map with string keys.
 */
function fieldsOf(b: Buffer, off: number, end: number, into: { a: Int32Array }): number {
  const t = b[off]!;
  let n: number;
  let p: number;
  if (t >= 0x80 && t <= 0x8f) {
    n = t & 0x0f;
    p = off + 1;
  } else if (t === 0xde) {
    n = b.readUInt16BE(off + 1);
    p = off + 3;
  } else if (t === 0xdf) {
    n = b.readUInt32BE(off + 1);
    p = off + 5;
  } else return -1;
  if (into.a.length < n * 3) into.a = new Int32Array(n * 3 + 48);
  const a = into.a;
  for (let i = 0; i < n; i++) {
    const k = b[p]!;
    let ks: number;
    let klen: number;
    if (k >= 0xa0 && k <= 0xbf) {
      ks = p + 1;
      klen = k & 0x1f;
    } else if (k === 0xd9) {
      ks = p + 2;
      klen = b[p + 1]!;
    } else if (k === 0xda) {
      ks = p + 3;
      klen = b.readUInt16BE(p + 1);
    } else return -1;
    const ke = ks + klen;
    const ve = skipValue(b, ke, end);
    if (ve < 0) return -1;
    a[i * 3] = ks;
    a[i * 3 + 1] = ke;
    a[i * 3 + 2] = ve;
    p = ve;
  }
  return n;
}

/** A value put into the action line: strings as they are, others as their JSON text. */
function metaValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return recordJson(v);
}

function accessed(a: RecordAccessor | undefined, record: Record<string, unknown>): string | undefined {
  return a ? metaValue(a.get(record)) : undefined;
}

/** What the action line and the added fields of one document need. */
interface DocumentMeta {
  id?: string;
  /** id_policy chunk: the _id is `<chunkId>-<entry>`, written without making the string */
  chunkId?: string;
  entry: number;
  routing?: string;
  parent?: string;
  /** the time for the index date and @timestamp */
  time: EventTime;
  /** @timestamp to add (undefined: the record has one, or none is wanted) */
  timestamp?: string;
}

export class BulkWriter {
  private readonly special: Map<string, Buffer>;
  /** field offsets of the record being written, reused */
  private readonly fields = { a: new Int32Array(96) };
  private lastSec = Number.NaN;
  private lastPrefix: string | undefined;
  private lastName = '';
  private readonly m: DocumentMeta = { entry: 0, time: NO_TIME };
  /** the request being built: action() notes each document's index and id in it */
  sent: { indices: string[]; ids: (string | undefined)[] } = { indices: [], ids: [] };

  constructor(private readonly r: DocumentRules) {
    // The top-level keys the fast path must look at, as bytes.
    const names = new Set<string>([...r.removeKeys]);
    if (r.tagKey) names.add(r.tagKey);
    if (r.timestamp) names.add(TIMESTAMP);
    if (r.timestamp && r.timeKey) names.add(r.timeKey);
    for (const a of [r.idKey, r.routingKey, r.parentKey]) if (a) names.add(String(a.path[0]));
    this.special = new Map([...names].map((n) => [n, Buffer.from(n)]));
  }

  /**
   * The bulk requests for the entries of `chunk` not marked 1 in `done` (all when undefined),
   * each body at most `limit` bytes unless one document alone is larger (-1: one request).
   * Made one at a time, in one buffer: a request's body is valid until the next is asked for,
   * so a write holds one body at a time (for a 256 MB file-buffer chunk, a body of
   * bulk_message_request_threshold, not the JSON of the whole chunk). `memory()`: the buffer
   * they were written in, to give back to a pool once the last one was sent.
   */
  build(
    chunk: Chunk,
    index: ChunkIndex,
    done: Uint8Array | undefined,
    limit: number,
    scratch?: Buffer,
  ): BulkBody {
    const b = chunk.bytes;
    // JSON of the records (about 1.3 times their msgpack) and an action line per document
    // (about 100 bytes), up to the limit: sized once, so the body is not copied as it grows
    const whole = Math.ceil(b.length * 1.3) + chunk.count * 128 + 256;
    const out = new JsonOut(limit > 0 ? Math.min(whole, limit + (limit >> 2) + 4096) : whole, scratch);
    const writer = this;
    function* requests(): Generator<BulkRequest> {
      let current: BulkRequest = { body: EMPTY_BODY, entries: [], indices: [], ids: [] };
      let off = 0;
      let i = 0;
      while (off < b.length) {
        const end = skipValue(b, off, b.length);
        if (end < 0)
          throw new SluiceError(
            'CHUNK_BROKEN_ENTRY',
            `chunk ${chunk.id} holds a broken msgpack entry at byte ${off}`,
          );
        if (done?.[i] !== 1) {
          const mark = out.len;
          // the writer notes each document's index and id here (another build may have run in between)
          writer.sent = current;
          const noted = current.ids.length;
          if (!writer.fast(out, chunk, index, b, off, end, i)) {
            out.len = mark;
            current.ids.length = noted;
            current.indices.length = noted;
            writer.slow(out, chunk, index, b, off, end, i);
          }
          if (limit > 0 && current.entries.length > 0 && out.len > limit) {
            // this document starts the next request: the ones before it go now, then it is
            // moved to the start of the buffer
            const name = current.indices.pop()!;
            const id = current.ids.pop();
            current.body = out.buf.subarray(0, mark);
            yield current;
            out.buf.copy(out.buf, 0, mark, out.len);
            out.len -= mark;
            current = { body: EMPTY_BODY, entries: [], indices: [name], ids: [id] };
          }
          current.entries.push(i);
        }
        off = end;
        i++;
      }
      if (current.entries.length > 0) {
        current.body = out.buf.subarray(0, out.len);
        yield current;
      }
    }
    return { requests: requests(), memory: () => out.buf };
  }

  /** Writes the action and document of the entry at b[off, end) from its bytes; false: not this way. */
  fast(
    out: JsonOut,
    chunk: Chunk,
    index: ChunkIndex,
    b: Buffer,
    off: number,
    end: number,
    i: number,
  ): boolean {
    // [time, record] with the time as EventTime (fixext8): what the buffer holds for every input
    if (b[off] !== 0x92 || b[off + 1] !== 0xd7 || b[off + 2] !== 0) return false;
    // the time is read only when it is written (@timestamp) or names the index (logstash_format)
    const eventTime =
      this.r.timestamp || this.r.indexDate
        ? new EventTime(b.readUInt32BE(off + 3), b.readUInt32BE(off + 7))
        : NO_TIME;
    const recOff = off + 11;
    const r = this.r;
    const special = this.special;
    const update = r.op === 'update' || r.op === 'upsert';
    if (special.size === 0) {
      // Nothing to read or leave out: the record is written whole, the added fields (none
      // without include_timestamp/include_tag_key) in place of its closing brace.
      const t = b[recOff]!;
      if (!((t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf)) return false;
      const meta = this.meta(chunk, i, b, off, end, eventTime, EMPTY, false, undefined);
      this.action(out, index, meta);
      if (update) out.ascii('{"doc":');
      const mark = out.len;
      if (writeJsonValue(out, b, recOff, end) !== end) return false;
      out.len--;
      this.added(out, chunk, meta, out.len - mark > 1 ? 1 : 0);
      out.byte(0x7d);
      if (r.op === 'upsert') out.ascii(',"doc_as_upsert":true}');
      else if (r.op === 'update') out.byte(0x7d);
      out.byte(0x0a);
      return true;
    }
    const count = fieldsOf(b, recOff, end, this.fields);
    if (count < 0) return false;
    const a = this.fields.a;
    // Read what the action line needs; note which fields are left out of the document.
    let skip: boolean[] | undefined;
    let hasTimestamp = false;
    let timeValue: unknown;
    let top: Record<string, unknown> | undefined;
    for (let f = 0; f < count; f++) {
      const ks = a[f * 3]!;
      const ke = a[f * 3 + 1]!;
      const ve = a[f * 3 + 2]!;
      const len = ke - ks;
      for (const [name, bytes] of special) {
        if (bytes.length !== len || b.compare(bytes, 0, len, ks, ke) !== 0) continue;
        if (r.removeKeys.has(name) || name === r.tagKey) (skip ??= [])[f] = true;
        if (name === TIMESTAMP && r.timestamp) {
          hasTimestamp = true;
          timeValue = decode(b.subarray(ke, ve));
        } else if (name === r.timeKey && r.timestamp && !hasTimestamp) timeValue = decode(b.subarray(ke, ve));
        if (name === r.idKey?.path[0] || name === r.routingKey?.path[0] || name === r.parentKey?.path[0])
          (top ??= {})[name] = decode(b.subarray(ke, ve));
        break;
      }
    }
    const meta = this.meta(chunk, i, b, off, end, eventTime, top ?? EMPTY, hasTimestamp, timeValue);
    this.action(out, index, meta);
    if (update) out.ascii('{"doc":');
    out.byte(0x7b);
    let n = 0;
    for (let f = 0; f < count; f++) {
      if (skip?.[f]) continue;
      const ks = a[f * 3]!;
      const ke = a[f * 3 + 1]!;
      const ve = a[f * 3 + 2]!;
      if (n++ > 0) out.byte(0x2c);
      if (writeJsonString(out, b, ks, ke) < 0) return false;
      out.byte(0x3a);
      if (writeJsonValue(out, b, ke, ve) !== ve) return false;
    }
    this.added(out, chunk, meta, n);
    out.byte(0x7d);
    if (r.op === 'upsert') out.ascii(',"doc_as_upsert":true}');
    else if (r.op === 'update') out.byte(0x7d);
    out.byte(0x0a);
    return true;
  }

  /** The same from the decoded entry. */
  slow(out: JsonOut, chunk: Chunk, index: ChunkIndex, b: Buffer, off: number, end: number, i: number): void {
    const entry = decode(b.subarray(off, end)) as unknown[];
    const eventTime = EventTime.from(entry[0]) ?? new EventTime(0, 0);
    const raw = entry[1];
    const record: Record<string, unknown> =
      raw && typeof raw === 'object' && !Array.isArray(raw) && !(raw instanceof Uint8Array)
        ? { ...(raw as Record<string, unknown>) }
        : { message: raw };
    const r = this.r;
    const hasTimestamp = r.timestamp && TIMESTAMP in record;
    const timeValue = !r.timestamp
      ? undefined
      : hasTimestamp
        ? record[TIMESTAMP]
        : r.timeKey
          ? record[r.timeKey]
          : undefined;
    const meta = this.meta(chunk, i, b, off, end, eventTime, record, hasTimestamp, timeValue);
    this.action(out, index, meta);
    for (const k of r.removeKeys) delete record[k];
    if (r.tagKey) delete record[r.tagKey];
    const text = recordJson(record);
    // the record without its closing brace, then the added fields
    if (r.op === 'update' || r.op === 'upsert') out.ascii('{"doc":');
    const json = Buffer.from(text.slice(0, -1));
    out.reserve(json.length);
    json.copy(out.buf, out.len);
    out.len += json.length;
    this.added(out, chunk, meta, text === '{}' ? 0 : 1);
    out.byte(0x7d);
    if (r.op === 'upsert') out.ascii(',"doc_as_upsert":true}');
    else if (r.op === 'update') out.byte(0x7d);
    out.byte(0x0a);
  }

  private meta(
    chunk: Chunk,
    i: number,
    b: Buffer,
    off: number,
    end: number,
    eventTime: EventTime,
    record: Record<string, unknown>,
    hasTimestamp: boolean,
    timeValue: unknown,
  ): DocumentMeta {
    const r = this.r;
    let time = eventTime;
    let timestamp: string | undefined;
    if (r.timestamp) {
      const parsed = timeValue === undefined ? undefined : r.parseTime(timeValue);
      if (parsed) time = parsed;
      if (!hasTimestamp) timestamp = r.formatTimestamp(time);
    }
    const parent = accessed(r.parentKey, record);
    const routing = accessed(r.routingKey, record);
    // one object, reused: the meta of a document is used before the next one is made
    const m = this.m;
    m.id = accessed(r.idKey, record);
    m.chunkId = undefined;
    if (m.id === undefined) {
      if (r.chunkIds) {
        m.chunkId = chunk.id;
        m.entry = i;
      } else m.id = r.idOf(chunk, i, b, off, end);
    }
    m.routing = routing ?? (r.parentAsRouting ? parent : undefined);
    m.parent = r.parentAsRouting ? undefined : parent;
    m.time = time;
    m.timestamp = timestamp;
    return m;
  }

  private action(out: JsonOut, index: ChunkIndex, m: DocumentMeta): void {
    const r = this.r;
    let name = index.fixed;
    if (name === undefined) {
      // logstash_format: the name changes with the date only; remembered for the last second seen
      if (m.time.sec !== this.lastSec || index.prefix !== this.lastPrefix) {
        this.lastSec = m.time.sec;
        this.lastPrefix = index.prefix;
        this.lastName = `${index.prefix}${r.indexDate ? r.indexDate(m.time) : ''}`.toLowerCase();
      }
      name = this.lastName;
    }
    this.sent.indices.push(name);
    // chunk ids are made again from the entry when a document is rejected
    this.sent.ids.push(m.id);
    out.ascii(r.op === 'upsert' ? '{"update":{"_index":' : `{"${r.op}":{"_index":`);
    text(out, name);
    if (r.typeName !== undefined) {
      out.ascii(',"_type":');
      text(out, r.typeName);
    }
    if (m.chunkId !== undefined) {
      out.ascii(',"_id":"');
      out.ascii(m.chunkId);
      out.byte(0x2d);
      out.digits(m.entry);
      out.byte(0x22);
    } else if (m.id !== undefined) {
      out.ascii(',"_id":');
      text(out, m.id);
    }
    if (m.routing !== undefined) {
      out.ascii(',"routing":');
      text(out, m.routing);
    }
    if (m.parent !== undefined) {
      out.ascii(',"_parent":');
      text(out, m.parent);
    }
    if (r.pipeline !== undefined && r.op !== 'update' && r.op !== 'upsert') {
      out.ascii(',"pipeline":');
      text(out, r.pipeline);
    }
    out.ascii('}}\n');
  }

  /** The fields Sluice adds after the record's own: @timestamp, the tag. */
  private added(out: JsonOut, chunk: Chunk, m: DocumentMeta, n: number): void {
    const r = this.r;
    if (m.timestamp !== undefined && !r.removeKeys.has(TIMESTAMP)) {
      if (n++ > 0) out.byte(0x2c);
      out.ascii('"@timestamp":');
      text(out, m.timestamp);
    }
    if (r.tagKey !== undefined && !r.removeKeys.has(r.tagKey)) {
      if (n++ > 0) out.byte(0x2c);
      text(out, r.tagKey);
      out.byte(0x3a);
      text(out, chunk.keys.tag ?? '');
    }
  }
}

/** A JS string as a JSON string: printable ASCII without quote or backslash (ids, index names) as it is. */
function text(out: JsonOut, s: string): void {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.reserve(s.length + 2);
    out.byte(0x22);
    out.ascii(s);
    out.byte(0x22);
    return;
  }
  const bytes = Buffer.from(JSON.stringify(s));
  out.reserve(bytes.length);
  bytes.copy(out.buf, out.len);
  out.len += bytes.length;
}
