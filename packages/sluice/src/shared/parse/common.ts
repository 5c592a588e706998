// What every <parse> section shares (Fluentd's Parser base class and TimeMixin::Parser):
// the common parameters, time extraction from `time_key`, `types` conversion and null
// values. A parser plugin declares its own params with `parserSchema` and finishes every
// record with `ParserCore.finish`.
import { EventTime } from '@sluice/forward';
import { type ConfigElement, param } from '../../config/ast.ts';
import { defineParams, type ParamSpec, type ParamsOf } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import type { BatchBuilder } from '../../core/batch-builder.ts';
import { ConfigError } from '../../core/errors.ts';
import type { ParserPlugin, PluginContext } from '../../core/plugin.ts';
import { rubyRegexp } from './ruby-regexp.ts';
import { createTimeParser, type TimeType, type ValueTimeParser } from './time-parser.ts';
import { buildTypeConverters, type Converter } from './types.ts';

export interface ParseResult {
  /** undefined: the text had no time and estimate_current_event is off (the caller uses now) */
  time: EventTime | undefined;
  record: EventRecord;
}

/**
 * What Sluice's parsers offer beyond the plugin contract. `parse` returns the first
 * record, or undefined with `lastError` saying why; `parseAll` returns every record a
 * text holds (a JSON array, a msgpack stream, a multiline buffer with several events).
 */
export interface SluiceParser extends ParserPlugin {
  parse(text: string): ParseResult | undefined;
  /** every record of the text, in order; undefined for a part that is not a record */
  parseAll?(text: string): (ParseResult | undefined)[];
  /** why the last parse returned undefined */
  lastError?: string;
  /**
   * A byte path, for parsers that have one: writes the entry for the UTF-8 line
   * `b[s, e)` straight into `w`, with `extra` (msgpack key and value, the tail's
   * path_key) appended to the record; false, with nothing written, leaves the line to
   * `parse`. Entries must be byte for byte what `parse` and BatchBuilder.record give.
   */
  entry?(w: BatchBuilder, b: Buffer, s: number, e: number, extra: Buffer | undefined): boolean;
  /** the keys `entry` may write: a path_key among them keeps the caller off the byte path */
  entryKeys?: readonly string[];
}

export const COMMON_PARSE_PARAMS = defineParams({
  types: {
    type: 'hash',
    default: null,
    description:
      "Value types by field: 'code:integer,ok:bool,at:time:%Y-%m-%d,tags:array:|'. Types: string, integer, float, bool, time[:[timezone:]format], array[:delimiter].",
  },
  time_key: {
    type: 'string',
    default: null,
    description: 'Field that holds the event time; it is removed from the record unless keep_time_key.',
  },
  time_type: {
    type: 'enum',
    values: ['string', 'unixtime', 'float', 'mixed'],
    default: 'string',
    description:
      'How the time field is read: string (time_format), unixtime (integer seconds), float (seconds.fraction), mixed (time_format then time_format_fallbacks).',
  },
  time_format: {
    type: 'string',
    default: null,
    description:
      "Ruby strptime format of the time field (e.g. '%d/%b/%Y:%H:%M:%S %z'), or %iso8601. Without it, ISO 8601 and RFC 2822 times are recognised.",
  },
  time_format_fallbacks: {
    type: 'array',
    default: [],
    description:
      'With time_type mixed: formats tried after time_format, in order; may include unixtime and float.',
  },
  keep_time_key: {
    type: 'bool',
    default: false,
    description: 'Keep the time field in the record after reading the event time from it.',
  },
  timezone: {
    type: 'string',
    default: null,
    description:
      "Zone of times without an offset: '+09:00', '+0900', 'UTC' or an IANA name such as 'Asia/Tokyo'.",
  },
  utc: { type: 'bool', default: false, description: 'Read times without an offset as UTC.' },
  localtime: {
    type: 'bool',
    default: true,
    description: 'Read times without an offset in the local zone (false = UTC).',
  },
  null_value_pattern: {
    type: 'string',
    default: null,
    description: 'String values matching this regexp (unanchored, e.g. /^(-|null)$/) become null.',
  },
  null_empty_string: { type: 'bool', default: false, description: 'Empty string values become null.' },
  estimate_current_event: {
    type: 'bool',
    default: true,
    description: 'Use the current time when the text has no time field.',
  },
  timeout: {
    type: 'time',
    default: null,
    deprecated: 'accepted for compatibility; parsing is not interrupted',
    description:
      "Fluentd's parse timeout. Accepted and ignored: Sluice's regexps run to completion (a warning is logged).",
  },
});

/**
 * A parser's schema: its own params plus the common ones, with per-parser defaults
 * (Fluentd's config_set_default, e.g. json defaults time_key to 'time').
 */
export function parserSchema<
  const O extends Record<string, ParamSpec>,
  const D extends { [K in keyof CommonParseParams]?: unknown } = Record<never, never>,
>(own: O, defaults?: D): { params: WithDefaults<CommonParseParams, D> & O } {
  const params: Record<string, ParamSpec> = { ...COMMON_PARSE_PARAMS };
  for (const [k, v] of Object.entries(defaults ?? {}))
    if (v !== undefined) params[k] = { ...params[k]!, default: v };
  // The common params with the defaults given, as the return type says.
  return { params: { ...(params as WithDefaults<CommonParseParams, D>), ...own } };
}

type CommonParseParams = typeof COMMON_PARSE_PARAMS;

/** Params with some defaults replaced (a default given as undefined leaves the param as it was). */
type WithDefaults<P, D> = {
  [K in keyof P]: K extends keyof D
    ? undefined extends D[K]
      ? P[K]
      : Omit<P[K], 'default'> & { default: D[K] }
    : P[K];
};

/** What the shared parser code reads of a parser's resolved config: the common params. */
export interface ParserConfig {
  params: ParamsOf<CommonParseParams>;
  element: ConfigElement;
}

/** A resolved element with string (or absent) params named `K`. */
export interface WithStringParams<K extends string> {
  params: { readonly [P in K]?: string | undefined };
  element: ConfigElement;
}

function fail(config: { element: ConfigElement }, key: string, reason: string): never {
  throw new ConfigError(
    `parameter '${key}': ${reason}`,
    param(config.element, key)?.location ?? config.element.location,
  );
}

/** Compiles a regexp parameter, turning a bad expression into a ConfigError at its line. */
export function regexpParam<K extends string>(
  config: WithStringParams<K>,
  key: K,
  wrapped = false,
): RegExp | undefined {
  const v = config.params[key];
  if (v === undefined) return undefined;
  try {
    return rubyRegexp(v, wrapped);
  } catch (e) {
    return fail(config, key, `invalid regexp: ${(e as Error).message}`);
  }
}

/** A separator parameter: an empty one would never advance, so it is refused. */
export function separatorParam<K extends string>(
  config: { params: { readonly [P in K]: string }; element: ConfigElement },
  key: K,
): string {
  const v = config.params[key];
  if (v === '') fail(config, key, 'must not be empty (write a tab as "\\t", in double quotes)');
  return v;
}

/** Builds a time parser from this section's time_* params (overrides for fixed formats). */
export function timeParserFrom(
  config: ParserConfig,
  overrides: { type?: TimeType; format?: string } = {},
): ValueTimeParser {
  const p = config.params;
  const given = (k: string) => param(config.element, k) !== undefined;
  if (given('utc') && given('localtime') && p.utc === p.localtime)
    fail(config, 'utc', 'both utc and localtime are given; use only one of them');
  const utc = p.utc || (given('localtime') && p.localtime === false);
  try {
    return createTimeParser({
      type: overrides.type ?? p.time_type,
      format: overrides.format ?? p.time_format,
      fallbacks: p.time_format_fallbacks,
      timezone: p.timezone,
      utc,
    });
  } catch (e) {
    const key = e instanceof RangeError ? 'timezone' : 'time_type';
    return fail(config, key, (e as Error).message);
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Time extraction and value conversion shared by the parsers. */
export class ParserCore {
  readonly timeKey: string | undefined;
  readonly keepTimeKey: boolean;
  readonly estimate: boolean;
  readonly timeParser: ValueTimeParser;
  private readonly converters: Map<string, Converter> | undefined;
  private readonly nullPattern: RegExp | undefined;
  private readonly nullEmpty: boolean;
  private readonly convert: boolean;
  /** why the last finish() failed */
  error: string | undefined;

  constructor(
    config: ParserConfig,
    ctx: PluginContext | undefined,
    timeOverrides?: { type?: TimeType; format?: string },
  ) {
    const p = config.params;
    this.timeKey = p.time_key;
    this.keepTimeKey = p.keep_time_key;
    this.estimate = p.estimate_current_event;
    this.timeParser = timeParserFrom(config, timeOverrides);
    if (p.types) {
      try {
        this.converters = buildTypeConverters(p.types);
      } catch (e) {
        fail(config, 'types', (e as Error).message);
      }
    }
    this.nullPattern = regexpParam(config, 'null_value_pattern');
    this.nullEmpty = p.null_empty_string;
    this.convert = this.converters !== undefined || this.nullPattern !== undefined || this.nullEmpty;
    if (p.timeout !== undefined)
      ctx?.logger.warn(
        { code: 'PARSE_TIMEOUT_IGNORED', plugin: ctx.id },
        '<parse> timeout is accepted for compatibility but not enforced',
      );
  }

  /** The event time of a record without a time field. */
  now(): EventTime | undefined {
    return this.estimate ? EventTime.now() : undefined;
  }

  /**
   * Reads the time from `time_key` (removing it unless keep_time_key), then applies
   * null rules and `types`. Undefined (with `error`) when the time does not parse.
   */
  finish(record: EventRecord): ParseResult | undefined {
    let time: EventTime | undefined;
    const key = this.timeKey;
    if (key !== undefined && hasOwn.call(record, key)) {
      const src = record[key];
      if (!this.keepTimeKey) delete record[key];
      time = this.timeParser(src);
      if (time === undefined) {
        this.error = `invalid time format: value = ${typeof src === 'string' ? src : JSON.stringify(src)}`;
        return undefined;
      }
    } else {
      time = this.estimate ? EventTime.now() : undefined;
    }
    if (this.convert) this.convertValues(record);
    return { time, record };
  }

  convertValues(record: EventRecord): void {
    const conv = this.converters;
    for (const key in record) {
      const v = record[key];
      // nil and false are left as they are, as in Fluentd
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === 'string' && ((this.nullEmpty && v === '') || this.nullPattern?.test(v))) {
        record[key] = null;
        continue;
      }
      const c = conv?.get(key);
      if (c) record[key] = c(v);
    }
  }
}
