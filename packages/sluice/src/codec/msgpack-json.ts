// JSON text straight from a chunk's msgpack bytes, for outputs that send records as JSON
// (out_http's default body). Decoding a chunk into objects and stringifying them made
// several short-lived objects and strings per event: the heap grew large under load and
// that step was most of out_http's CPU (bench/RESULTS.md, "Issue 7, second pass"). No
// library transcodes msgpack to JSON without building values, so this walks the bytes
// itself. What it does not take on
// (float32, ext values, non-string map keys, strings that are not valid UTF-8) goes,
// one entry at a time, through the decoder and recordJson, so the output is what
// recordJson gives for every record.
import { isUtf8 } from 'node:buffer';
import { decode } from '@sluice/forward';
import { SluiceError } from '../core/errors.ts';
import { recordJson } from './json.ts';
import { skipValue } from './msgpack-scan.ts';

/** A value this walker leaves to the general path. */
const GIVE_UP = -1;
const HEX = '0123456789abcdef';
const TWO_32 = 2 ** 32;

/** Growing output buffer of JSON bytes. */
class Out {
  buf: Buffer;
  len = 0;

  constructor(size: number, scratch?: Buffer) {
    this.buf = scratch && scratch.length >= size ? scratch : Buffer.allocUnsafeSlow(Math.max(64, size));
  }

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(c: number): void {
    this.reserve(1);
    this.buf[this.len++] = c;
  }

  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }

  /** A non-negative integer below 2^53 as decimal digits. */
  digits(n: number): void {
    let count = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) count++;
    this.reserve(count);
    const b = this.buf;
    let o = this.len + count;
    this.len = o;
    do {
      b[--o] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }
}

const u16 = (b: Buffer, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Buffer, o: number) => b.readUInt32BE(o);

function integer(out: Out, v: number): void {
  if (v < 0) {
    out.byte(45);
    out.digits(-v);
  } else out.digits(v);
}

/** A double as JSON.stringify writes it: shortest round-trip digits, null for NaN and infinities. */
function double(out: Out, v: number): void {
  if (Number.isInteger(v) && Math.abs(v) < 2 ** 53 && !Object.is(v, -0)) integer(out, v);
  else out.ascii(Number.isFinite(v) ? String(v) : 'null');
}

/** A JSON string of UTF-8 bytes b[s, e); GIVE_UP when they are not valid UTF-8. */
function string(out: Out, b: Buffer, s: number, e: number): number {
  if (e - s > 128) return longString(out, b, s, e);
  // Short strings (most keys and values): copy and escape in one pass. A native copy per
  // string costs more than this loop at these lengths.
  out.reserve((e - s) * 6 + 2);
  const ob = out.buf;
  let o = out.len;
  let high = 0;
  ob[o++] = 0x22;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
      ob[o++] = c;
      high |= c;
    } else o = writeEscape(ob, o, c);
  }
  ob[o++] = 0x22;
  if (high >= 0x80 && !isUtf8(b.subarray(s, e))) return GIVE_UP;
  out.len = o;
  return e;
}

function longString(out: Out, b: Buffer, s: number, e: number): number {
  let specials = 0;
  let high = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c) specials++;
    high |= c;
  }
  if (high >= 0x80 && !isUtf8(b.subarray(s, e))) return GIVE_UP;
  out.reserve(e - s + specials * 5 + 2);
  const ob = out.buf;
  let o = out.len;
  ob[o++] = 0x22;
  if (specials === 0) {
    b.copy(ob, o, s, e);
    o += e - s;
  } else {
    for (let i = s; i < e; i++) {
      const c = b[i]!;
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) ob[o++] = c;
      else o = writeEscape(ob, o, c);
    }
  }
  ob[o++] = 0x22;
  out.len = o;
  return e;
}

/** JSON.stringify's escape of a control character, quote or backslash. */
function writeEscape(ob: Buffer, o: number, c: number): number {
  ob[o++] = 0x5c;
  if (c === 0x22 || c === 0x5c) ob[o++] = c;
  else if (c === 0x08) ob[o++] = 0x62;
  else if (c === 0x09) ob[o++] = 0x74;
  else if (c === 0x0a) ob[o++] = 0x6e;
  else if (c === 0x0c) ob[o++] = 0x66;
  else if (c === 0x0d) ob[o++] = 0x72;
  else {
    ob[o++] = 0x75;
    ob[o++] = 0x30;
    ob[o++] = 0x30;
    ob[o++] = HEX.charCodeAt(c >> 4);
    ob[o++] = HEX.charCodeAt(c & 15);
  }
  return o;
}

/**
 * Writes the JSON of the msgpack value at b[off] and returns the offset after it, or
 * GIVE_UP. Recursion depth is bounded by the chunk's own nesting, which the buffer
 * accepted from msgpack the decoder read.
 */
function value(out: Out, b: Buffer, off: number, end: number): number {
  if (off >= end) return GIVE_UP;
  const t = b[off]!;
  if (t <= 0x7f) {
    out.digits(t);
    return off + 1;
  }
  if (t >= 0xe0) {
    integer(out, t - 0x100);
    return off + 1;
  }
  if (t <= 0x8f) return map(out, b, off + 1, t & 0x0f, end);
  if (t <= 0x9f) return array(out, b, off + 1, t & 0x0f, end);
  if (t <= 0xbf) return checked(string(out, b, off + 1, off + 1 + (t & 0x1f)), end);
  switch (t) {
    case 0xc0:
      out.ascii('null');
      return off + 1;
    case 0xc2:
      out.ascii('false');
      return off + 1;
    case 0xc3:
      out.ascii('true');
      return off + 1;
    // bin: recordJson writes a Buffer as its UTF-8 text
    case 0xc4:
    case 0xd9:
      return checked(string(out, b, off + 2, off + 2 + b[off + 1]!), end);
    case 0xc5:
    case 0xda:
      return checked(string(out, b, off + 3, off + 3 + u16(b, off + 1)), end);
    case 0xc6:
    case 0xdb:
      return checked(string(out, b, off + 5, off + 5 + u32(b, off + 1)), end);
    case 0xcb:
      double(out, b.readDoubleBE(off + 1));
      return off + 9;
    case 0xcc:
      out.digits(b[off + 1]!);
      return off + 2;
    case 0xcd:
      out.digits(u16(b, off + 1));
      return off + 3;
    case 0xce:
      out.digits(u32(b, off + 1));
      return off + 5;
    case 0xcf: {
      const hi = u32(b, off + 1);
      // Beyond 2^53 the decoder makes a BigInt, which recordJson writes as exact digits.
      if (hi < 0x200000) out.digits(hi * TWO_32 + u32(b, off + 5));
      else out.ascii(b.readBigUInt64BE(off + 1).toString());
      return off + 9;
    }
    case 0xd0:
      integer(out, b.readInt8(off + 1));
      return off + 2;
    case 0xd1:
      integer(out, b.readInt16BE(off + 1));
      return off + 3;
    case 0xd2:
      integer(out, b.readInt32BE(off + 1));
      return off + 5;
    case 0xd3: {
      const v = b.readBigInt64BE(off + 1);
      out.ascii(v.toString());
      return off + 9;
    }
    case 0xdc:
      return array(out, b, off + 3, u16(b, off + 1), end);
    case 0xdd:
      return array(out, b, off + 5, u32(b, off + 1), end);
    case 0xde:
      return map(out, b, off + 3, u16(b, off + 1), end);
    case 0xdf:
      return map(out, b, off + 5, u32(b, off + 1), end);
    default:
      // float32 (the decoder rounds it to its own digits), ext types, 0xc1
      return GIVE_UP;
  }
}

function checked(next: number, end: number): number {
  return next > end ? GIVE_UP : next;
}

function array(out: Out, b: Buffer, off: number, n: number, end: number): number {
  out.byte(0x5b);
  for (let i = 0; i < n; i++) {
    if (i > 0) out.byte(0x2c);
    off = value(out, b, off, end);
    if (off < 0) return GIVE_UP;
  }
  out.byte(0x5d);
  return off;
}

function map(out: Out, b: Buffer, off: number, n: number, end: number): number {
  out.byte(0x7b);
  for (let i = 0; i < n; i++) {
    if (i > 0) out.byte(0x2c);
    const k = b[off]!;
    // Keys must be strings: other keys are stringified by the decoder's object rules.
    if (!((k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb)) return GIVE_UP;
    off = value(out, b, off, end);
    if (off < 0) return GIVE_UP;
    out.byte(0x3a);
    off = value(out, b, off, end);
    if (off < 0) return GIVE_UP;
  }
  out.byte(0x7d);
  return off;
}

/**
 * The records of concatenated `[time, record]` entries as JSON texts, each followed by
 * `sep` (newline for JSON lines, comma for an array: the caller trims the last one).
 * Duplicate keys in one msgpack map are written as they come; the decoded path kept the
 * last value only (JSON readers do the same when they parse it). The result is a view
 * of `scratch` when that is large enough, else of a buffer of its own (see BufferPool).
 */
export function recordsJson(bytes: Buffer, sep: number, scratch?: Buffer): Buffer {
  const out = new Out(Math.ceil(bytes.length * 1.3) + 64, scratch);
  const end = bytes.length;
  let off = 0;
  while (off < end) {
    const entryEnd = skipValue(bytes, off, end);
    if (entryEnd < 0)
      throw new SluiceError('CHUNK_BROKEN_ENTRY', `chunk holds a broken msgpack entry at byte ${off}`);
    const mark = out.len;
    let next = GIVE_UP;
    if (bytes[off] === 0x92) {
      const rec = skipValue(bytes, off + 1, entryEnd);
      if (rec > 0) next = value(out, bytes, rec, entryEnd);
    }
    if (next !== entryEnd) {
      out.len = mark;
      const entry = decode(bytes.subarray(off, entryEnd)) as unknown[];
      const text = Buffer.from(recordJson(entry[1]));
      out.reserve(text.length);
      text.copy(out.buf, out.len);
      out.len += text.length;
    }
    out.byte(sep);
    off = entryEnd;
  }
  return out.buf.subarray(0, out.len);
}

/**
 * The walker's pieces, for outputs that write JSON of their own shape from a chunk's msgpack
 * (out_elasticsearch's bulk body: an action line, then the record with fields added or left out).
 */
export { GIVE_UP as JSON_GIVE_UP, Out as JsonOut, string as writeJsonString, value as writeJsonValue };
