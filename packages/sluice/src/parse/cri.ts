// The CRI log line format (kubelet/containerd/CRI-O): `TIME STREAM TAG MESSAGE`, where
// TIME is RFC 3339 with nanoseconds, STREAM is stdout or stderr and TAG is `P` (a part of
// a longer line, more follows) or `F` (the line's end), possibly followed by `:`-separated
// attributes. fluent-plugin-parser-cri reads it with Ruby's `text.split(/\s/, 4)`.
import { EventTime } from '@sluice/forward';

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
