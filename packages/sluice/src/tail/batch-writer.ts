import { EventBatch } from '../core/batch.ts';

/**
 * Writes `[time, record]` msgpack entries straight into one growing Buffer, so a line
 * becomes entry bytes without a per-line object, string or Buffer: the record's map
 * header and key are precomputed, the line's bytes are copied after a str header.
 */
export class BatchWriter {
  buf: Buffer;
  len = 0;
  count = 0;

  constructor(initial = 256 * 1024) {
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
    const b = this.buf;
    let o = this.len;
    b[o++] = 0x92;
    b[o++] = 0xd7;
    b[o++] = 0x00;
    b.writeUInt32BE(sec >>> 0, o);
    b.writeUInt32BE(nsec >>> 0, o + 4);
    this.len = o + 8;
    this.count++;
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
    const b = this.buf;
    let o = this.len;
    if (n < 32) b[o++] = 0xa0 | n;
    else if (n < 0x100) {
      b[o++] = 0xd9;
      b[o++] = n;
    } else if (n < 0x10000) {
      b[o++] = 0xda;
      b[o++] = n >>> 8;
      b[o++] = n & 0xff;
    } else {
      b[o++] = 0xdb;
      b.writeUInt32BE(n, o);
      o += 4;
    }
    src.copy(b, o, start, end);
    this.len = o + n;
  }

  /** Rolls back to a mark (an entry that turned out unusable). */
  rollback(len: number, count: number): void {
    this.len = len;
    this.count = count;
  }

  /** The batch so far, as an EventBatch that owns its bytes; the writer is reset for reuse. */
  take(tag: string): EventBatch {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    const batch = new EventBatch(tag, out, this.count);
    this.len = 0;
    this.count = 0;
    return batch;
  }
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
  const w = new BatchWriter(body.length + 8);
  w.str(body, 0, body.length);
  return w.buf.subarray(0, w.len);
}
