// Fluentd's TimeParser family (lib/fluent/time.rb): how a time value found in a record
// (`time_key`) becomes an EventTime, by `time_type` string / unixtime / float / mixed.
import { EventTime } from '@sluice/forward';
import { SluiceError } from '../../core/errors.ts';
import { compileStrptime, type TimeParser } from '../../time/strptime.ts';
import { zoneFor } from '../../time/time-format.ts';
import { daysFromCivil, offsetForWall, parseOffset, type Zone } from '../../time/time-zone.ts';

export type TimeType = 'string' | 'unixtime' | 'float' | 'mixed';
export const TIME_TYPES: readonly TimeType[] = ['string', 'unixtime', 'float', 'mixed'];

export interface TimeParserOptions {
  type: TimeType;
  /** strptime format, or `%iso8601`; none = a lenient ISO 8601 / RFC 2822 reader */
  format?: string;
  /** tried in order after `format` (time_type mixed); may include `unixtime` and `float` */
  fallbacks?: readonly string[];
  timezone?: string;
  utc?: boolean;
}

/** Returns undefined when the value is not a time in the configured form. */
export type ValueTimeParser = (value: unknown) => EventTime | undefined;

const INT = /^\s*([+-]?\d+)/;
const FLOAT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** time_type unixtime: integer seconds (a number, or a string starting with digits). */
export function parseUnixtime(value: unknown): EventTime | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) ? new EventTime(Math.trunc(value), 0) : undefined;
  if (typeof value === 'bigint') return new EventTime(Number(value), 0);
  if (typeof value !== 'string') return undefined;
  const m = INT.exec(value);
  return m ? new EventTime(Number(m[1]), 0) : undefined;
}

/**
 * time_type float: `sec.fraction`. Strings are split at the dot as Fluentd does, so
 * nanoseconds survive that a double would round away.
 */
export function parseFloatTime(value: unknown): EventTime | undefined {
  if (value instanceof EventTime) return value;
  if (typeof value === 'number') return EventTime.from(value);
  if (typeof value !== 'string') return undefined;
  const dot = value.indexOf('.');
  const secPart = dot < 0 ? value : value.slice(0, dot);
  const m = INT.exec(secPart);
  if (!m) return undefined;
  let frac = dot < 0 ? '' : value.slice(dot + 1);
  const end = frac.search(/\D/);
  if (end >= 0) frac = frac.slice(0, end);
  frac = (frac.slice(0, 9) + '000000000').slice(0, 9);
  const sec = Number(m[1]);
  const nsec = Number(frac);
  return sec < 0 && nsec > 0 ? new EventTime(sec - 1, 1e9 - nsec) : new EventTime(sec, nsec);
}

const ISO =
  /^\s*([+-]?\d{4,})[-/](\d{1,2})[-/](\d{1,2})(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$/i;
const ISO_STRICT =
  /^([+-]?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?$/;

function fromIso(m: RegExpExecArray, zone: Zone): EventTime | undefined {
  const mon = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const min = Number(m[5] ?? 0);
  const sec = Number(m[6] ?? 0);
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 24 || min > 59 || sec > 60) return undefined;
  const wall = daysFromCivil(Number(m[1]), mon, day) * 86400 + hour * 3600 + min * 60 + sec;
  const nsec = m[7] ? Number((m[7].slice(0, 9) + '000000000').slice(0, 9)) : 0;
  const z = m[8];
  let offset: number | undefined;
  if (z !== undefined) offset = /^(z|utc|gmt)$/i.test(z) ? 0 : parseOffset(z);
  if (offset === undefined) offset = offsetForWall(zone, wall);
  return new EventTime(wall - offset, nsec);
}

/**
 * Ruby's Time.parse without a format, as far as logs need it: ISO 8601 / RFC 3339 in
 * its common spellings, then whatever Date.parse reads (RFC 2822, `Feb 28 2013 12:00`).
 * Text without a zone is read in `zone`.
 */
export function parseTimeLoose(text: string, zone: Zone): EventTime | undefined {
  const m = ISO.exec(text);
  if (m) return fromIso(m, zone);
  // The access-log stamp (28/Feb/2013:12:00:00 +0900), which Date.parse does not read.
  if (/^\s*\[?\d{1,2}\/[A-Za-z]{3}\/\d{4}:/.test(text))
    return apacheStamp(text.replace(/^\s*\[|\]\s*$/g, ''));
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  return EventTime.fromMillis(ms);
}

const apacheStamp = compileStrptime('%d/%b/%Y:%H:%M:%S %z');

function stringParser(
  format: string | undefined,
  timezone: string | undefined,
  utc: boolean | undefined,
): (v: string) => EventTime | undefined {
  const zone = zoneFor({ timezone, utc });
  if (format === undefined) return (v) => parseTimeLoose(v, zone);
  if (format === '%iso8601') {
    return (v) => {
      const m = ISO_STRICT.exec(v);
      return m ? fromIso(m, zone) : undefined;
    };
  }
  const p: TimeParser = compileStrptime(format, { timezone, utc });
  return p;
}

/** A two-entry cache, as Fluentd's: runs of events with the same time text parse once. */
function cached(parse: (v: string) => EventTime | undefined): ValueTimeParser {
  let k1: string | undefined;
  let v1: EventTime | undefined;
  let k2: string | undefined;
  let v2: EventTime | undefined;
  return (value) => {
    if (typeof value !== 'string') return value instanceof EventTime ? value : undefined;
    if (value === k2) return v2;
    if (value === k1) return v1;
    const t = parse(value);
    k1 = k2;
    v1 = v2;
    k2 = value;
    v2 = t;
    return t;
  };
}

/**
 * Builds the parser for a time value. Throws RangeError for an unknown timezone and
 * Error when time_type mixed has no format to try.
 */
export function createTimeParser(opts: TimeParserOptions): ValueTimeParser {
  if (opts.type === 'unixtime') return parseUnixtime;
  if (opts.type === 'float') return parseFloatTime;
  if (opts.type === 'string') return cached(stringParser(opts.format, opts.timezone, opts.utc));
  const chain: ValueTimeParser[] = [];
  for (const f of [opts.format, ...(opts.fallbacks ?? [])]) {
    if (f === undefined) continue;
    if (f === 'unixtime' || f === 'float') {
      const numeric = f === 'unixtime' ? parseUnixtime : parseFloatTime;
      // Fluentd tries a numeric parser only on values that read as a number as a whole.
      chain.push((v) =>
        typeof v === 'number' || (typeof v === 'string' && FLOAT.test(v)) ? numeric(v) : undefined,
      );
    } else {
      chain.push(cached(stringParser(f, opts.timezone, opts.utc)));
    }
  }
  if (chain.length === 0)
    throw new SluiceError(
      'SLUICE_CONFIG',
      'time_type is mixed but time_format and time_format_fallbacks are empty',
    );
  return (value) => {
    for (const p of chain) {
      const t = p(value);
      if (t !== undefined) return t;
    }
    return undefined;
  };
}
