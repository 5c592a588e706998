// The CRI log line format (kubelet/containerd/CRI-O): `TIME STREAM TAG MESSAGE`, where
// TIME is RFC 3339 with nanoseconds, STREAM is stdout or stderr and TAG is `P` (a part of
// a longer line, more follows) or `F` (the line's end), possibly followed by `:`-separated
// attributes. fluent-plugin-parser-cri reads it with Ruby's `text.split(/\s/, 4)`.
import { EventTime } from '@sluice/forward';
import type { SluiceParser } from './common.ts';

/** The cri parser as in_tail sees it (plugins/parser/cri.ts builds it). */
export interface CriParser extends SluiceParser {
  /** in_tail joins P partial lines into one line before parsing (join_partials) */
  readonly joinPartials: boolean;
}

/** Ruby's whitespace of `\s`: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * `text.split(/\s/, 4)` when it gives exactly four fields (time, stream, logtag,
 * message), else undefined. Each of the first three ends at the next single whitespace
 * character, so the message keeps its leading spaces.
 */
export function splitCri(text: string): [string, string, string, string] | undefined {
  const a = nextSpace(text, 0);
  if (a < 0) return undefined;
  const b = nextSpace(text, a + 1);
  if (b < 0) return undefined;
  const c = nextSpace(text, b + 1);
  if (c < 0) return undefined;
  return [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1, c), text.slice(c + 1)];
}

function nextSpace(text: string, from: number): number {
  for (let i = from; i < text.length; i++) if (isSpace(text.charCodeAt(i))) return i;
  return -1;
}

/** Whether a CRI log tag marks a partial line (`P`, or `P:` with attributes). */
export function isPartialTag(logtag: string): boolean {
  return logtag === 'P' || logtag.startsWith('P:');
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * RFC 3339 with up to nanoseconds (`2020-10-10T00:10:00.333333333Z`, or an offset such
 * as `+09:00`), as containerd and CRI-O write it (Go's RFC3339Nano, which drops trailing
 * zeros of the fraction and the fraction itself when it is zero). Undefined otherwise.
 */
export function parseRfc3339(text: string): EventTime | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Number.isNaN(ms)) return undefined;
  let sec = ms / 1000;
  if (!m[8]) {
    const off = (+m[10]! * 60 + +m[11]!) * 60;
    sec += m[9] === '-' ? off : -off;
  }
  const frac = m[7] ?? '';
  const nsec = frac === '' ? 0 : Number(frac.padEnd(9, '0'));
  return new EventTime(sec, nsec);
}

/** Ruby's \s as a byte: space, \t, \n, \v, \f, \r. */
function isSpaceByte(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** The byte offsets of the three separators of a CRI line in `b[s, e)`, or false. */
export function criFields(b: Buffer, s: number, e: number, out: Int32Array): boolean {
  let n = 0;
  for (let i = s; i < e && n < 3; i++) if (isSpaceByte(b[i]!)) out[n++] = i;
  return n === 3;
}

/**
 * RFC 3339 times read from bytes, as parseRfc3339 reads them from text: `sec`/`nsec` of
 * the last successful read. The seconds of the date and time before the fraction are
 * cached: containerd's stamps of one second share those 19 bytes.
 */
export class Rfc3339Bytes {
  sec = 0;
  nsec = 0;
  private readonly prefix = Buffer.alloc(19);
  private prefixSec = Number.NaN;

  read(b: Buffer, s: number, e: number): boolean {
    if (e - s < 20) return false;
    let base: number;
    if (b.compare(this.prefix, 0, 19, s, s + 19) === 0 && !Number.isNaN(this.prefixSec))
      base = this.prefixSec;
    else {
      const d = (i: number) => b[s + i]! - 48;
      for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
        if (d(i) < 0 || d(i) > 9) return false;
      const t = b[s + 10];
      if (
        b[s + 4] !== 45 ||
        b[s + 7] !== 45 ||
        (t !== 84 && t !== 116 && t !== 32) ||
        b[s + 13] !== 58 ||
        b[s + 16] !== 58
      )
        return false;
      const ms = Date.UTC(
        d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3),
        d(5) * 10 + d(6) - 1,
        d(8) * 10 + d(9),
        d(11) * 10 + d(12),
        d(14) * 10 + d(15),
        d(17) * 10 + d(18),
      );
      if (Number.isNaN(ms)) return false;
      base = ms / 1000;
      b.copy(this.prefix, 0, s, s + 19);
      this.prefixSec = base;
    }
    let i = s + 19;
    let nsec = 0;
    if (b[i] === 46) {
      i++;
      let digits = 0;
      while (i < e && b[i]! >= 48 && b[i]! <= 57) {
        if (digits < 9) {
          nsec = nsec * 10 + (b[i]! - 48);
          digits++;
        }
        i++;
      }
      if (digits === 0) return false;
      for (; digits < 9; digits++) nsec *= 10;
    }
    let sec = base;
    const z = b[i];
    if ((z === 90 || z === 122) && i + 1 === e) {
      // Z
    } else if ((z === 43 || z === 45) && (i + 6 === e || i + 5 === e)) {
      const n = (k: number) => b[k]! - 48;
      const colon = i + 6 === e;
      if (colon && b[i + 3] !== 58) return false;
      const mm = colon ? i + 4 : i + 3;
      for (const k of [i + 1, i + 2, mm, mm + 1]) if (n(k) < 0 || n(k) > 9) return false;
      const off = ((n(i + 1) * 10 + n(i + 2)) * 60 + n(mm) * 10 + n(mm + 1)) * 60;
      sec += z === 45 ? off : -off;
    } else return false;
    this.sec = sec;
    this.nsec = nsec;
    return true;
  }
}
