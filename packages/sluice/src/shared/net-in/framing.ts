// Splitting a TCP byte stream into messages, for the tcp and syslog inputs: by a delimiter
// (in_tcp, and in_syslog's `frame_type traditional`) or by RFC 6587 octet counting
// (`frame_type octet_count`: `LEN SP MSG`). A read is scanned where it lies; only the
// unfinished message at its end is copied, into one growable buffer per connection, whose
// size the caller counts against the input's memory budget (`held`).

import type { ErrorCode } from '../../core/error-codes.ts';
import { SluiceError } from '../../core/errors.ts';

/** A message the framer will not hand on: the caller logs it (with `code`) and counts it. */
export interface FrameProblem {
  code: Extract<ErrorCode, 'MESSAGE_TOO_LONG' | 'SYSLOG_BAD_FRAME'>;
  reason: string;
  /** the first bytes of the message, for the log line */
  head: string;
  /** the stream cannot be read further: the connection must be closed */
  fatal: boolean;
}

export type OnMessage = (b: Buffer, start: number, end: number) => void;
export type OnProblem = (p: FrameProblem) => void;

export interface Framer {
  /** Hands every complete message of `data` (and of what came before) to onMessage. */
  push(data: Buffer, onMessage: OnMessage, onProblem: OnProblem): void;
  /** Bytes held for an unfinished message. */
  readonly held: number;
  /** Lets go of what is held. */
  reset(): void;
}

const KEEP_CAPACITY = 64 * 1024;

function head(b: Buffer, s: number, e: number): string {
  return b.toString('utf8', s, Math.min(e, s + 32));
}

/** The unfinished message of a connection: a growable buffer, acc[0, len). */
class Carry {
  acc: Buffer | undefined;
  len = 0;

  append(b: Buffer, s: number, e: number): void {
    const n = e - s;
    if (n <= 0) return;
    if (!this.acc || this.len + n > this.acc.length) {
      let size = Math.max(1024, (this.acc?.length ?? 0) * 2);
      while (size < this.len + n) size *= 2;
      const next = Buffer.allocUnsafe(size);
      if (this.acc) this.acc.copy(next, 0, 0, this.len);
      this.acc = next;
    }
    b.copy(this.acc, this.len, s, e);
    this.len += n;
  }

  /** Keeps acc[from, len) at the front. */
  keepFrom(from: number): void {
    if (!this.acc) return;
    if (from >= this.len) this.clear();
    else {
      this.acc.copyWithin(0, from, this.len);
      this.len -= from;
    }
  }

  clear(): void {
    this.len = 0;
    // A long message made the buffer big: give it back rather than keep it per connection.
    if (this.acc && this.acc.length > KEEP_CAPACITY) this.acc = undefined;
  }
}

/**
 * Messages ended by `delimiter` (in_tcp's `delimiter`, default "\n"). With `limit`
 * (message_length_limit), a longer message is dropped, and an unfinished one that passes it
 * is cleared and the rest of it discarded up to the next delimiter, as Fluentd's in_tcp does.
 */
export class DelimiterFramer implements Framer {
  private readonly carry = new Carry();
  /** the first bytes of carry known to hold no delimiter start */
  private clean = 0;
  /** dropping the rest of a message that passed the limit, up to its delimiter */
  private discarding = false;

  constructor(
    private readonly delimiter: Buffer,
    private readonly limit: number | undefined,
  ) {
    if (delimiter.length === 0)
      throw new SluiceError('SLUICE_CONFIG', "empty delimiter: parameter 'delimiter' must not be empty");
  }

  get held(): number {
    return this.carry.len;
  }

  reset(): void {
    this.carry.len = 0;
    this.carry.acc = undefined;
    this.clean = 0;
    this.discarding = false;
  }

  push(data: Buffer, onMessage: OnMessage, onProblem: OnProblem): void {
    const d = this.delimiter;
    const dl = d.length;
    const c = this.carry;
    let b = data;
    let pos = 0;
    let from = 0;
    if (c.len > 0) {
      if (dl === 1) {
        // The common case: the carried message ends at the first delimiter of this read.
        const i = data.indexOf(d[0]!);
        if (i < 0) {
          c.append(data, 0, data.length);
          this.afterScan(c.len, onProblem);
          return;
        }
        c.append(data, 0, i);
        this.message(c.acc!, 0, c.len, onMessage, onProblem);
        c.clear();
        pos = from = i + 1;
      } else {
        c.append(data, 0, data.length);
        b = c.acc!;
        from = this.clean;
      }
    }
    const end = b === data ? data.length : c.len;
    for (let i = b.indexOf(d, from); i >= 0 && i + dl <= end; i = b.indexOf(d, pos)) {
      this.message(b, pos, i, onMessage, onProblem);
      pos = i + dl;
    }
    if (b === data) {
      c.append(data, pos, data.length);
    } else c.keepFrom(pos);
    this.afterScan(c.len, onProblem);
  }

  private message(b: Buffer, s: number, e: number, onMessage: OnMessage, onProblem: OnProblem): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (this.limit !== undefined && e - s > this.limit) {
      onProblem({
        code: 'MESSAGE_TOO_LONG',
        reason: `a message of ${e - s} bytes is longer than message_length_limit (${this.limit}); dropped`,
        head: head(b, s, e),
        fatal: false,
      });
      return;
    }
    onMessage(b, s, e);
  }

  private afterScan(len: number, onProblem: OnProblem): void {
    const c = this.carry;
    if (this.limit !== undefined && len > this.limit) {
      onProblem({
        code: 'MESSAGE_TOO_LONG',
        reason: `an unfinished message passed message_length_limit (${this.limit}) at ${len} bytes; dropped up to its delimiter`,
        head: head(c.acc!, 0, c.len),
        fatal: false,
      });
      // Keep only what could be the start of a delimiter split across reads.
      const keep = this.delimiter.length - 1;
      if (this.discarding || keep === 0) c.clear();
      else c.keepFrom(c.len - keep);
      this.discarding = true;
    }
    this.clean = Math.max(0, c.len - this.delimiter.length + 1);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);
/** An octet count has at most this many characters (with its surrounding white space). */
const MAX_COUNT_CHARS = 32;

/**
 * RFC 6587 octet counting: `LEN SP MSG LEN SP MSG ...`. White space around LEN is allowed
 * (Fluentd reads it with Ruby's Integer(), which does), so a newline after each message is
 * harmless. A LEN that is not a number ends the connection, as Fluentd's raise does. A
 * message longer than `limit` is skipped byte by byte (the stream stays in step), not held.
 */
export class OctetCountFramer implements Framer {
  private readonly carry = new Carry();
  /** bytes still to skip of a message longer than the limit */
  private skip = 0;

  constructor(private readonly limit: number) {}

  get held(): number {
    return this.carry.len;
  }

  reset(): void {
    this.carry.len = 0;
    this.carry.acc = undefined;
    this.skip = 0;
  }

  push(data: Buffer, onMessage: OnMessage, onProblem: OnProblem): void {
    let s = 0;
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length);
      this.skip -= n;
      s = n;
      if (s === data.length) return;
    }
    const c = this.carry;
    let b = data;
    let end = data.length;
    if (c.len > 0) {
      c.append(data, s, data.length);
      b = c.acc!;
      s = 0;
      end = c.len;
    }
    let pos = s;
    while (pos < end) {
      while (pos < end && WS.has(b[pos]!)) pos++;
      if (pos === end) break;
      const sp = b.indexOf(0x20, pos);
      if (sp < 0 || sp >= end) {
        if (end - pos > MAX_COUNT_CHARS || !digitsOrSpace(b, pos, end)) {
          this.bad(b, pos, end, onProblem);
          return;
        }
        break;
      }
      const i = pos;
      if (!allDigits(b, i, sp) || sp - i > 15) {
        this.bad(b, pos, Math.min(end, sp + 1), onProblem);
        return;
      }
      const n = Number(b.toString('latin1', i, sp));
      const bodyStart = sp + 1;
      if (n > this.limit) {
        onProblem({
          code: 'MESSAGE_TOO_LONG',
          reason: `an octet-counted message of ${n} bytes is longer than the input holds (${this.limit} bytes); skipped`,
          head: head(b, bodyStart, end),
          fatal: false,
        });
        const have = end - bodyStart;
        if (have >= n) {
          pos = bodyStart + n;
          continue;
        }
        this.skip = n - have;
        pos = end;
        break;
      }
      if (end - bodyStart < n) break;
      onMessage(b, bodyStart, bodyStart + n);
      pos = bodyStart + n;
    }
    if (b === data) c.append(data, pos, end);
    else c.keepFrom(pos);
  }

  private bad(b: Buffer, s: number, e: number, onProblem: OnProblem): void {
    this.reset();
    onProblem({
      code: 'SYSLOG_BAD_FRAME',
      reason: `octet_count framing: expected a message length and a space, got '${b.toString('utf8', s, Math.min(e, s + 32)).replace(/[^\x20-\x7e]/g, '?')}'`,
      head: head(b, s, e),
      fatal: true,
    });
  }
}

function allDigits(b: Buffer, s: number, e: number): boolean {
  if (e <= s) return false;
  for (let i = s; i < e; i++) if (b[i]! < 0x30 || b[i]! > 0x39) return false;
  return true;
}

function digitsOrSpace(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (!WS.has(b[i]!) && (b[i]! < 0x30 || b[i]! > 0x39)) return false;
  return true;
}
