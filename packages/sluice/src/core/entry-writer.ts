import { EventTime, packr } from '@sluice/forward';
import type { EventRecord } from './event.ts';

/** Encoded map keys: parsers give the same few keys on every line. Bounded, for CSV-like key churn. */
const keyCache = new Map<string, Buffer>();
const KEY_CACHE_MAX = 4096;
const TWO_32 = 2 ** 32;

/**
 * Writes `[time, record]` msgpack entries straight into one growing Buffer: the one
 * builder of batch bytes for every input and filter. A line or a request becomes entry
 * bytes without a per-event object, string or Buffer where the caller can give bytes
 * (precomputed map headers and keys, `str()` of a slice); decoded records go through
 * `record()`, which writes flat records itself and only hands nested values to msgpackr.
 */
export class EntryWriter {
  buf: Buffer;
  len = 0;
  count = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Starts an entry: fixarray(2) + EventTime ext. The caller then writes one record map. */
  beginEntry(sec: number, nsec: number): void {
    this.reserve(11);
    this.buf[this.len] = 0x92;
    this.len = EventTime.writeExt(this.buf, this.len + 1, sec, nsec);
    this.count++;
  }

  /** Adds an entry from a decoded record. */
  add(time: EventTime, record: EventRecord): void {
    this.beginEntry(time.sec, time.nsec);
    this.record(record);
  }

  /** Adds an entry whose record is already msgpack-encoded. */
  addRaw(sec: number, nsec: number, recordBytes: Uint8Array): void {
    this.beginEntry(sec, nsec);
    this.raw(recordBytes);
  }

  /** Adds already-encoded `[time, record]` entries (e.g. a slice of a PackedForward payload). */
  addEntryBytes(bytes: Uint8Array, count: number): void {
    this.raw(bytes);
    this.count += count;
  }

  /** Copies bytes that are already msgpack (a precomputed header, a packed record). */
  raw(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.reserve(n);
    this.buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), this.len);
    this.len += n;
  }

  /** Writes a msgpack str of `src[start, end)` (bytes taken as UTF-8, not validated). */
  str(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.reserve(n + 5);
    const o = strHeaderAt(this.buf, this.len, n);
    // Buffer#copy of a slice wraps it in a new view and checks bounds on every call, which
    // showed in the tail -> forward profile at one call per line (bench/RESULTS.md,
    // "Issue 7, third pass").
    this.buf.set(new Uint8Array(src.buffer, src.byteOffset + start, n), o);
    this.len = o + n;
  }

  /** Writes the header of a msgpack str of `n` bytes; the caller writes the bytes. */
  strHeader(n: number): void {
    this.reserve(5);
    this.len = strHeaderAt(this.buf, this.len, n);
  }

  /**
   * Writes a record as a msgpack map. Parsers make flat records of strings, numbers,
   * booleans and nulls: those are written here with cached key bytes, which is several
   * times cheaper than a general encoder per line. Nested values go through msgpackr.
   */
  record(rec: Record<string, unknown>): void {
    const keys = Object.keys(rec);
    const n = keys.length;
    this.reserve(5);
    let o = this.len;
    const b = this.buf;
    if (n < 16) b[o++] = 0x80 | n;
    else if (n < 0x10000) {
      b[o++] = 0xde;
      b[o++] = n >>> 8;
      b[o++] = n & 0xff;
    } else {
      b[o++] = 0xdf;
      b.writeUInt32BE(n, o);
      o += 4;
    }
    this.len = o;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      let kb = keyCache.get(k);
      if (kb === undefined) {
        if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
        kb = strBytes(k);
        keyCache.set(k, kb);
      }
      // Keys are a few bytes: a loop beats TypedArray#set's call overhead.
      const m = kb.length;
      this.reserve(m);
      const b = this.buf;
      const o = this.len;
      for (let j = 0; j < m; j++) b[o + j] = kb[j]!;
      this.len = o + m;
      this.value(rec[k]);
    }
  }

  /** One msgpack value; the types parsers produce are written directly. */
  value(v: unknown): void {
    if (typeof v === 'string') this.string(v);
    else if (typeof v === 'number') this.number(v);
    else if (v === null || v === undefined) this.byte(0xc0);
    else if (v === true) this.byte(0xc3);
    else if (v === false) this.byte(0xc2);
    else this.raw(packr.pack(v));
  }

  private byte(x: number): void {
    this.reserve(1);
    this.buf[this.len++] = x;
  }

  /** A number as the smallest msgpack int, or a float64 when it is not a safe integer. */
  number(v: number): void {
    this.reserve(9);
    const b = this.buf;
    let o = this.len;
    if (Number.isInteger(v) && Number.isSafeInteger(v)) {
      if (v >= 0) o = uintAt(b, o, v);
      else if (v >= -32) b[o++] = v & 0xff;
      else if (v >= -0x80) {
        b[o++] = 0xd0;
        b.writeInt8(v, o++);
      } else if (v >= -0x8000) {
        b[o++] = 0xd1;
        b.writeInt16BE(v, o);
        o += 2;
      } else if (v >= -0x80000000) {
        b[o++] = 0xd2;
        b.writeInt32BE(v, o);
        o += 4;
      } else {
        b[o++] = 0xd3;
        b.writeBigInt64BE(BigInt(v), o);
        o += 8;
      }
    } else {
      // Fractions, NaN, Infinity and integers beyond 2^53 stay doubles (-0 is written as 0, as msgpackr does).
      b[o++] = 0xcb;
      b.writeDoubleBE(v, o);
      o += 8;
    }
    this.len = o;
  }

  /** A msgpack str of a JS string, encoded in place (no intermediate Buffer). */
  string(s: string): void {
    const chars = s.length;
    this.reserve(chars * 3 + 5);
    const b = this.buf;
    const o = this.len;
    // Room for the header the worst case needs; moved down when the bytes turn out fewer.
    const room = chars < 32 ? 1 : chars * 3 < 0x100 ? 2 : chars * 3 < 0x10000 ? 3 : 5;
    const n = chars < 64 ? utf8Short(s, b, o + room) : b.write(s, o + room);
    const head = strHeaderSize(n);
    if (head !== room) b.copyWithin(o + head, o + room, o + room + n);
    strHeaderAt(b, o, n);
    this.len = o + head + n;
  }

  /** Rolls back to a mark (an entry that turned out unusable). */
  rollback(len: number, count: number): void {
    this.len = len;
    this.count = count;
  }

  /** Returns the bytes so far (a copy sized to fit) and resets the builder for reuse. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    this.count = 0;
    return out;
  }
}

/** Writes a non-negative safe integer as the smallest msgpack uint at b[o] (which must have room for 9 bytes); returns the offset after it. */
export function uintAt(b: Buffer, o: number, v: number): number {
  if (v < 0x80) b[o++] = v;
  else if (v < 0x100) {
    b[o++] = 0xcc;
    b[o++] = v;
  } else if (v < 0x10000) {
    b[o++] = 0xcd;
    b.writeUInt16BE(v, o);
    o += 2;
  } else if (v < TWO_32) {
    b[o++] = 0xce;
    b.writeUInt32BE(v, o);
    o += 4;
  } else {
    b[o++] = 0xcf;
    b.writeUInt32BE(Math.floor(v / TWO_32), o);
    b.writeUInt32BE(v >>> 0, o + 4);
    o += 8;
  }
  return o;
}

/** Bytes of the msgpack str header for `n` bytes. */
export function strHeaderSize(n: number): number {
  return n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes a msgpack str header for `n` bytes at b[o] (which must have room); returns the offset after it. */
export function strHeaderAt(b: Buffer, o: number, n: number): number {
  if (n < 32) b[o++] = 0xa0 | n;
  else if (n < 0x100) {
    b[o++] = 0xd9;
    b[o++] = n;
  } else if (n < 0x10000) {
    b[o++] = 0xda;
    b.writeUInt16BE(n, o);
    o += 2;
  } else {
    b[o++] = 0xdb;
    b.writeUInt32BE(n, o);
    o += 4;
  }
  return o;
}

/** msgpack header of a map with `n` entries. */
export function mapHeader(n: number): Buffer {
  if (n < 16) return Buffer.from([0x80 | n]);
  const b = Buffer.allocUnsafe(3);
  b[0] = 0xde;
  b.writeUInt16BE(n, 1);
  return b;
}

/** msgpack str of a JS string (used once per key at setup, never per line). */
export function strBytes(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const w = new EntryWriter(body.length + 8);
  w.str(body, 0, body.length);
  return w.buf.subarray(0, w.len);
}

/**
 * UTF-8 of a short string written with a JS loop: for a few dozen characters this beats
 * the native Buffer#write call. Lone surrogates become U+FFFD, as Buffer#write does.
 */
function utf8Short(s: string, b: Buffer, start: number): number {
  let o = start;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) b[o++] = c;
    else if (c < 0x800) {
      b[o++] = 0xc0 | (c >> 6);
      b[o++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = s.charCodeAt(i + 1);
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          b[o++] = 0xf0 | (c >> 18);
          b[o++] = 0x80 | ((c >> 12) & 0x3f);
          b[o++] = 0x80 | ((c >> 6) & 0x3f);
          b[o++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      b[o++] = 0xe0 | (c >> 12);
      b[o++] = 0x80 | ((c >> 6) & 0x3f);
      b[o++] = 0x80 | (c & 0x3f);
    }
  }
  return o - start;
}
