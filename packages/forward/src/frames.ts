import { randomBytes } from 'node:crypto';
import { packr, unpackr } from './codec.ts';
import { ForwardProtocolError } from './errors.ts';
import { skipOne, u16, u32 } from './scan.ts';

/** The options map (4th element of a Message, 3rd of the others). */
export interface ForwardOption {
  /** number of entries (Forward/PackedForward) */
  size?: number;
  /** ack request: the server answers `{ack: chunk}` once the events are accepted */
  chunk?: string;
  /** 'gzip' (or 'zstd') marks CompressedPackedForward */
  compressed?: string;
  /** Fluent Bit: 0 logs, 1 metrics, 2 traces */
  fluent_signal?: number;
  [k: string]: unknown;
}

export type Mode = 'message' | 'forward' | 'packed' | 'compressed';

/**
 * An event frame with its entries as PackedForward bytes (concatenated msgpack
 * `[time, record]`), never decoded records. For 'compressed', `entries` is still compressed
 * and `count` is unknown (-1) until decompressed and counted by the caller.
 */
export interface EventFrame {
  mode: Mode;
  tag: string;
  entries: Buffer;
  count: number;
  option: ForwardOption | undefined;
}

export interface EntryCheck {
  /** drop invalid entries instead of rejecting the frame (Fluentd's skip_invalid_event) */
  skipInvalid?: boolean;
  /** called once per dropped entry */
  onInvalid?: (index: number, reason: string) => void;
  /** seconds used for entries whose time is nil or 0 (Fluentd substitutes "now") */
  now?: () => { sec: number; nsec: number };
}

/** Decodes the structure of a complete frame; entry bytes are validated but not decoded. */
export function parseEventFrame(frame: Buffer, check: EntryCheck = {}): EventFrame {
  const end = frame.length;
  let pos = 0;
  const [n, hlen] = arrayHeader(frame, pos);
  if (n < 2 || n > 4)
    throw new ForwardProtocolError('BAD_FRAME', `a forward frame has 2 to 4 elements, got ${n}`);
  pos += hlen;
  const tagEnd = skipOne(frame, pos, end);
  const tag = readStr(frame, pos, tagEnd);
  if (tag === undefined)
    throw new ForwardProtocolError('BAD_TAG', 'the tag (first element) must be a string');
  if (tag.length === 0) throw new ForwardProtocolError('BAD_TAG', 'the tag is empty');
  pos = tagEnd;
  const b = frame[pos]!;
  const valueEnd = skipOne(frame, pos, end);
  let option: ForwardOption | undefined;
  const readOption = (at: number) => {
    if (at >= end) return;
    const o = unpackr.unpack(frame.subarray(at, skipOne(frame, at, end)));
    if (o === null || o === undefined) return;
    if (typeof o !== 'object' || Array.isArray(o))
      throw new ForwardProtocolError('BAD_OPTION', 'the option element must be a map');
    option = o as ForwardOption;
    if (option.chunk !== undefined && typeof option.chunk !== 'string') {
      throw new ForwardProtocolError('BAD_OPTION', "option 'chunk' must be a string");
    }
    if (option.compressed !== undefined && typeof option.compressed !== 'string') {
      throw new ForwardProtocolError('BAD_OPTION', "option 'compressed' must be a string");
    }
  };

  if (isStrOrBin(b)) {
    // PackedForward / CompressedPackedForward: hand the payload through as is.
    if (n > 3)
      throw new ForwardProtocolError('BAD_FRAME', `a PackedForward frame has 2 or 3 elements, got ${n}`);
    const [off, len] = rawBounds(frame, pos);
    readOption(valueEnd);
    const entries = frame.subarray(off, off + len);
    const codec = option?.compressed;
    if (codec !== undefined && codec !== 'text') {
      return { mode: 'compressed', tag, entries, count: -1, option };
    }
    const checked = checkEntries(entries, check);
    return { mode: 'packed', tag, entries: checked.bytes, count: checked.count, option };
  }
  if (isArrayByte(b)) {
    // Forward: the array's elements laid end to end are already PackedForward bytes.
    if (n > 3) throw new ForwardProtocolError('BAD_FRAME', `a Forward frame has 2 or 3 elements, got ${n}`);
    const [, alen] = arrayHeader(frame, pos);
    readOption(valueEnd);
    const checked = checkEntries(frame.subarray(pos + alen, valueEnd), check);
    return { mode: 'forward', tag, entries: checked.bytes, count: checked.count, option };
  }
  // Message: [tag, time, record, option?]; the entry is 0x92 + the time and record bytes.
  if (n < 3) throw new ForwardProtocolError('BAD_FRAME', 'a Message frame needs a time and a record');
  const recordEnd = skipOne(frame, valueEnd, end);
  if (n === 4) readOption(recordEnd);
  const entry = Buffer.allocUnsafe(1 + recordEnd - pos);
  entry[0] = 0x92;
  frame.copy(entry, 1, pos, recordEnd);
  const checked = checkEntries(entry, check);
  if (checked.count === 0) return { mode: 'message', tag, entries: checked.bytes, count: 0, option };
  return { mode: 'message', tag, entries: checked.bytes, count: 1, option };
}

/**
 * Validates concatenated `[time, record]` entries: time is EventTime (ext 0), an integer
 * or a float; record is a map. Returns the count and the bytes to keep: the same buffer
 * when nothing needed fixing, else a rebuilt one (invalid entries dropped when skipInvalid,
 * nil/0 times replaced by now, Fluent Bit's `[[time, metadata], record]` flattened).
 */
export function checkEntries(bytes: Buffer, check: EntryCheck = {}): { bytes: Buffer; count: number } {
  const end = bytes.length;
  let pos = 0;
  let count = 0;
  let index = 0;
  let parts: Buffer[] | undefined; // set once a rewrite is needed
  let keptFrom = 0; // start of the run of entries copied unchanged
  const startRewrite = (entryStart: number) => {
    parts ??= [];
    if (entryStart > keptFrom) parts.push(bytes.subarray(keptFrom, entryStart));
  };
  while (pos < end) {
    const entryStart = pos;
    let reason: string | undefined;
    let fixed: Buffer | undefined;
    let entryEnd: number;
    try {
      entryEnd = skipOne(bytes, pos, end);
    } catch (e) {
      throw new ForwardProtocolError('BAD_ENTRY', `entry ${index}: ${(e as Error).message}`);
    }
    const [n, hlen] = arrayHeaderOrNeg(bytes, pos);
    if (n !== 2) reason = 'is not a [time, record] array';
    else {
      const timeAt = pos + hlen;
      const timeEnd = skipOne(bytes, timeAt, entryEnd);
      const recordAt = timeEnd;
      const t = bytes[timeAt]!;
      if (!isMapByte(bytes[recordAt]!)) reason = 'has a record that is not a map';
      else if (isTimeByte(bytes, timeAt)) {
        if (check.now && t !== 0xd7 && isZeroTime(bytes, timeAt))
          fixed = withTime(check.now(), bytes.subarray(recordAt, entryEnd));
        else if (hlen !== 1 || t === 0xc7) {
          // Valid but not the canonical form every Sluice batch is written in: an array16/32
          // entry header (Fluent Bit writes `dd 00 00 00 02`) or an EventTime as ext8. The
          // entry is rewritten as fixarray + fixext8 (only then, so the common encoding is
          // kept as it came), because batch readers take fast paths on `0x92 d7 00` (time
          // keys, JSON bodies, out_forward's time_as_integer) and the buffer counts entries.
          fixed = canonicalEntry(bytes.subarray(timeAt, timeEnd), bytes.subarray(recordAt, entryEnd));
        }
      } else if (t === 0xc0) {
        fixed = withTime(check.now ? check.now() : nowTime(), bytes.subarray(recordAt, entryEnd));
      } else if (
        arrayHeaderOrNeg(bytes, timeAt)[0] === 2 &&
        isTimeByte(bytes, timeAt + arrayHeaderOrNeg(bytes, timeAt)[1])
      ) {
        const inner = timeAt + arrayHeaderOrNeg(bytes, timeAt)[1];
        const innerEnd = skipOne(bytes, inner, timeEnd);
        fixed = canonicalEntry(bytes.subarray(inner, innerEnd), bytes.subarray(recordAt, entryEnd));
      } else reason = 'has a time that is not an EventTime, integer or float';
    }
    if (reason !== undefined) {
      if (!check.skipInvalid) throw new ForwardProtocolError('BAD_ENTRY', `entry ${index} ${reason}`);
      check.onInvalid?.(index, reason);
      startRewrite(entryStart);
      keptFrom = entryEnd;
    } else if (fixed) {
      startRewrite(entryStart);
      parts!.push(fixed);
      keptFrom = entryEnd;
      count++;
    } else count++;
    pos = entryEnd;
    index++;
  }
  if (!parts) return { bytes, count };
  if (keptFrom < end) parts.push(bytes.subarray(keptFrom, end));
  return { bytes: Buffer.concat(parts), count };
}

function nowTime(): { sec: number; nsec: number } {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

function withTime(t: { sec: number; nsec: number }, record: Buffer): Buffer {
  const out = Buffer.allocUnsafe(11 + record.length);
  out[0] = 0x92;
  out[1] = 0xd7;
  out[2] = 0x00;
  out.writeUInt32BE(t.sec >>> 0, 3);
  out.writeUInt32BE(t.nsec >>> 0, 7);
  record.copy(out, 11);
  return out;
}

/** `[time, record]` as fixarray 2, with an EventTime as fixext8 (ext8 of 8 bytes rewritten). */
function canonicalEntry(time: Buffer, record: Buffer): Buffer {
  if (time[0] === 0xc7) {
    const out = Buffer.allocUnsafe(11 + record.length);
    out[0] = 0x92;
    out[1] = 0xd7;
    out[2] = 0x00;
    time.copy(out, 3, 3, 11);
    record.copy(out, 11);
    return out;
  }
  const out = Buffer.allocUnsafe(1 + time.length + record.length);
  out[0] = 0x92;
  time.copy(out, 1);
  record.copy(out, 1 + time.length);
  return out;
}

/**
 * Whether a time (integer of any width, float, nil) has 0 whole seconds: Fluentd's in_forward
 * replaces such a time by now (`time.to_i == 0`). An EventTime is kept as sent.
 */
function isZeroTime(b: Buffer, at: number): boolean {
  const t = b[at]!;
  if (t === 0x00 || t === 0xc0) return true;
  if (t <= 0x7f || t >= 0xe0) return false;
  switch (t) {
    case 0xcc:
    case 0xd0:
      return b[at + 1] === 0;
    case 0xcd:
    case 0xd1:
      return b.readUInt16BE(at + 1) === 0;
    case 0xce:
    case 0xd2:
      return b.readUInt32BE(at + 1) === 0;
    case 0xcf:
    case 0xd3:
      return b.readUInt32BE(at + 1) === 0 && b.readUInt32BE(at + 5) === 0;
    case 0xca:
      return Math.trunc(b.readFloatBE(at + 1)) === 0;
    case 0xcb:
      return Math.trunc(b.readDoubleBE(at + 1)) === 0;
    default:
      return false;
  }
}

function isTimeByte(b: Buffer, at: number): boolean {
  const t = b[at]!;
  if (t <= 0x7f) return true; // positive fixint
  if (t >= 0xcc && t <= 0xcf) return true; // uint
  if (t >= 0xd0 && t <= 0xd3) return true; // int (Fluentd accepts; negative times are the sender's problem)
  if (t === 0xca || t === 0xcb) return true; // float
  if (t === 0xd7 && b[at + 1] === 0x00) return true; // fixext8 type 0: EventTime
  if (t === 0xc7 && b[at + 1] === 8 && b[at + 2] === 0x00) return true; // ext8 len 8 type 0
  return false;
}

function isMapByte(b: number): boolean {
  return (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
}

function isArrayByte(b: number): boolean {
  return (b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd;
}

function isStrOrBin(b: number): boolean {
  return (
    (b >= 0xa0 && b <= 0xbf) ||
    b === 0xd9 ||
    b === 0xda ||
    b === 0xdb ||
    b === 0xc4 ||
    b === 0xc5 ||
    b === 0xc6
  );
}

function arrayHeaderOrNeg(b: Buffer, at: number): [number, number] {
  const t = b[at]!;
  if (t >= 0x90 && t <= 0x9f) return [t & 0x0f, 1];
  if (t === 0xdc) return [u16(b, at + 1), 3];
  if (t === 0xdd) return [u32(b, at + 1), 5];
  return [-1, 0];
}

function arrayHeader(b: Buffer, at: number): [number, number] {
  const r = arrayHeaderOrNeg(b, at);
  if (r[0] < 0) throw new ForwardProtocolError('NOT_AN_ARRAY', 'a forward frame must be a msgpack array');
  return r;
}

/** Offset and length of a str/bin payload whose header is at `at`. */
function rawBounds(b: Buffer, at: number): [number, number] {
  const t = b[at]!;
  if (t >= 0xa0 && t <= 0xbf) return [at + 1, t & 0x1f];
  if (t === 0xd9 || t === 0xc4) return [at + 2, b[at + 1]!];
  if (t === 0xda || t === 0xc5) return [at + 3, u16(b, at + 1)];
  return [at + 5, u32(b, at + 1)];
}

function readStr(b: Buffer, at: number, end: number): string | undefined {
  const t = b[at]!;
  if (!((t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb)) return undefined;
  const [off, len] = rawBounds(b, at);
  if (off + len !== end) return undefined;
  return b.toString('utf8', off, off + len);
}

// ---- encoders -------------------------------------------------------------------------

/** A new chunk id for ack requests: 16 random bytes, base64 (as Fluentd and fluent-logger). */
export function newChunkId(): string {
  return randomBytes(16).toString('base64');
}

function strHeader(len: number): Buffer {
  if (len < 32) return Buffer.from([0xa0 | len]);
  if (len < 0x100) return Buffer.from([0xd9, len]);
  if (len < 0x10000) return Buffer.from([0xda, len >> 8, len & 0xff]);
  const h = Buffer.allocUnsafe(5);
  h[0] = 0xdb;
  h.writeUInt32BE(len, 1);
  return h;
}

function binHeader(len: number): Buffer {
  if (len < 0x100) return Buffer.from([0xc4, len]);
  if (len < 0x10000) return Buffer.from([0xc5, len >> 8, len & 0xff]);
  const h = Buffer.allocUnsafe(5);
  h[0] = 0xc6;
  h.writeUInt32BE(len, 1);
  return h;
}

/**
 * A PackedForward (or, with option.compressed, CompressedPackedForward) message as parts
 * to write in order (cork/writev), so the entry bytes are never copied.
 */
export function packedForwardParts(tag: string, entries: Buffer, option: ForwardOption): Buffer[] {
  const tagBytes = Buffer.from(tag, 'utf8');
  const head = Buffer.concat([
    Buffer.from([0x93]),
    strHeader(tagBytes.length),
    tagBytes,
    binHeader(entries.length),
  ]);
  return [head, entries, packr.pack(option)];
}

export function encodePackedForward(tag: string, entries: Buffer, option: ForwardOption): Buffer {
  return Buffer.concat(packedForwardParts(tag, entries, option));
}

/** A Message-mode frame: [tag, time, record, option?]. */
export function encodeMessage(
  tag: string,
  time: unknown,
  record: Record<string, unknown>,
  option?: ForwardOption,
): Buffer {
  return packr.pack(option ? [tag, time, record, option] : [tag, time, record]);
}

/** A Forward-mode frame: [tag, [[time, record], ...], option?]. */
export function encodeForward(tag: string, entries: [unknown, object][], option?: ForwardOption): Buffer {
  return packr.pack(option ? [tag, entries, option] : [tag, entries]);
}

export function encodeAck(chunk: string): Buffer {
  return packr.pack({ ack: chunk });
}

/** The chunk id of an ack response, or undefined when the value is not one. */
export function parseAck(value: unknown): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const ack = (value as { ack?: unknown }).ack;
    if (typeof ack === 'string') return ack;
  }
  return undefined;
}
