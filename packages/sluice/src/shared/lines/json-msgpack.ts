import type { BatchBuilder } from '../../core/batch-builder.ts';

/**
 * Transcodes a JSON object (bytes of one line) straight into msgpack, without building a
 * JS string or object: strings without escapes are copied byte for byte, integers are
 * read digit by digit. It validates as it goes; on anything it does not take (invalid
 * JSON, a top-level key equal to `stopKey`, a key with escapes at the top level, a
 * container of 65536+ items) it returns false and the caller rolls the writer back and
 * takes the slow path, which owns error reporting.
 *
 * The output is what msgpack-ruby writes for Fluentd's JSON.parse of the same text:
 * integers in their smallest int format (up to 15 digits; longer ones as float64), any
 * number with a fraction or exponent as float64 (`1.0` stays a Float, as in Ruby),
 * fixmap/fixarray when small.
 */
export class JsonTranscoder {
  private src!: Buffer;
  private i = 0;
  private end = 0;
  private w!: BatchBuilder;
  /** set when the top-level object had the key `watchKey` */
  sawWatchKey = false;

  constructor(
    /** a top-level key that sends the line to the slow path (the parser's time key) */
    private readonly stopKey: Buffer,
    /** a top-level key whose presence is reported in `sawWatchKey` (path_key) */
    private readonly watchKey: Buffer | undefined,
  ) {}

  /**
   * Writes the record map at the writer's end. `extra` is a pre-encoded key/value pair
   * appended to the top-level map unless the object already has `watchKey`.
   */
  transcode(w: BatchBuilder, src: Buffer, start: number, end: number, extra?: Buffer): boolean {
    this.src = src;
    this.i = start;
    this.end = end;
    this.w = w;
    this.sawWatchKey = false;
    // Worst case growth is a short float (`0.1` -> 9 bytes): 3x plus headers.
    w.reserve((end - start) * 3 + 16 + (extra?.length ?? 0));
    this.ws();
    if (this.i >= end || src[this.i] !== 0x7b) return false;
    if (!this.object(true, extra)) return false;
    this.ws();
    return this.i === end;
  }

  private ws(): void {
    const s = this.src;
    let i = this.i;
    while (i < this.end) {
      const c = s[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.i = i;
  }

  private value(): boolean {
    this.ws();
    if (this.i >= this.end) return false;
    const c = this.src[this.i]!;
    if (c === 0x22) return this.string(false, false);
    if (c === 0x7b) return this.object(false, undefined);
    if (c === 0x5b) return this.array();
    if (c === 0x74) return this.literal('true', 0xc3);
    if (c === 0x66) return this.literal('false', 0xc2);
    if (c === 0x6e) return this.literal('null', 0xc0);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return false;
  }

  private literal(word: string, byte: number): boolean {
    const s = this.src;
    if (this.i + word.length > this.end) return false;
    for (let k = 1; k < word.length; k++) if (s[this.i + k] !== word.charCodeAt(k)) return false;
    this.i += word.length;
    this.w.buf[this.w.len++] = byte;
    return true;
  }

  /** Writes a container header placeholder; returns its offset. */
  private open(): number {
    const at = this.w.len;
    this.w.len += 3;
    return at;
  }

  /** Patches the header: fix* form when small (moving the body back 2 bytes), else 16-bit. */
  private close(at: number, n: number, fix: number, big: number): boolean {
    const b = this.w.buf;
    if (n < 16) {
      b.copyWithin(at + 1, at + 3, this.w.len);
      b[at] = fix | n;
      this.w.len -= 2;
      return true;
    }
    if (n > 0xffff) return false;
    b[at] = big;
    b[at + 1] = n >>> 8;
    b[at + 2] = n & 0xff;
    return true;
  }

  private object(top: boolean, extra: Buffer | undefined): boolean {
    const s = this.src;
    this.i++; // {
    const at = this.open();
    let n = 0;
    this.ws();
    if (this.i < this.end && s[this.i] === 0x7d) {
      this.i++;
    } else {
      for (;;) {
        this.ws();
        if (this.i >= this.end || s[this.i] !== 0x22) return false;
        if (!this.string(true, top)) return false;
        this.ws();
        if (this.i >= this.end || s[this.i] !== 0x3a) return false;
        this.i++;
        if (!this.value()) return false;
        n++;
        this.ws();
        if (this.i >= this.end) return false;
        const c = s[this.i++];
        if (c === 0x2c) continue;
        if (c === 0x7d) break;
        return false;
      }
    }
    if (extra !== undefined && !this.sawWatchKey) {
      this.w.buf.set(extra, this.w.len);
      this.w.len += extra.length;
      n++;
    }
    return this.close(at, n, 0x80, 0xde);
  }

  private array(): boolean {
    const s = this.src;
    this.i++; // [
    const at = this.open();
    let n = 0;
    this.ws();
    if (this.i < this.end && s[this.i] === 0x5d) {
      this.i++;
    } else {
      for (;;) {
        if (!this.value()) return false;
        n++;
        this.ws();
        if (this.i >= this.end) return false;
        const c = s[this.i++];
        if (c === 0x2c) continue;
        if (c === 0x5d) break;
        return false;
      }
    }
    return this.close(at, n, 0x90, 0xdc);
  }

  private string(isKey: boolean, top: boolean): boolean {
    const s = this.src;
    const start = ++this.i;
    // A plain JS scan: Buffer#indexOf is a native call whose overhead per short string
    // costs more than the scan itself (measured with --cpu-prof, see bench/RESULTS.md).
    const end = this.end;
    let j = start;
    let escaped = false;
    for (;;) {
      if (j >= end) return false;
      const c = s[j]!;
      if (c > 0x22 && c !== 0x5c) {
        j++;
        continue;
      }
      if (c === 0x22) break;
      if (c < 0x20) return false;
      if (c === 0x5c) {
        escaped = true;
        j += 2;
        continue;
      }
      j++;
    }
    this.i = j + 1;
    if (escaped) {
      if (isKey && top) return false; // keep key comparisons on raw bytes
      return this.escapedString(start, j);
    }
    const n = j - start;
    if (isKey && top) {
      if (n === this.stopKey.length && s.compare(this.stopKey, 0, n, start, j) === 0) return false;
      if (this.watchKey && n === this.watchKey.length && s.compare(this.watchKey, 0, n, start, j) === 0)
        this.sawWatchKey = true;
    }
    this.w.strHeader(n);
    const b = this.w.buf;
    let o = this.w.len;
    // Buffer#copy allocates a view per call: for the short strings of a record (keys,
    // levels, timestamps) a loop is cheaper; long ones are copied natively (measured in
    // bench/RESULTS.md, "Tail: tail -> null").
    if (n < 48) for (let k = start; k < j; k++) b[o++] = s[k]!;
    else {
      s.copy(b, o, start, j);
      o += n;
    }
    this.w.len = o;
    return true;
  }

  /** Rare path: decode with JSON.parse (exact escape semantics), then write UTF-8. */
  private escapedString(start: number, end: number): boolean {
    let text: string;
    try {
      text = JSON.parse(this.src.toString('utf8', start - 1, end + 1)) as string;
    } catch {
      return false;
    }
    const n = Buffer.byteLength(text);
    this.w.reserve(n + 5);
    this.w.strHeader(n);
    this.w.buf.write(text, this.w.len, 'utf8');
    this.w.len += n;
    return true;
  }

  private number(): boolean {
    const s = this.src;
    const start = this.i;
    let j = start;
    let neg = false;
    if (s[j] === 0x2d) {
      neg = true;
      j++;
    }
    if (j >= this.end) return false;
    let v = 0;
    const digitsFrom = j;
    if (s[j] === 0x30) j++;
    else if (s[j]! >= 0x31 && s[j]! <= 0x39) {
      while (j < this.end && s[j]! >= 0x30 && s[j]! <= 0x39) v = v * 10 + (s[j++]! - 0x30);
    } else return false;
    let isInt = true;
    if (j < this.end && s[j] === 0x2e) {
      isInt = false;
      j++;
      const f = j;
      while (j < this.end && s[j]! >= 0x30 && s[j]! <= 0x39) j++;
      if (j === f) return false;
    }
    if (j < this.end && (s[j] === 0x65 || s[j] === 0x45)) {
      isInt = false;
      j++;
      if (j < this.end && (s[j] === 0x2b || s[j] === 0x2d)) j++;
      const f = j;
      while (j < this.end && s[j]! >= 0x30 && s[j]! <= 0x39) j++;
      if (j === f) return false;
    }
    this.i = j;
    if (isInt && j - digitsFrom <= 15) return this.int(neg ? -v : v);
    return this.float(Number(s.toString('latin1', start, j)));
  }

  private int(v: number): boolean {
    // JSON's -0 stays a float (msgpack integers have no sign of zero).
    if (Object.is(v, -0)) return this.float(v);
    this.w.number(v);
    return true;
  }

  private float(v: number): boolean {
    if (!Number.isFinite(v)) return false;
    const b = this.w.buf;
    b[this.w.len] = 0xcb;
    b.writeDoubleBE(v, this.w.len + 1);
    this.w.len += 9;
    return true;
  }
}
