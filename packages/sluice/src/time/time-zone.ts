// Time zones and calendar arithmetic for strftime/strptime, without a Date per event.
// A zone is Fluentd's `timezone` value: '+09:00', '+0900', '+09', 'UTC', an IANA name
// ('Asia/Tokyo', resolved through Intl), or the process's local zone.

export interface Zone {
  readonly name: string;
  /** set when the offset never changes (UTC, '+09:00') */
  readonly fixed: number | undefined;
  /** offset from UTC, in seconds, at a UTC instant (seconds since the epoch) */
  offsetAt(utcSec: number): number;
  /** the zone's abbreviation at a UTC instant, as %Z prints it */
  abbrev(utcSec: number): string;
}

/** Offset in seconds of a wall-clock time (its fields read as if UTC) in a zone. */
export function offsetForWall(zone: Zone, wallSec: number): number {
  if (zone.fixed !== undefined) return zone.fixed;
  // Two passes settle the offset except inside a DST gap/overlap, where this picks one
  // side (as Ruby's Time.local does).
  const o1 = zone.offsetAt(wallSec);
  const o2 = zone.offsetAt(wallSec - o1);
  if (o1 === o2) return o1;
  const o3 = zone.offsetAt(wallSec - o2);
  return o3 === o2 ? o2 : Math.max(o1, o2);
}

const NUMERIC = /^([+-])(\d\d):?(\d\d)?(?::?(\d\d))?$/;

/** Parses a numeric offset ('+09:00', '-0330', '+09'); undefined when it is not one. */
export function parseOffset(text: string): number | undefined {
  const m = NUMERIC.exec(text);
  if (!m) return undefined;
  const v = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return m[1] === '-' ? -v : v;
}

export function fixedZone(offset: number, name = formatOffset(offset, ':'), abbr = ''): Zone {
  return { name, fixed: offset, offsetAt: () => offset, abbrev: () => abbr };
}

export const UTC: Zone = fixedZone(0, 'UTC', 'UTC');

export function formatOffset(offset: number, sep: string, withSeconds = false): string {
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  let s = `${sign}${h < 10 ? '0' : ''}${h}${sep}${m < 10 ? '0' : ''}${m}`;
  if (withSeconds) {
    const ss = a % 60;
    s += `${sep}${ss < 10 ? '0' : ''}${ss}`;
  }
  return s;
}

// Offsets of real zones change only on quarter-hour boundaries, so one lookup per
// 15-minute bucket is exact; the cache is bounded and cleared when full.
const BUCKET = 900;
const CACHE_MAX = 4096;

function cachedZone(
  name: string,
  compute: (utcSec: number) => number,
  abbrevOf: (utcSec: number) => string,
): Zone {
  const cache = new Map<number, number>();
  let lastBucket = Number.NaN;
  let lastOffset = 0;
  return {
    name,
    fixed: undefined,
    offsetAt(utcSec) {
      const b = Math.floor(utcSec / BUCKET);
      if (b === lastBucket) return lastOffset;
      let o = cache.get(b);
      if (o === undefined) {
        o = compute(b * BUCKET);
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(b, o);
      }
      lastBucket = b;
      lastOffset = o;
      return o;
    },
    abbrev: abbrevOf,
  };
}

let local: Zone | undefined;

/** The process's local zone (TZ environment variable, or the system's). */
export function localZone(): Zone {
  local ??= cachedZone(
    'localtime',
    (s) => -new Date(s * 1000).getTimezoneOffset() * 60,
    (s) => shortName(undefined, s),
  );
  return local;
}

function shortName(timeZone: string | undefined, utcSec: number): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' }).formatToParts(
    utcSec * 1000,
  );
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
}

function ianaZone(name: string): Zone {
  // Throws RangeError for an unknown name: that is the validation.
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  return cachedZone(
    name,
    (s) => {
      const v = fmt.formatToParts(s * 1000).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
      return v === 'GMT' ? 0 : (parseOffset(v.slice(3)) ?? 0);
    },
    (s) => shortName(name, s),
  );
}

const zones = new Map<string, Zone>();

/**
 * Resolves a `timezone` value. Throws RangeError with a clear message for a value that is
 * neither a numeric offset nor a known zone name.
 */
export function parseZone(tz: string): Zone {
  const hit = zones.get(tz);
  if (hit) return hit;
  let z: Zone;
  const off = parseOffset(tz);
  if (off !== undefined) z = fixedZone(off);
  else if (tz === 'UTC' || tz === 'Z' || tz === 'GMT' || tz === 'Etc/UTC') z = UTC;
  else if (tz === 'localtime') z = localZone();
  else {
    try {
      z = ianaZone(tz);
    } catch {
      throw new RangeError(
        `unknown timezone '${tz}' (use +HH:MM, +HHMM, UTC or an IANA name such as Asia/Tokyo)`,
      );
    }
  }
  zones.set(tz, z);
  return z;
}

export interface ZoneOptions {
  utc?: boolean;
  timezone?: string;
}

/** Fluentd's precedence: `timezone` wins, then `utc`, else local time. */
export function zoneFor(opts?: ZoneOptions): Zone {
  if (opts?.timezone) return parseZone(opts.timezone);
  if (opts?.utc) return UTC;
  return localZone();
}

/** Days since 1970-01-01 of a proleptic Gregorian date; `d` past the month's end rolls over. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil, writing [year, month, day] into `out`. */
export function civilFromDays(days: number, out: number[]): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (m <= 2 ? 1 : 0);
  out[1] = m;
  out[2] = d;
}
