import { decodeMultiple, EventTime } from '@sluice/forward';
import { EntryWriter } from './entry-writer.ts';
import { withCode } from './errors.ts';
import type { Entry, EventRecord } from './event.ts';

export type { Entry, EventRecord };

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
    const b = new EntryWriter();
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
    // Inputs check entries before they make a batch: a bad one here is a bug (INTERNAL).
    if (!Array.isArray(e) || e.length < 2)
      throw withCode(new TypeError(`entry ${i} is not a [time, record] array`), 'INTERNAL');
    const time = EventTime.from(e[0]);
    if (!time) throw withCode(new TypeError(`entry ${i} has an invalid time`), 'INTERNAL');
    const record = e[1];
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw withCode(new TypeError(`entry ${i} has a record that is not a map`), 'INTERNAL');
    }
    out[i] = { time, record: record as EventRecord };
  }
  return out;
}
