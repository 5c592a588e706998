// The time stamp of access logs (apache2, apache and nginx parsers), read at fixed
// positions; strptime.ts uses it for that one format before its general matchers, and
// the apache2 byte path reads it straight from the line.
import { EventTime } from '@sluice/forward';
import { daysFromCivil } from './time-zone.ts';

/** The access-log stamp of apache2, apache and nginx: `21/Nov/2026:23:05:07 +0000`. */
export const ACCESS_LOG_FORMAT = '%d/%b/%Y:%H:%M:%S %z';
const MONTH_ABBR = 'JanFebMarAprMayJunJulAugSepOctNovDec';
/** 26 characters: `dd/Mon/yyyy:hh:mm:ss +zzzz` */
export const ACCESS_LOG_STAMP_LENGTH = 26;

/** Exactly two ASCII digits from char codes a, b; -1 when they are not. */
function digits2(a: number, b: number): number {
  const x = a - 48;
  const y = b - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

/** Month 1-12 by its three letters packed as c0 << 16 | c1 << 8 | c2. */
const MONTHS = new Map<number, number>();
for (let m = 0; m < 12; m++) {
  const a = MONTH_ABBR.slice(m * 3, m * 3 + 3);
  MONTHS.set((a.charCodeAt(0) << 16) | (a.charCodeAt(1) << 8) | a.charCodeAt(2), m + 1);
}

/**
 * Seconds since the epoch from the stamp's parts, or NaN when one is out of range or a
 * separator is wrong (`seps`: false). The readers below take the stamp only in its usual
 * exact shape (two-digit day, month in title case, numeric zone): anything else takes the
 * general strptime path. The general matchers cost several times more and every
 * access-log line pays them.
 */
function stampSeconds(
  seps: boolean,
  mday: number,
  mon: number | undefined,
  cent: number,
  yy: number,
  hour: number,
  min: number,
  sec: number,
  sign: number,
  zh: number,
  zm: number,
): number {
  if (
    !seps ||
    mday < 1 ||
    mday > 31 ||
    mon === undefined ||
    cent < 0 ||
    yy < 0 ||
    hour < 0 ||
    hour > 24 ||
    min < 0 ||
    min > 59 ||
    sec < 0 ||
    sec > 60 ||
    zh < 0 ||
    zh > 23 ||
    zm < 0 ||
    zm > 59 ||
    (sign !== 43 && sign !== 45)
  )
    return NaN;
  const off = (zh * 3600 + zm * 60) * (sign === 45 ? -1 : 1);
  return daysFromCivil(cent * 100 + yy, mon, mday) * 86400 + hour * 3600 + min * 60 + sec - off;
}

/** The stamp in a string, in its usual exact shape; undefined otherwise. */
export function accessLogStamp(s: string): EventTime | undefined {
  if (s.length !== ACCESS_LOG_STAMP_LENGTH) return undefined;
  const t = stampSeconds(
    s.charCodeAt(2) === 47 &&
      s.charCodeAt(6) === 47 &&
      s.charCodeAt(11) === 58 &&
      s.charCodeAt(14) === 58 &&
      s.charCodeAt(17) === 58 &&
      s.charCodeAt(20) === 32,
    digits2(s.charCodeAt(0), s.charCodeAt(1)),
    MONTHS.get((s.charCodeAt(3) << 16) | (s.charCodeAt(4) << 8) | s.charCodeAt(5)),
    digits2(s.charCodeAt(7), s.charCodeAt(8)),
    digits2(s.charCodeAt(9), s.charCodeAt(10)),
    digits2(s.charCodeAt(12), s.charCodeAt(13)),
    digits2(s.charCodeAt(15), s.charCodeAt(16)),
    digits2(s.charCodeAt(18), s.charCodeAt(19)),
    s.charCodeAt(21),
    digits2(s.charCodeAt(22), s.charCodeAt(23)),
    digits2(s.charCodeAt(24), s.charCodeAt(25)),
  );
  return Number.isNaN(t) ? undefined : new EventTime(t, 0);
}

/** The stamp at `b[at, at + 26)`, as seconds since the epoch; NaN when it is not that exact shape. */
export function accessLogStampAt(b: Uint8Array, at: number): number {
  return stampSeconds(
    b[at + 2] === 47 &&
      b[at + 6] === 47 &&
      b[at + 11] === 58 &&
      b[at + 14] === 58 &&
      b[at + 17] === 58 &&
      b[at + 20] === 32,
    digits2(b[at]!, b[at + 1]!),
    MONTHS.get((b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!),
    digits2(b[at + 7]!, b[at + 8]!),
    digits2(b[at + 9]!, b[at + 10]!),
    digits2(b[at + 12]!, b[at + 13]!),
    digits2(b[at + 15]!, b[at + 16]!),
    digits2(b[at + 18]!, b[at + 19]!),
    b[at + 21]!,
    digits2(b[at + 22]!, b[at + 23]!),
    digits2(b[at + 24]!, b[at + 25]!),
  );
}
