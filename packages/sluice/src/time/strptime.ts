// Ruby's strptime (Fluentd's time_format for parsers): a format compiles once into a list
// of matchers, one per directive or literal, that read the text left to right.
import { EventTime } from '@sluice/forward';
import { ACCESS_LOG_FORMAT, accessLogStamp } from './access-log-time.ts';
import {
  compiledByFormat,
  DAYS,
  type Directive,
  type Fields,
  fill,
  MONTHS,
  tokenize,
} from './time-format.ts';
import {
  civilFromDays,
  daysFromCivil,
  offsetForWall,
  type Zone,
  type ZoneOptions,
  zoneFor,
} from './time-zone.ts';

const civil = [0, 0, 0];

/**
 * What a parse collected; undefined fields were not in the text. Every field is set in
 * the constructor so all parses share one object shape (V8 keeps the matchers
 * monomorphic), and a compiled parser reuses one instance: parsing is synchronous.
 */
class Parsed {
  pos = 0;
  year: number | undefined = undefined;
  mon: number | undefined = undefined;
  mday: number | undefined = undefined;
  yday: number | undefined = undefined;
  hour: number | undefined = undefined;
  min: number | undefined = undefined;
  sec: number | undefined = undefined;
  nsec: number | undefined = undefined;
  pm: boolean | undefined = undefined;
  century: number | undefined = undefined;
  epoch: number | undefined = undefined;
  offset: number | undefined = undefined;

  reset(): this {
    this.pos = 0;
    this.year = this.mon = this.mday = this.yday = this.hour = this.min = this.sec = undefined;
    this.nsec = this.century = this.epoch = this.offset = undefined;
    this.pm = undefined;
    return this;
  }
}

type Matcher = (s: string, p: Parsed) => boolean;

const NUMERIC_CONVS = 'CDdeFGgHIjkLlMmNQRrSsTUuVvWwXxYy';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Reads up to `max` digits (at least one) with an optional sign; NaN when none. */
function readInt(s: string, p: Parsed, max: number, signed: boolean): number {
  let i = p.pos;
  let neg = false;
  if (signed && (s[i] === '-' || s[i] === '+')) {
    neg = s[i] === '-';
    i++;
  }
  const start = i;
  let n = 0;
  while (i < s.length && i - start < max) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) break;
    n = n * 10 + (c - 48);
    i++;
  }
  if (i === start) return Number.NaN;
  p.pos = i;
  return neg ? -n : n;
}

/** Case-insensitive ASCII comparison of `len` characters of `name` at s[pos]. */
function sameCI(s: string, pos: number, name: string, len: number): boolean {
  if (pos + len > s.length) return false;
  for (let k = 0; k < len; k++)
    if ((s.charCodeAt(pos + k) | 0x20) !== (name.charCodeAt(k) | 0x20)) return false;
  return true;
}

function matchName(s: string, p: Parsed, names: string[]): number {
  // Full names first, then three-letter abbreviations; case-insensitive as Ruby.
  for (let i = 0; i < names.length; i++) {
    const full = names[i]!;
    if (sameCI(s, p.pos, full, full.length)) {
      p.pos += full.length;
      return i;
    }
  }
  for (let i = 0; i < names.length; i++) {
    if (sameCI(s, p.pos, names[i]!, 3)) {
      p.pos += 3;
      return i;
    }
  }
  return -1;
}

// Abbreviations Ruby's Date._strptime knows (a common subset); others leave the offset unset.
const ZONE_ABBREV: Record<string, number> = {
  utc: 0,
  gmt: 0,
  ut: 0,
  z: 0,
  wet: 0,
  bst: 3600,
  cet: 3600,
  cest: 7200,
  met: 3600,
  eet: 7200,
  eest: 10800,
  msk: 10800,
  ist: 19800,
  hkt: 28800,
  sgt: 28800,
  jst: 32400,
  kst: 32400,
  awst: 28800,
  aest: 36000,
  aedt: 39600,
  nzst: 43200,
  nzdt: 46800,
  est: -18000,
  edt: -14400,
  cst: -21600,
  cdt: -18000,
  mst: -25200,
  mdt: -21600,
  pst: -28800,
  pdt: -25200,
  akst: -32400,
  akdt: -28800,
  hst: -36000,
};

/** Reads exactly two digits at s[k]; -1 when there are not two. */
function twoDigits(s: string, k: number): number {
  const a = s.charCodeAt(k);
  const b = s.charCodeAt(k + 1);
  return isDigit(a) && isDigit(b) ? (a - 48) * 10 + (b - 48) : -1;
}

function readZone(s: string, p: Parsed): boolean {
  let i = p.pos;
  let base: number | undefined;
  // A name (UTC, GMT, JST...), optionally followed by a numeric offset (GMT+9).
  let j = i;
  while (j < s.length && (s.charCodeAt(j) | 0x20) >= 97 && (s.charCodeAt(j) | 0x20) <= 122) j++;
  if (j > i) {
    base = ZONE_ABBREV[s.slice(i, j).toLowerCase()];
    if (base === undefined) return false;
    i = j;
  }
  const sign = s[i];
  if (sign === '+' || sign === '-') {
    // +H, +HH, +HHMM, +HH:MM, +HHMMSS, +HH:MM:SS
    let k = i + 1;
    let h = twoDigits(s, k);
    if (h >= 0) k += 2;
    else if (isDigit(s.charCodeAt(k))) h = s.charCodeAt(k++) - 48;
    if (h >= 0) {
      let m = 0;
      let sec = 0;
      const colon = s[k] === ':';
      const mm = twoDigits(s, colon ? k + 1 : k);
      if (mm >= 0) {
        m = mm;
        k += colon ? 3 : 2;
        const colon2 = s[k] === ':';
        if (colon2 === colon) {
          const ss = twoDigits(s, colon2 ? k + 1 : k);
          if (ss >= 0) {
            sec = ss;
            k += colon2 ? 3 : 2;
          }
        }
      }
      if (h > 23 || m > 59 || sec > 59) return false;
      const v = h * 3600 + m * 60 + sec;
      p.offset = (base ?? 0) + (sign === '-' ? -v : v);
      p.pos = k;
      return true;
    }
  }
  if (base === undefined) return false;
  p.offset = base;
  p.pos = i;
  return true;
}

function strptimeMatcher(d: Directive, nextNumeric: boolean): Matcher {
  const num =
    (max: number, set: (p: Parsed, n: number) => boolean, signed = false, spaced = false): Matcher =>
    (s, p) => {
      if (spaced && s[p.pos] === ' ') p.pos++;
      const n = readInt(s, p, d.width ?? max, signed);
      return !Number.isNaN(n) && set(p, n);
    };
  const unbounded = nextNumeric ? undefined : Number.MAX_SAFE_INTEGER;
  switch (d.conv) {
    case 'Y':
      return num(unbounded ?? 4, (p, n) => ((p.year = n), true), true);
    case 'G':
      return num(unbounded ?? 4, () => true, true);
    case 'C':
      return num(unbounded ?? 2, (p, n) => ((p.century = n), true), true);
    case 'y':
      return num(2, (p, n) => ((p.year = n < 69 ? 2000 + n : 1900 + n), true));
    case 'g':
      return num(2, () => true);
    case 'm':
      return num(2, (p, n) => n >= 1 && n <= 12 && ((p.mon = n), true));
    case 'd':
    case 'e':
      return num(2, (p, n) => n >= 1 && n <= 31 && ((p.mday = n), true), false, true);
    case 'j':
      return num(3, (p, n) => n >= 1 && n <= 366 && ((p.yday = n), true));
    case 'H':
    case 'k':
      return num(2, (p, n) => n <= 24 && ((p.hour = n), true), false, true);
    case 'I':
    case 'l':
      return num(2, (p, n) => n >= 1 && n <= 12 && ((p.hour = n), true), false, true);
    case 'M':
      return num(2, (p, n) => n <= 59 && ((p.min = n), true));
    case 'S':
      return num(2, (p, n) => n <= 60 && ((p.sec = n), true));
    case 'u':
    case 'w':
      return num(1, (_p, n) => n <= 7);
    case 'U':
    case 'W':
    case 'V':
      return num(2, (_p, n) => n <= 53);
    case 's':
      return num(Number.MAX_SAFE_INTEGER, (p, n) => ((p.epoch = n), true), true);
    case 'Q':
      return num(
        Number.MAX_SAFE_INTEGER,
        (p, n) => ((p.epoch = Math.floor(n / 1000)), (p.nsec = (n % 1000) * 1e6), true),
        true,
      );
    case 'L':
    case 'N': {
      const max = d.width ?? (nextNumeric ? (d.conv === 'L' ? 3 : 9) : Number.MAX_SAFE_INTEGER);
      return (s, p) => {
        const start = p.pos;
        let i = start;
        let ns = 0;
        while (i < s.length && i - start < max && isDigit(s.charCodeAt(i))) {
          if (i - start < 9) ns = ns * 10 + (s.charCodeAt(i) - 48);
          i++;
        }
        if (i === start) return false;
        for (let k = Math.min(i - start, 9); k < 9; k++) ns *= 10;
        p.nsec = ns;
        p.pos = i;
        return true;
      };
    }
    case 'b':
    case 'B':
    case 'h':
      return (s, p) => {
        const i = matchName(s, p, MONTHS);
        if (i < 0) return false;
        p.mon = i + 1;
        return true;
      };
    case 'a':
    case 'A':
      return (s, p) => matchName(s, p, DAYS) >= 0;
    case 'p':
    case 'P':
      return (s, p) => {
        const t = s.slice(p.pos, p.pos + 4).toUpperCase();
        if (t.startsWith('AM') || t.startsWith('PM')) {
          p.pm = t[0] === 'P';
          p.pos += 2;
          return true;
        }
        if (t === 'A.M.' || t === 'P.M.') {
          p.pm = t[0] === 'P';
          p.pos += 4;
          return true;
        }
        return false;
      };
    case 'z':
    case 'Z':
      return readZone;
    default: {
      // An unknown directive must appear literally, as Ruby does.
      const lit = `%${d.conv}`;
      return (s, p) => {
        if (!s.startsWith(lit, p.pos)) return false;
        p.pos += lit.length;
        return true;
      };
    }
  }
}

function literalMatcher(lit: string): Matcher[] {
  // Whitespace in the format matches any run of whitespace (including none), as Ruby.
  const out: Matcher[] = [];
  for (const part of lit.split(/(\s+)/)) {
    if (part === '') continue;
    if (/^\s+$/.test(part)) {
      out.push((s, p) => {
        for (;;) {
          const c = s.charCodeAt(p.pos);
          // space, \t \n \v \f \r
          if (c === 32 || (c >= 9 && c <= 13)) p.pos++;
          else return true;
        }
      });
    } else {
      out.push((s, p) => {
        if (!s.startsWith(part, p.pos)) return false;
        p.pos += part.length;
        return true;
      });
    }
  }
  return out;
}

export type TimeParser = (text: string) => EventTime | undefined;

const nowFields = {} as Fields;

/**
 * Compiles a Ruby strptime format. Text after the last directive is ignored (as Ruby's
 * Time.strptime). Without %z/%Z/%s the text is read in the zone from `opts` (`timezone`,
 * else `utc`, else local time). Fields missing from the text are taken from the current
 * time down to the first one present (year, month, day, hour...), then default to their
 * minimum — Ruby's rule, which gives syslog's year-less stamps the current year.
 * Returns undefined when the text does not match.
 */
export function compileStrptime(format: string, opts?: ZoneOptions): TimeParser {
  const zone = zoneFor(opts);
  const tokens = tokenize(format, true);
  const matchers: Matcher[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (typeof t === 'string') {
      matchers.push(...literalMatcher(t));
      continue;
    }
    const next = tokens[i + 1];
    const nextNumeric =
      next !== undefined &&
      (typeof next === 'string' ? isDigit(next.charCodeAt(0)) : NUMERIC_CONVS.includes(next.conv));
    matchers.push(strptimeMatcher(t, nextNumeric));
  }
  const n = matchers.length;
  const p = new Parsed();
  const general: TimeParser = (text) => {
    p.reset();
    for (let i = 0; i < n; i++) if (!matchers[i]!(text, p)) return undefined;
    return assemble(p, zone);
  };
  return format === ACCESS_LOG_FORMAT ? (text) => accessLogStamp(text) ?? general(text) : general;
}

function assemble(p: Parsed, zone: Zone): EventTime | undefined {
  const nsec = p.nsec ?? 0;
  // %s is absolute: a zone in the same text does not shift it.
  if (p.epoch !== undefined) return new EventTime(p.epoch, nsec);
  let year = p.year;
  if (p.century !== undefined) year = p.century * 100 + (year === undefined ? 0 : ((year % 100) + 100) % 100);
  let hour = p.hour;
  if (hour !== undefined && p.pm !== undefined) hour = (hour % 12) + (p.pm ? 12 : 0);
  let { mon, mday } = p;
  if (p.yday !== undefined && mon === undefined && year !== undefined) {
    const days = daysFromCivil(year, 1, 1) + p.yday - 1;
    civilFromDays(days, civil);
    mon = civil[1]!;
    mday = civil[2]!;
  }
  let { min, sec } = p;
  if (
    year === undefined &&
    mon === undefined &&
    mday === undefined &&
    hour === undefined &&
    min === undefined &&
    sec === undefined &&
    p.nsec === undefined
  ) {
    return undefined;
  }
  // Ruby's Time.strptime: take now's fields down to the first field the text gives.
  const target = p.offset !== undefined ? undefined : zone;
  if (
    year === undefined ||
    mon === undefined ||
    mday === undefined ||
    hour === undefined ||
    min === undefined
  ) {
    const nowSec = Math.floor(Date.now() / 1000);
    fill(
      nowFields,
      nowSec,
      target ?? { name: '', fixed: p.offset, offsetAt: () => p.offset!, abbrev: () => '' },
    );
    do {
      if (year !== undefined) break;
      year = nowFields.year;
      if (mon !== undefined) break;
      mon = nowFields.mon;
      if (mday !== undefined) break;
      mday = nowFields.mday;
      if (hour !== undefined) break;
      hour = nowFields.hour;
      if (min !== undefined) break;
      min = nowFields.min;
      if (sec !== undefined) break;
      sec = nowFields.sec;
      // biome-ignore lint/correctness/noConstantCondition: a block to break out of at the first given field
    } while (false);
  }
  mon ??= 1;
  mday ??= 1;
  const wall = daysFromCivil(year, mon, mday) * 86400 + (hour ?? 0) * 3600 + (min ?? 0) * 60 + (sec ?? 0);
  const offset = p.offset ?? offsetForWall(zone, wall);
  return new EventTime(wall - offset, nsec);
}

const strptimeFor = compiledByFormat(compileStrptime);

/** One-off strptime; compiled formats are cached (bounded). */
export function strptime(format: string, text: string, opts?: ZoneOptions): EventTime | undefined {
  return strptimeFor(format, opts)(text);
}
