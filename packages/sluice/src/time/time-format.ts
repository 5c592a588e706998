// Ruby's strftime/strptime directives (the ones Fluentd's time_format, out_file paths and
// formatters use), compiled once per format into small pieces so formatting and parsing
// per event is a loop over closures with no regex and no Date object. This file holds the
// directive tokenizer, the broken-down fields and strftime; strptime is in strptime.ts.
import type { EventTime } from '@sluice/forward';
import {
  civilFromDays,
  daysFromCivil,
  formatOffset,
  type Zone,
  type ZoneOptions,
  zoneFor,
} from './time-zone.ts';

export type { Zone, ZoneOptions } from './time-zone.ts';
export { localZone, parseZone, UTC, zoneFor } from './time-zone.ts';

export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
export const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Broken-down time in a zone. */
export interface Fields {
  epoch: number;
  nsec: number;
  year: number;
  mon: number;
  mday: number;
  hour: number;
  min: number;
  sec: number;
  /** 0 = Sunday */
  wday: number;
  /** 1-based day of the year */
  yday: number;
  offset: number;
  zone: Zone;
}

const civil = [0, 0, 0];

export function fill(f: Fields, epoch: number, zone: Zone): void {
  const offset = zone.offsetAt(epoch);
  const local = epoch + offset;
  const days = Math.floor(local / 86400);
  const rem = local - days * 86400;
  civilFromDays(days, civil);
  f.epoch = epoch;
  f.year = civil[0]!;
  f.mon = civil[1]!;
  f.mday = civil[2]!;
  f.hour = Math.floor(rem / 3600);
  f.min = Math.floor((rem % 3600) / 60);
  f.sec = rem % 60;
  f.wday = (((days + 4) % 7) + 7) % 7;
  f.yday = days - daysFromCivil(f.year, 1, 1) + 1;
  f.offset = offset;
  f.zone = zone;
}

// ---------------------------------------------------------------- tokenizer

export interface Directive {
  conv: string;
  flags: string;
  width: number | undefined;
  colons: number;
}

type Token = string | Directive;

const COMPOSITE: Record<string, string> = {
  c: '%a %b %e %H:%M:%S %Y',
  D: '%m/%d/%y',
  x: '%m/%d/%y',
  F: '%Y-%m-%d',
  T: '%H:%M:%S',
  X: '%H:%M:%S',
  R: '%H:%M',
  r: '%I:%M:%S %p',
  '+': '%a %b %e %H:%M:%S %Z %Y',
  v: '%e-%^b-%Y',
};

export function tokenize(format: string, expand: boolean): Token[] {
  const out: Token[] = [];
  let lit = '';
  const flush = () => {
    if (lit) out.push(lit);
    lit = '';
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%' || i === format.length - 1) {
      lit += ch;
      continue;
    }
    let j = i + 1;
    let flags = '';
    while (j < format.length && '-_0^#'.includes(format[j]!)) flags += format[j++];
    let w = '';
    while (j < format.length && format[j]! >= '0' && format[j]! <= '9') w += format[j++];
    let colons = 0;
    while (j < format.length && format[j] === ':') {
      colons++;
      j++;
    }
    // E and O are locale modifiers in POSIX; Ruby ignores them.
    if (
      (format[j] === 'E' || format[j] === 'O') &&
      j + 1 < format.length &&
      /[cCxXyYdeHImMSuUVwWy]/.test(format[j + 1]!)
    )
      j++;
    const conv = format[j];
    if (conv === undefined) {
      lit += format.slice(i);
      break;
    }
    if (conv === '%') {
      lit += '%';
    } else if (conv === 'n' && flags === '' && !w) {
      lit += '\n';
    } else if (conv === 't' && flags === '' && !w) {
      lit += '\t';
    } else if (expand && COMPOSITE[conv] && !w && flags === '') {
      flush();
      out.push(...tokenize(COMPOSITE[conv]!, true));
    } else {
      flush();
      out.push({ conv, flags, width: w ? Number(w) : undefined, colons });
    }
    i = j;
  }
  flush();
  return out;
}

// ---------------------------------------------------------------- strftime

type Piece = (f: Fields) => string;

function pad(n: number, width: number, ch: string): string {
  const neg = n < 0;
  let s = String(neg ? -n : n);
  while (s.length < width) s = ch + s;
  return neg ? `-${s}` : s;
}

function isoWeek(f: Fields): [number, number] {
  const wdayIso = f.wday === 0 ? 7 : f.wday;
  let week = Math.floor((f.yday - wdayIso + 10) / 7);
  let year = f.year;
  const weeksIn = (y: number) => {
    const p = (yy: number) => (yy + Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400)) % 7;
    return p(y) === 4 || p(y - 1) === 3 ? 53 : 52;
  };
  if (week < 1) {
    year -= 1;
    week = weeksIn(year);
  } else if (week > weeksIn(year)) {
    year += 1;
    week = 1;
  }
  return [year, week];
}

function numeric(d: Directive, width: number, ch: string, get: (f: Fields) => number): Piece {
  let w = d.width ?? width;
  let c = ch;
  if (d.flags.includes('-')) w = 0;
  else if (d.flags.includes('_')) c = ' ';
  else if (d.flags.includes('0')) c = '0';
  return (f) => pad(get(f), w, c);
}

function text(d: Directive, get: (f: Fields) => string, swapLower = false): Piece {
  const up = d.flags.includes('^') || (d.flags.includes('#') && !swapLower);
  const down = d.flags.includes('#') && swapLower;
  const w = d.width ?? 0;
  const c = d.flags.includes('0') ? '0' : ' ';
  return (f) => {
    let s = get(f);
    if (up) s = s.toUpperCase();
    else if (down) s = s.toLowerCase();
    while (s.length < w) s = c + s;
    return s;
  };
}

function fraction(d: Directive, digits: number): Piece {
  const n = d.width ?? digits;
  return (f) => {
    const s = String(f.nsec).padStart(9, '0');
    return n <= 9 ? s.slice(0, n) : s + '0'.repeat(n - 9);
  };
}

function strftimePiece(d: Directive): Piece | string {
  const h12 = (f: Fields) => (f.hour % 12 === 0 ? 12 : f.hour % 12);
  switch (d.conv) {
    case 'Y':
      return numeric(d, 4, '0', (f) => f.year);
    case 'C':
      return numeric(d, 2, '0', (f) => Math.floor(f.year / 100));
    case 'y':
      return numeric(d, 2, '0', (f) => ((f.year % 100) + 100) % 100);
    case 'm':
      return numeric(d, 2, '0', (f) => f.mon);
    case 'd':
      return numeric(d, 2, '0', (f) => f.mday);
    case 'e':
      return numeric(d, 2, ' ', (f) => f.mday);
    case 'j':
      return numeric(d, 3, '0', (f) => f.yday);
    case 'H':
      return numeric(d, 2, '0', (f) => f.hour);
    case 'k':
      return numeric(d, 2, ' ', (f) => f.hour);
    case 'I':
      return numeric(d, 2, '0', h12);
    case 'l':
      return numeric(d, 2, ' ', h12);
    case 'M':
      return numeric(d, 2, '0', (f) => f.min);
    case 'S':
      return numeric(d, 2, '0', (f) => f.sec);
    case 'L':
      return fraction(d, 3);
    case 'N':
      return fraction(d, 9);
    case 's':
      return numeric(d, 1, '0', (f) => f.epoch);
    case 'Q':
      return numeric(d, 1, '0', (f) => f.epoch * 1000 + Math.floor(f.nsec / 1e6));
    case 'u':
      return numeric(d, 1, '0', (f) => (f.wday === 0 ? 7 : f.wday));
    case 'w':
      return numeric(d, 1, '0', (f) => f.wday);
    case 'U':
      return numeric(d, 2, '0', (f) => Math.floor((f.yday - 1 + 7 - f.wday) / 7));
    case 'W':
      return numeric(d, 2, '0', (f) => Math.floor((f.yday - 1 + 7 - ((f.wday + 6) % 7)) / 7));
    case 'G':
      return numeric(d, 4, '0', (f) => isoWeek(f)[0]);
    case 'g':
      return numeric(d, 2, '0', (f) => isoWeek(f)[0] % 100);
    case 'V':
      return numeric(d, 2, '0', (f) => isoWeek(f)[1]);
    case 'A':
      return text(d, (f) => DAYS[f.wday]!);
    case 'a':
      return text(d, (f) => DAYS[f.wday]!.slice(0, 3));
    case 'B':
      return text(d, (f) => MONTHS[f.mon - 1]!);
    case 'b':
    case 'h':
      return text(d, (f) => MONTHS[f.mon - 1]!.slice(0, 3));
    case 'p':
      return text(d, (f) => (f.hour < 12 ? 'AM' : 'PM'), true);
    case 'P':
      return text(d, (f) => (f.hour < 12 ? 'am' : 'pm'));
    case 'Z':
      return text(d, (f) => f.zone.abbrev(f.epoch), true);
    case 'z': {
      const sep = d.colons > 0 ? ':' : '';
      const secs = d.colons > 1;
      return (f) => formatOffset(f.offset, sep, secs);
    }
    default: {
      // Ruby prints an unknown directive as written.
      const w = d.width ?? '';
      return `%${d.flags}${w}${':'.repeat(d.colons)}${d.conv}`;
    }
  }
}

export type TimeFormatter = (time: EventTime) => string;

/**
 * Compiles a Ruby strftime format for a zone (`utc`, `timezone`, else local time). The
 * result caches the fields of the last second seen, and the whole string when the format
 * has no sub-second directive: consecutive events of one second cost a comparison.
 */
export function compileStrftime(format: string, opts?: ZoneOptions): TimeFormatter {
  const zone = zoneFor(opts);
  const tokens = tokenize(format, true);
  const pieces = tokens.map((t) => (typeof t === 'string' ? t : strftimePiece(t)));
  const subsecond = tokens.some((t) => typeof t !== 'string' && 'LNQ'.includes(t.conv));
  const f = { epoch: Number.NaN, nsec: 0 } as Fields;
  let lastOut = '';
  const n = pieces.length;
  if (n === 1 && typeof pieces[0] === 'string') {
    const s = pieces[0];
    return () => s;
  }
  return (time) => {
    if (time.sec !== f.epoch) {
      fill(f, time.sec, zone);
    } else if (!subsecond) {
      return lastOut;
    }
    f.nsec = time.nsec;
    let out = '';
    for (let i = 0; i < n; i++) {
      const p = pieces[i]!;
      out += typeof p === 'string' ? p : p(f);
    }
    lastOut = out;
    return out;
  };
}

/**
 * `compile`, remembered by format and zone: one-off strftime/strptime calls compile each
 * format once. Bounded: cleared when it passes 256 formats.
 */
export function compiledByFormat<T>(
  compile: (format: string, opts?: ZoneOptions) => T,
): (format: string, opts?: ZoneOptions) => T {
  const cache = new Map<string, T>();
  return (format, opts) => {
    const key = `${opts?.timezone ?? ''}\u0000${opts?.utc ? 1 : 0}\u0000${format}`;
    let fn = cache.get(key);
    if (fn === undefined) {
      if (cache.size > 256) cache.clear();
      fn = compile(format, opts);
      cache.set(key, fn);
    }
    return fn;
  };
}

const strftimeFor = compiledByFormat(compileStrftime);

/** One-off strftime; compiled formats are cached (bounded). */
export function strftime(format: string, time: EventTime, opts?: ZoneOptions): string {
  return strftimeFor(format, opts)(time);
}
