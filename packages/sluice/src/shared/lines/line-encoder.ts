import { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import {
  type BatchBuilder,
  mapHeader,
  strBytes,
  strHeaderAt,
  strHeaderSize,
} from '../../core/batch-builder.ts';
import { SluiceError } from '../../core/errors.ts';
import { iconvLite } from '../../core/lazy-require.ts';
import type { ParserPlugin } from '../../core/plugin.ts';
import type { SluiceParser } from '../parse/common.ts';
import { JsonTranscoder } from './json-msgpack.ts';

/** What an encoder needs to know about the file a line came from. */
export interface LineSource {
  path: string;
  tag: string;
  /** msgpack str of `path` (for path_key), computed once per file */
  pathStr: Buffer;
  /** msgpack path_key + path pair, cached by encoders that append it */
  pathPair?: Buffer;
}

type Parsed = NonNullable<ReturnType<ParserPlugin['parse']>>;

/** Where lines that no parser matched go (emit_unmatched_lines off): the @ERROR route. */
export type UnmatchedSink = (tag: string, time: EventTime, record: EventRecord, error: Error) => void;

export interface EncoderOptions {
  pathKey?: string;
  fromEncoding?: string;
  emitUnmatchedLines: boolean;
  unmatched: UnmatchedSink;
  warn(msg: string, extra?: Record<string, unknown>): void;
}

/** Line bytes as a JS string, decoding from the file's encoding when one is set, without the trailing CR. */
export function lineText(buf: Buffer, start: number, end: number, fromEncoding?: string): string {
  const s = fromEncoding
    ? iconvLite().decode(buf.subarray(start, end), fromEncoding)
    : buf.toString('utf8', start, end);
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/**
 * Turns one line into one entry. `sec`/`nsec` is the read time used when the parser
 * gives none (one clock read per batch, not per line). A UTF-8 line goes to `bytes` first
 * (an encoder that can write it without a JS string); the rest, and lines from a
 * `from_encoding` file, become a string for `text`.
 */
export abstract class LineEncoder {
  /** msgpack str of path_key, when it is set */
  private readonly pathKeyStr: Buffer | undefined;

  constructor(protected readonly o: EncoderOptions) {
    this.pathKeyStr = o.pathKey !== undefined ? strBytes(o.pathKey) : undefined;
  }

  /** The msgpack path_key + path pair of the line's file (built once per file), or undefined without path_key. */
  protected pathSuffix(src: LineSource): Buffer | undefined {
    if (this.pathKeyStr === undefined) return undefined;
    src.pathPair ??= Buffer.concat([this.pathKeyStr, src.pathStr]);
    return src.pathPair;
  }

  line(
    w: BatchBuilder,
    buf: Buffer,
    start: number,
    end: number,
    src: LineSource,
    sec: number,
    nsec: number,
  ): void {
    if (!this.o.fromEncoding) {
      const e = end > start && buf[end - 1] === 0x0d ? end - 1 : end;
      if (this.bytes?.(w, buf, start, e, src, sec, nsec)) return;
    }
    this.text(w, lineText(buf, start, end, this.o.fromEncoding), src, sec, nsec);
  }

  /** Writes the line's UTF-8 bytes (trailing CR cut) as an entry, if it can; false leaves it to `text`. */
  protected bytes?(
    w: BatchBuilder,
    b: Buffer,
    s: number,
    e: number,
    src: LineSource,
    sec: number,
    nsec: number,
  ): boolean;

  /** a complete (possibly multi-line) text, for the multiline path */
  abstract text(w: BatchBuilder, text: string, src: LineSource, sec: number, nsec: number): void;
}

/**
 * `<parse> @type none`: `{message: line}` written as msgpack straight from the read
 * buffer. The map header and key are precomputed; the path_key pair is a per-file
 * constant.
 */
export class NoneEncoder extends LineEncoder {
  private readonly head: Buffer;
  /** path_key is set and is not the message key (the line wins there) */
  private readonly withPath: boolean;

  constructor(messageKey: string, o: EncoderOptions) {
    super(o);
    const withPath = o.pathKey !== undefined && o.pathKey !== messageKey;
    this.head = Buffer.concat([mapHeader(withPath ? 2 : 1), strBytes(messageKey)]);
    this.withPath = withPath;
  }

  protected override bytes(
    w: BatchBuilder,
    b: Buffer,
    s: number,
    e: number,
    src: LineSource,
    sec: number,
    nsec: number,
  ) {
    w.beginEntry(sec, nsec);
    w.raw(this.head);
    w.str(b, s, e);
    if (this.withPath) w.raw(this.pathSuffix(src)!);
    return true;
  }

  text(w: BatchBuilder, text: string, src: LineSource, sec: number, nsec: number): void {
    const b = Buffer.from(text, 'utf8');
    this.bytes(w, b, 0, b.length, src, sec, nsec);
  }

  /** Lines encoded by the last `lines()` call. */
  encoded = 0;
  /** the entry prefix of `lines()`, rewritten in place when the read's time changes */
  private pre: Buffer | undefined;
  private preSec = -1;
  private preNsec = -1;
  /** `pre` as big-endian 32-bit words (its last length % 4 bytes are not in it) */
  private preWords: number[] = [];
  /** newline offsets of the lines of one `lines()` call */
  private nls = new Int32Array(1024);

  /**
   * The tail's loop for LF-terminated UTF-8 lines: encodes the complete lines of `b[s, e)`
   * until `maxLines` lines or `w.len >= maxBytes`, and returns where it stopped. It stops
   * before a line longer than `maxLineSize`, which the caller skips with a warning.
   *
   * Why a loop of its own: every entry of one read shares its time, so the entry's first
   * bytes (array header, EventTime, map header, key) are one precomputed prefix. And the
   * lines are copied in one piece: the block is placed at the end of the room the entries
   * will take, then each line is moved down to its place (copyWithin, no new view per line)
   * with its prefix and str header written in front. An entry is always longer than its
   * line and newline, so writing entry i never reaches lines not yet moved. Per line this
   * costs less than copying each line from the read buffer (a TypedArray view and a set per
   * line), and much less than the per-line call chain (line, bytes, beginEntry, raw, str):
   * measured in bench/RESULTS.md, "Issue 7, fourth pass".
   */
  lines(
    w: BatchBuilder,
    b: Buffer,
    s: number,
    e: number,
    src: LineSource,
    sec: number,
    nsec: number,
    maxLines: number,
    maxBytes: number,
    maxLineSize: number | undefined,
  ): number {
    const pre = this.prefix(sec, nsec);
    const pl = pre.length;
    let suffix: Buffer | undefined;
    if (this.withPath) suffix = this.pathSuffix(src);
    const sl = suffix === undefined ? 0 : suffix.length;
    // Pass 1: where the lines end, and how many bytes their entries take.
    let n = 0;
    let out = w.len;
    let p = s;
    while (n < maxLines && out < maxBytes) {
      const nl = b.indexOf(10, p);
      if (nl < 0 || nl >= e) break;
      if (maxLineSize !== undefined && nl - p > maxLineSize) break;
      const len = (nl > p && b[nl - 1] === 0x0d ? nl - 1 : nl) - p;
      out += pl + strHeaderSize(len) + len + sl;
      if (n === this.nls.length) {
        const more = new Int32Array(n * 2);
        more.set(this.nls);
        this.nls = more;
      }
      this.nls[n++] = nl;
      p = nl + 1;
    }
    this.encoded = n;
    if (n === 0) return s;
    // Pass 2: the block of lines at the end of the room, then each line moved to its place.
    const rawLen = p - s;
    w.reserve(out - w.len);
    const o = w.buf;
    const block = out - rawLen - s; // block offset of b[x] is block + x
    o.set(new Uint8Array(b.buffer, b.byteOffset + s, rawLen), out - rawLen);
    const nls = this.nls;
    const words = this.preWords;
    const nw = words.length;
    const dv = new DataView(o.buffer, o.byteOffset, o.length);
    let q = w.len;
    let ls = s;
    for (let i = 0; i < n; i++) {
      const nl = nls[i]!;
      const len = (nl > ls && b[nl - 1] === 0x0d ? nl - 1 : nl) - ls;
      const at = q + pl + strHeaderSize(len);
      if (len > 0) o.copyWithin(at, block + ls, block + ls + len);
      // The prefix as 32-bit words: a handful of stores instead of a call or a byte loop.
      for (let j = 0; j < nw; j++) dv.setUint32(q + 4 * j, words[j]!);
      for (let j = nw * 4; j < pl; j++) o[q + j] = pre[j]!;
      strHeaderAt(o, q + pl, len);
      q = at + len;
      for (let j = 0; j < sl; j++) o[q + j] = suffix![j]!;
      q += sl;
      ls = nl + 1;
    }
    w.len = q;
    w.count += n;
    return p;
  }

  /** fixarray(2), EventTime ext and the record's map header and key: the same for a whole read. */
  private prefix(sec: number, nsec: number): Buffer {
    let p = this.pre;
    if (p === undefined) {
      p = Buffer.alloc(11 + this.head.length);
      p[0] = 0x92;
      this.head.copy(p, 11);
      this.pre = p;
      this.preWords = new Array<number>(p.length >>> 2).fill(0);
    } else if (sec === this.preSec && nsec === this.preNsec) return p;
    // Every read has a new time: rewritten in place, no allocation per read.
    EventTime.writeExt(p, 1, sec, nsec);
    const words = this.preWords;
    for (let j = 0; j < words.length; j++) words[j] = p.readUInt32BE(4 * j);
    this.preSec = sec;
    this.preNsec = nsec;
    return p;
  }
}

/**
 * Any parser plugin: the line becomes a string, the parser makes a record, msgpackr
 * packs it. Unmatched lines follow emit_unmatched_lines, else go to @ERROR.
 */
export class ParserEncoder extends LineEncoder {
  /** the parser's byte path (SluiceParser.entry), once known to be usable; null: none */
  private direct: SluiceParser | null | undefined;

  constructor(
    private readonly parser: () => ParserPlugin,
    o: EncoderOptions,
  ) {
    super(o);
  }

  protected override bytes(
    w: BatchBuilder,
    b: Buffer,
    s: number,
    e: number,
    src: LineSource,
    _sec: number,
    _nsec: number,
  ): boolean {
    if (this.direct === undefined) {
      const p = this.parser() as SluiceParser;
      // path_key is added only when the record lacks it (`??=`): with a key the parser
      // writes itself, only the record path knows.
      const clash = this.o.pathKey !== undefined && p.entryKeys?.includes(this.o.pathKey);
      this.direct = p.entry && !clash ? p : null;
    }
    if (this.direct === null) return false;
    return this.direct.entry!(w, b, s, e, this.pathSuffix(src));
  }

  text(w: BatchBuilder, text: string, src: LineSource, sec: number, nsec: number): void {
    let results: (Parsed | undefined)[] = [];
    let error: Error | undefined;
    const p = this.parser() as ParserPlugin & {
      parseAll?(t: string): (Parsed | undefined)[];
      lastError?: string;
    };
    try {
      // parseAll: one line may hold several records (a JSON array, msgpack values).
      results = p.parseAll ? p.parseAll(text) : [p.parse(text)];
    } catch (e) {
      error = e as Error;
    }
    if (results.length === 0) results = [undefined];
    for (const result of results) {
      if (!result) {
        this.unmatched(
          w,
          text,
          src,
          sec,
          nsec,
          error ?? (p.lastError ? new SluiceError('INPUT_UNMATCHED', p.lastError) : undefined),
        );
        continue;
      }
      const record = result.record;
      if (this.o.pathKey !== undefined) record[this.o.pathKey] ??= src.path;
      const t = result.time;
      w.beginEntry(t ? t.sec : sec, t ? t.nsec : nsec);
      w.record(record);
    }
  }

  private unmatched(
    w: BatchBuilder,
    text: string,
    src: LineSource,
    sec: number,
    nsec: number,
    error?: Error,
  ): void {
    if (this.o.emitUnmatchedLines) {
      const record: EventRecord = { unmatched_line: text };
      if (this.o.pathKey !== undefined) record[this.o.pathKey] ??= src.path;
      w.beginEntry(sec, nsec);
      w.record(record);
      return;
    }
    this.o.warn('pattern not matched', {
      code: 'INPUT_UNMATCHED',
      path: src.path,
      line: text.length > 200 ? `${text.slice(0, 200)}...` : text,
      error: error?.message,
    });
    const record: EventRecord = { message: text };
    if (this.o.pathKey !== undefined) record[this.o.pathKey] = src.path;
    this.o.unmatched(
      src.tag,
      new EventTime(sec, nsec),
      record,
      error ?? new SluiceError('INPUT_UNMATCHED', `pattern not matched: ${src.path}`),
    );
  }
}

/**
 * `<parse> @type json` with its defaults: JSON.parse then msgpackr, no string per key
 * in between. A record that carries the time key (or is not an object) goes to the
 * json parser plugin, which owns time parsing and error reporting.
 */
export class JsonEncoder extends LineEncoder {
  private readonly tc: JsonTranscoder;

  constructor(
    private readonly timeKey: string,
    private readonly fallback: ParserEncoder,
    o: EncoderOptions,
  ) {
    super(o);
    this.tc = new JsonTranscoder(
      Buffer.from(timeKey),
      o.pathKey !== undefined ? Buffer.from(o.pathKey) : undefined,
    );
  }

  protected override bytes(
    w: BatchBuilder,
    b: Buffer,
    s: number,
    e: number,
    src: LineSource,
    sec: number,
    nsec: number,
  ) {
    const len = w.len;
    const count = w.count;
    w.beginEntry(sec, nsec);
    if (this.tc.transcode(w, b, s, e, this.pathSuffix(src))) return true;
    // Not plain JSON the fast way can take (time key, invalid, escapes in a top-level key): slow path.
    w.rollback(len, count);
    return false;
  }

  text(w: BatchBuilder, text: string, src: LineSource, sec: number, nsec: number): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.fallback.text(w, text, src, sec, nsec);
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || this.timeKey in (v as object)) {
      this.fallback.text(w, text, src, sec, nsec);
      return;
    }
    const record = v as EventRecord;
    if (this.o.pathKey !== undefined) record[this.o.pathKey] ??= src.path;
    w.beginEntry(sec, nsec);
    w.record(record);
  }
}
