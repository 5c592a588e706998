import { recordsJson } from '../../../codec/msgpack-json.ts';
import type { Chunk, FormatterPlugin } from '../../../core/plugin.ts';
import { formatChunk } from '../../../shared/parse/format-chunk.ts';

/** Turns a chunk's events into one request body, in `scratch` when the builder can. */
export type BodyBuilder = (chunk: Chunk, scratch?: Buffer) => Buffer;

/**
 * Fluentd's default `<format> @type json` is the record as JSON plus a newline: written
 * straight from the chunk's msgpack (recordsJson), with the json formatter's rules for
 * big integers and msgpack bin, and no per-event objects.
 */
export function jsonLines(): BodyBuilder {
  return (chunk, scratch) => recordsJson(chunk.bytes, 0x0a, scratch);
}

/** `json_array true`: `[rec,rec,...]`, each element from the formatter when one is configured. */
export function jsonArray(formatter?: FormatterPlugin): BodyBuilder {
  if (!formatter)
    return (chunk) => {
      const items = recordsJson(chunk.bytes, 0x2c);
      if (items.length === 0) return Buffer.from('[]');
      const body = Buffer.allocUnsafe(items.length + 1);
      body[0] = 0x5b;
      items.copy(body, 1);
      // the separator after the last record becomes the closing bracket
      body[body.length - 1] = 0x5d;
      return body;
    };
  return (chunk) => {
    const tag = chunk.keys.tag ?? '';
    const parts = chunk.entries().map((e) => String(formatter.format(tag, e.time, e.record)).trimEnd());
    return Buffer.from(`[${parts.join(',')}]`);
  };
}

/** Any other formatter: its output per event, concatenated. */
export function formatted(formatter: FormatterPlugin): BodyBuilder {
  return (chunk) => formatChunk(formatter, chunk);
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
