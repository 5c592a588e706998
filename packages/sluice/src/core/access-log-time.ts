// The time stamp of access logs (apache2, apache and nginx parsers), read at fixed
// positions; strptime.ts uses it for that one format before its general matchers.
import { EventTime } from '@sluice/forward';
import { daysFromCivil } from './time-zone.ts';

/** Exactly two digits at s[k]; -1 when there are not two. */
function twoDigits(s: string, k: number): number {
  const a = s.charCodeAt(k) - 48;
  const b = s.charCodeAt(k + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** The access-log stamp of apache2, apache and nginx: `21/Nov/2026:23:05:07 +0000`. */
export const ACCESS_LOG_FORMAT = '%d/%b/%Y:%H:%M:%S %z';
const MONTH_ABBR = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/**
 * That stamp in its usual exact shape, read at fixed positions: the general matchers
 * cost several times more and every access-log line pays them. Anything else (one-digit
 * days, other case, a zone name) returns undefined and takes the general path.
 */
export function accessLogStamp(s: string): EventTime | undefined {
  if (s.length !== 26 || s.charCodeAt(2) !== 47 || s.charCodeAt(6) !== 47 || s.charCodeAt(11) !== 58)
    return undefined;
  const mday = twoDigits(s, 0);
  const mi = MONTH_ABBR.indexOf(s.slice(3, 6));
  const cent = twoDigits(s, 7);
  const yy = twoDigits(s, 9);
  const hour = twoDigits(s, 12);
  const min = twoDigits(s, 15);
  const sec = twoDigits(s, 18);
  const zh = twoDigits(s, 22);
  const zm = twoDigits(s, 24);
  const sign = s.charCodeAt(21);
  if (
    mday < 1 ||
    mday > 31 ||
    mi < 0 ||
    mi % 3 !== 0 ||
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
    (sign !== 43 && sign !== 45) ||
    s.charCodeAt(14) !== 58 ||
    s.charCodeAt(17) !== 58 ||
    s.charCodeAt(20) !== 32
  )
    return undefined;
  const off = (zh * 3600 + zm * 60) * (sign === 45 ? -1 : 1);
  const wall = daysFromCivil(cent * 100 + yy, mi / 3 + 1, mday) * 86400 + hour * 3600 + min * 60 + sec;
  return new EventTime(wall - off, 0);
}
