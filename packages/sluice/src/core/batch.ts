import { decodeMultiple, EventTime, packr } from '@sluice/forward';

export type EventRecord = Record<string, unknown>;

/** A decoded event. Only filters and formatters that need records ever see these. */
export interface Entry {
  time: EventTime;
  record: EventRecord;
}

/**
 * A batch of events for one tag, kept as the bytes of concatenated msgpack
 * `[time, record]` entries: exactly a PackedForward payload. A relay moves these bytes
 * without decoding; `entries()` decodes once, lazily, and caches.
 */
export class EventBatch {
  private decoded: Entry[] | undefined;

  constructor(
    readonly tag: string,
    readonly bytes: Buffer,
    readonly count: number,
    decoded?: Entry[],
  ) {
    this.decoded = decoded;
  }

  static fromEntries(tag: string, entries: Entry[]): EventBatch {
    const b = new BatchBuilder();
    for (const e of entries) b.add(e.time, e.record);
    return new EventBatch(tag, b.finish(), entries.length, entries);
  }

  static single(tag: string, time: EventTime, record: EventRecord): EventBatch {
    return EventBatch.fromEntries(tag, [{ time, record }]);
  }

  /** Wraps PackedForward bytes whose entry count is not known yet (counts them by decoding). */
  static fromPacked(tag: string, bytes: Buffer, count?: number): EventBatch {
    if (count !== undefined) return new EventBatch(tag, bytes, count);
    const entries = decodeEntries(bytes);
    return new EventBatch(tag, bytes, entries.length, entries);
  }

  get size(): number {
    return this.bytes.length;
  }

  entries(): Entry[] {
    if (this.decoded === undefined) this.decoded = decodeEntries(this.bytes);
    return this.decoded;
  }

  /** Same events under another tag, sharing the bytes. */
  retag(tag: string): EventBatch {
    return new EventBatch(tag, this.bytes, this.count, this.decoded);
  }
}

export function decodeEntries(bytes: Buffer): Entry[] {
  const raw = decodeMultiple(bytes);
  const out: Entry[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const e = raw[i] as unknown[];
    if (!Array.isArray(e) || e.length < 2) throw new TypeError(`entry ${i} is not a [time, record] array`);
    const time = EventTime.from(e[0]);
    if (!time) throw new TypeError(`entry ${i} has an invalid time`);
    const record = e[1];
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new TypeError(`entry ${i} has a record that is not a map`);
    }
    out[i] = { time, record: record as EventRecord };
  }
  return out;
}

/**
 * Appends entries into one growing Buffer. Inputs on a hot path (tail, forward) use
 * `addRaw` to write pre-encoded record bytes next to a time without building objects.
 */
export class BatchBuilder {
  private buf: Buffer;
  private len = 0;
  count = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get byteLength(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Adds an entry from a decoded record. */
  add(time: EventTime, record: EventRecord): void {
    const rec = packr.pack(record);
    this.addRaw(time.sec, time.nsec, rec);
  }

  /** Adds an entry whose record is already msgpack-encoded. */
  addRaw(sec: number, nsec: number, recordBytes: Uint8Array): void {
    this.reserve(11 + recordBytes.length);
    this.buf[this.len++] = 0x92; // fixarray of 2
    this.len = EventTime.writeExt(this.buf, this.len, sec, nsec);
    this.buf.set(recordBytes, this.len);
    this.len += recordBytes.length;
    this.count++;
  }

  /** Adds already-encoded `[time, record]` entries (e.g. a slice of a PackedForward payload). */
  addEntryBytes(bytes: Uint8Array, count: number): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    this.count += count;
  }

  /** Returns the bytes so far (a copy sized to fit) and resets the builder for reuse. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    this.count = 0;
    return out;
  }

  take(tag: string): EventBatch {
    const count = this.count;
    return new EventBatch(tag, this.finish(), count);
  }
}
