import { recordJson } from '../core/json.ts';
import type { Chunk, FormatterPlugin } from '../core/plugin.ts';

/** Turns a chunk's events into one request body. */
export type BodyBuilder = (chunk: Chunk) => Buffer;

/**
 * Fluentd's default `<format> @type json` is the record as JSON plus a newline; doing it
 * here spares a formatter call per event on the common path. recordJson, as the json
 * formatter: a big integer or msgpack bin must not make the chunk unsendable.
 */
export function jsonLines(): BodyBuilder {
  return (chunk) => {
    let s = '';
    for (const e of chunk.entries()) s += `${recordJson(e.record)}\n`;
    return Buffer.from(s);
  };
}

/** `json_array true`: `[rec,rec,...]`, each element from the formatter when one is configured. */
export function jsonArray(formatter?: FormatterPlugin): BodyBuilder {
  return (chunk) => {
    const tag = chunk.keys.tag ?? '';
    const parts = chunk
      .entries()
      .map((e) =>
        formatter ? String(formatter.format(tag, e.time, e.record)).trimEnd() : recordJson(e.record),
      );
    return Buffer.from(`[${parts.join(',')}]`);
  };
}

/** Any other formatter: its output per event, concatenated. */
export function formatted(formatter: FormatterPlugin): BodyBuilder {
  return (chunk) => {
    const tag = chunk.keys.tag ?? '';
    const out: Buffer[] = [];
    for (const e of chunk.entries()) {
      const v = formatter.format(tag, e.time, e.record);
      out.push(typeof v === 'string' ? Buffer.from(v) : v);
    }
    return Buffer.concat(out);
  };
}

/** Content-Type Fluentd derives from the formatter type when content_type is not set. */
export function defaultContentType(formatType: string, jsonArrayMode: boolean): string | undefined {
  switch (formatType) {
    case 'json':
      return jsonArrayMode ? 'application/json' : 'application/x-ndjson';
    case 'csv':
      return 'text/csv';
    case 'tsv':
    case 'ltsv':
      return 'text/tab-separated-values';
    case 'msgpack':
      return 'application/x-msgpack';
    case 'out_file':
    case 'single_value':
    case 'stdout':
    case 'hash':
      return 'text/plain';
    default:
      return undefined;
  }
}
