// What Fluentd's formatters share: the `newline` parameter, the time parameters
// (TimeMixin::Formatter), and Ruby's to_s / inspect for values written as text.
import type { EventTime } from '@sluice/forward';
import { type ConfigElement, param } from '../../config/ast.ts';
import { defineParams, type ParamSpec, type ParamsOf } from '../../config/schema.ts';
import { ConfigError } from '../../core/errors.ts';
import { compileStrftime, zoneFor } from '../../time/time-format.ts';
import { formatOffset } from '../../time/time-zone.ts';

export const NEWLINE_PARAM = defineParams({
  newline: {
    type: 'enum',
    values: ['lf', 'crlf'],
    default: 'lf',
    description: 'Line ending: lf (\\n) or crlf (\\r\\n).',
  },
});

export const TIME_FORMAT_PARAMS = defineParams({
  time_type: {
    type: 'enum',
    values: ['string', 'unixtime', 'float'],
    default: 'string',
    description:
      'How the time is written: string (time_format), unixtime (seconds) or float (seconds.nanoseconds).',
  },
  time_format: {
    type: 'string',
    default: null,
    description: 'strftime format of the time; default ISO 8601 (2013-02-28T12:00:00+09:00).',
  },
  localtime: { type: 'bool', default: true, description: 'Write times in the local zone (false = UTC).' },
  utc: { type: 'bool', default: false, description: 'Write times in UTC.' },
  timezone: {
    type: 'string',
    default: null,
    description: "Write times in this zone: '+09:00', 'UTC' or an IANA name.",
  },
});

/** A formatter's schema: its own params, the time params, and `newline` when it writes lines. */
export function formatterSchema<const O extends Record<string, ParamSpec>>(
  own: O,
): { params: typeof TIME_FORMAT_PARAMS & typeof NEWLINE_PARAM & O };
export function formatterSchema<const O extends Record<string, ParamSpec>>(
  own: O,
  opts: { newline: false },
): { params: typeof TIME_FORMAT_PARAMS & O };
export function formatterSchema(own: Record<string, ParamSpec>, opts: { newline?: boolean } = {}) {
  return { params: { ...TIME_FORMAT_PARAMS, ...(opts.newline === false ? {} : NEWLINE_PARAM), ...own } };
}

export function newlineOf(config: { params: ParamsOf<typeof NEWLINE_PARAM> }): string {
  return config.params.newline === 'crlf' ? '\r\n' : '\n';
}

/**
 * Fluentd's TimeFormatter: unixtime, float (`sec.nnnnnnnnn`), a strftime format, or
 * ISO 8601 when no format is given (`Z` for UTC, as Ruby's Time#iso8601).
 */
export function timeFormatterFrom(config: {
  params: ParamsOf<typeof TIME_FORMAT_PARAMS>;
  element: ConfigElement;
}): (time: EventTime) => string {
  const p = config.params;
  const given = (k: string) => param(config.element, k) !== undefined;
  if (given('utc') && given('localtime') && p.utc === p.localtime) {
    throw new ConfigError('both utc and localtime are given; use only one of them', config.element.location);
  }
  if (p.time_type === 'unixtime') return (t) => String(t.sec);
  if (p.time_type === 'float') return (t) => `${t.sec}.${String(t.nsec).padStart(9, '0')}`;
  const timezone = p.timezone;
  const utc = !timezone && (p.utc || (given('localtime') && p.localtime === false));
  let zone: ReturnType<typeof zoneFor>;
  try {
    zone = zoneFor({ timezone, utc });
  } catch (e) {
    throw new ConfigError(
      `parameter 'timezone': ${(e as Error).message}`,
      param(config.element, 'timezone')?.location,
    );
  }
  const format = p.time_format;
  if (format !== undefined) return compileStrftime(format, { timezone, utc });
  const base = compileStrftime('%Y-%m-%dT%H:%M:%S', { timezone, utc });
  if (utc) return (t) => `${base(t)}Z`;
  return (t) => base(t) + formatOffset(zone.offsetAt(t.sec), ':');
}

/** Ruby's to_s of a value decoded from msgpack/JSON: nil is empty, containers are inspected. */
export function rubyToS(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return rubyInspect(v);
  return String(v);
}

/** Ruby 3.4's inspect: `{"a" => 1, "b" => nil}`, `["x", 2]`. */
export function rubyInspect(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(', ')}]`;
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('latin1'));
  if (typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      parts.push(`${JSON.stringify(k)} => ${rubyInspect(x)}`);
    return `{${parts.join(', ')}}`;
  }
  return String(v);
}
