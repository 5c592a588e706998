// The `types` parameter of <parse> (Fluentd's Parser#build_type_converters):
// `field:type[:option]` with type string, integer, float, bool, time, array.
import { SluiceError } from '../../core/errors.ts';
import { parseZone } from '../../time/time-format.ts';
import { createTimeParser, TIME_TYPES, type TimeType } from './time-parser.ts';

export type Converter = (value: unknown) => unknown;

const TRUTHY = new Set(['true', 'yes', '1']);

/** Ruby's String#to_i: leading integer (underscores allowed between digits), else 0. */
export function rubyToI(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  // Log fields are nearly always plain digits (status codes, sizes): read those without
  // a regexp; anything else (sign, spaces, underscores, trailing text) takes Ruby's rules.
  if (typeof v === 'string' && v.length > 0 && v.length < 16) {
    let n = 0;
    let i = 0;
    for (; i < v.length; i++) {
      const c = v.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    if (i === v.length) return n;
  }
  const m = /^\s*([+-]?\d+(?:_\d+)*)/.exec(String(v));
  return m ? Number(m[1]!.replaceAll('_', '')) : 0;
}

/** Ruby's String#to_f: leading decimal number, else 0. */
export function rubyToF(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = /^\s*([+-]?\d+(?:_\d+)*(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(String(v));
  return m ? Number(m[1]!.replaceAll('_', '')) : 0;
}

/**
 * Ruby's String#split(delim): trailing empty fields are dropped, and a single space
 * splits on runs of whitespace ignoring leading whitespace (awk style).
 */
export function rubySplit(s: string, delim: string | RegExp): string[] {
  const parts = delim === ' ' ? s.replace(/^\s+/, '').split(/\s+/) : s.split(delim);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function isZone(tz: string): boolean {
  try {
    parseZone(tz);
    return true;
  } catch {
    return false;
  }
}

function timeConverter(option: string | undefined): Converter {
  let type: TimeType = 'string';
  let format: string | undefined;
  let timezone: string | undefined;
  if (option !== undefined) {
    // `time:[timezone:]format`, where format may be unixtime or float
    const i = option.indexOf(':');
    const head = i < 0 ? option : option.slice(0, i);
    if (i >= 0 && isZone(head)) {
      timezone = head;
      format = option.slice(i + 1);
    } else {
      format = option;
    }
    if ((TIME_TYPES as readonly string[]).includes(format)) {
      type = format as TimeType;
      format = undefined;
    }
  }
  const parse = createTimeParser({ type, format, timezone });
  // A value that is not a time becomes null, as in Fluentd.
  return (v) => parse(v) ?? null;
}

/** Builds converters; throws Error naming the field for an unknown type. */
export function buildTypeConverters(types: Record<string, string>): Map<string, Converter> {
  const out = new Map<string, Converter>();
  for (const [field, def] of Object.entries(types)) {
    const i = def.indexOf(':');
    const type = i < 0 ? def : def.slice(0, i);
    const option = i < 0 ? undefined : def.slice(i + 1);
    let conv: Converter;
    switch (type) {
      case 'string':
        conv = (v) => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
        break;
      case 'integer':
        conv = rubyToI;
        break;
      case 'float':
        conv = rubyToF;
        break;
      case 'bool':
        conv = (v) => TRUTHY.has(String(v).toLowerCase());
        break;
      case 'time':
        conv = timeConverter(option);
        break;
      case 'array': {
        const delim = option ?? ',';
        conv = (v) => (Array.isArray(v) ? v : rubySplit(String(v), delim));
        break;
      }
      default:
        throw new SluiceError(
          'PARSE_TYPES',
          `unknown value conversion for key '${field}', type '${type}' (use string, integer, float, bool, time or array)`,
        );
    }
    out.set(field, conv);
  }
  return out;
}
