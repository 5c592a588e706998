// The apache2 parser's byte path: an access-log line straight from the read buffer to a
// msgpack entry, without a JS string, a regexp match, a record object or re-encoding
// each field. It gives byte for byte the entry the regexp path gives, for the lines it
// takes; it takes only lines whose match it can be sure of without backtracking, and
// leaves every other line to the regexp (returns false, having written nothing).
//
// Why those lines are enough (Fluentd's apache2 regexp, see plugins/parser/apache2.ts):
// - host, ident and user cannot hold a space and the time cannot hold `]`, so each ends
//   at the first such byte.
// - With the line all printable ASCII (no line terminator for `^`/`$` of the `m` flag to
//   stop at, no Unicode white space for `\S`) and no backslash after the time (a `\"`
//   may be part of path, referer or agent), the only `"` a quote of the regexp can match
//   are the request's quotes and the four around referer and agent.
// - When the request holds a space, the greedy method stops at it and the request's
//   closing quote is the first quote after the opening one. The lazy path is then the
//   shortest text after the method's spaces that leaves ` +\S*` (the protocol) before
//   the quote: up to the last run of spaces, or all of it when there is none.
// - A request without a space (`"-"`) can match with the method eating its closing
//   quote, which the regexp may prefer: such lines take the regexp.
// - code and size are plain digits (size may be `-`), at most 15 of them, so Ruby's
//   to_i is their value; referer and agent hold no quote.

import type { BatchBuilder } from '../../core/batch-builder.ts';
import { strBytes, strHeaderAt, uintAt } from '../../core/batch-builder.ts';
import { ACCESS_LOG_STAMP_LENGTH, accessLogStampAt } from '../../time/access-log-time.ts';

const SP = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DASH = 0x2d;
const NIL = 0xc0;

/** The record keys the byte path writes, in the regexp path's order. */
export const APACHE2_KEYS = ['host', 'user', 'method', 'path', 'code', 'size', 'referer', 'agent'] as const;

/** Index of the first `stop` in b[i, e); -1 when there is none or a byte before it is not printable ASCII. */
function until(b: Buffer, i: number, e: number, stop: number): number {
  for (; i < e; i++) {
    const c = b[i]!;
    if (c === stop) return i;
    if (c < SP || c > 0x7e) return -1;
  }
  return -1;
}

/**
 * As `until`, and -1 also at a backslash or a quote (that is not `stop`). With `toEnd`,
 * reaching `e` gives `e` instead of -1.
 */
function untilPlain(b: Buffer, i: number, e: number, stop: number, toEnd = false): number {
  for (; i < e; i++) {
    const c = b[i]!;
    if (c === stop) return i;
    if (c < SP || c > 0x7e || c === BACKSLASH || c === QUOTE) return -1;
  }
  return toEnd ? e : -1;
}

/** b[s, e) as a number when it is 1 to 15 ASCII digits; -1 otherwise. */
function digits(b: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function copyAt(o: Buffer, at: number, src: Buffer): number {
  for (let j = 0; j < src.length; j++) o[at + j] = src[j]!;
  return at + src.length;
}

/** A msgpack str of b[s, e) at o[at], or nil when it is `-` and `dash` is set. */
function strAt(o: Buffer, at: number, b: Buffer, s: number, e: number, dash: boolean): number {
  const n = e - s;
  if (dash && n === 1 && b[s] === DASH) {
    o[at] = NIL;
    return at + 1;
  }
  at = strHeaderAt(o, at, n);
  // Fields are short: a loop costs less than the view a block copy needs.
  if (n < 64) for (let j = 0; j < n; j++) o[at + j] = b[s + j]!;
  else o.set(new Uint8Array(b.buffer, b.byteOffset + s, n), at);
  return at + n;
}

export class Apache2Bytes {
  private readonly k = APACHE2_KEYS.map((key) => strBytes(key));
  private readonly timeKey = strBytes('time');
  /** room for everything but the line's own bytes: keys, str headers, ints, map header */
  private readonly overhead: number;

  /** `keepTime`: keep_time_key, the stamp as a `time` field after the others. */
  constructor(private readonly keepTime: boolean) {
    this.overhead = this.k.reduce((n, k) => n + k.length + 5, 0) + this.timeKey.length + 5 + 32;
  }

  /**
   * Writes the entry for the line b[s, e) (no line terminator; nothing at or after `e` is
   * read) with `extra` (a msgpack key and value, the tail's path_key) appended to the
   * record. False, with nothing written, when the line is not one this path takes.
   */
  entry(w: BatchBuilder, b: Buffer, s: number, e: number, extra: Buffer | undefined): boolean {
    const sp1 = until(b, s, e, SP);
    if (sp1 < 0) return false;
    const sp2 = until(b, sp1 + 1, e, SP);
    if (sp2 < 0) return false;
    const sp3 = until(b, sp2 + 1, e, SP);
    if (sp3 < 0 || sp3 + 1 >= e || b[sp3 + 1] !== 0x5b) return false;
    const t0 = sp3 + 2;
    const rb = until(b, t0, e, 0x5d);
    if (rb - t0 !== ACCESS_LOG_STAMP_LENGTH || rb + 3 >= e || b[rb + 1] !== SP || b[rb + 2] !== QUOTE)
      return false;
    const sec = accessLogStampAt(b, t0);
    if (Number.isNaN(sec)) return false;
    // The request: method, then spaces, then path up to the last run of spaces.
    const r0 = rb + 3;
    if (b[r0] === SP) return false;
    let q1 = r0;
    let firstSp = -1;
    let lastRun = -1;
    for (; q1 < e; q1++) {
      const c = b[q1]!;
      if (c === QUOTE) break;
      if (c < SP || c > 0x7e || c === BACKSLASH) return false;
      if (c === SP) {
        if (firstSp < 0) firstSp = q1;
        if (b[q1 - 1] !== SP) lastRun = q1;
      }
    }
    if (q1 + 1 >= e || firstSp < 0 || b[q1 + 1] !== SP) return false;
    let p0 = firstSp;
    while (b[p0] === SP) p0++;
    const p1 = lastRun > p0 ? lastRun : q1;
    const c0 = q1 + 2;
    const c1 = untilPlain(b, c0, e, SP);
    if (c1 < 0) return false;
    const code = digits(b, c0, c1);
    if (code < 0) return false;
    const z0 = c1 + 1;
    const z1 = untilPlain(b, z0, e, SP, true);
    if (z1 < 0) return false;
    let q3 = -1;
    let q5 = -1;
    if (z1 < e) {
      if (z1 + 1 >= e || b[z1 + 1] !== QUOTE) return false;
      q3 = untilPlain(b, z1 + 2, e, QUOTE);
      if (q3 < 0 || q3 + 2 >= e || b[q3 + 1] !== SP || b[q3 + 2] !== QUOTE) return false;
      q5 = untilPlain(b, q3 + 3, e, QUOTE);
      if (q5 !== e - 1) return false;
    }
    const size = z1 - z0 === 1 && b[z0] === DASH ? -2 : digits(b, z0, z1);
    if (size === -1) return false;

    w.beginEntry(sec, 0);
    w.reserve(e - s + this.overhead + (extra === undefined ? 0 : extra.length));
    const o = w.buf;
    const k = this.k;
    let at = w.len;
    o[at++] = 0x80 | (8 + (this.keepTime ? 1 : 0) + (extra === undefined ? 0 : 1));
    at = strAt(o, copyAt(o, at, k[0]!), b, s, sp1, true);
    at = strAt(o, copyAt(o, at, k[1]!), b, sp2 + 1, sp3, true);
    at = strAt(o, copyAt(o, at, k[2]!), b, r0, firstSp, false);
    at = strAt(o, copyAt(o, at, k[3]!), b, p0, p1, false);
    at = copyAt(o, at, k[4]!);
    if (code === 0) o[at++] = NIL;
    else at = uintAt(o, at, code);
    at = copyAt(o, at, k[5]!);
    if (size < 0) o[at++] = NIL;
    else at = uintAt(o, at, size);
    at = copyAt(o, at, k[6]!);
    if (q3 < 0) o[at++] = NIL;
    else at = strAt(o, at, b, z1 + 2, q3, true);
    at = copyAt(o, at, k[7]!);
    if (q5 < 0) o[at++] = NIL;
    else at = strAt(o, at, b, q3 + 3, q5, true);
    if (this.keepTime) at = strAt(o, copyAt(o, at, this.timeKey), b, t0, rb, false);
    if (extra !== undefined) at = copyAt(o, at, extra);
    w.len = at;
    return true;
  }
}
