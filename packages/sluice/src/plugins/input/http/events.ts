import { decodeMultiple, EventTime } from '@sluice/forward';
import type { EventRecord } from '../../../core/batch.ts';
import type { BatchBuilder } from '../../../core/batch-builder.ts';
import type { ParserPlugin } from '../../../core/plugin.ts';

/** A request Sluice cannot turn into events; the message is sent back with the 400. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** What in_http knows about one request once its body is read and decompressed. */
export interface RequestInput {
  contentType: string;
  body: Buffer;
  /** query string fields, then form fields (a form field wins, as in Fluentd) */
  params: Map<string, Buffer>;
  /** fields added to every record (HTTP_*, QUERY_*, REMOTE_ADDR); undefined when none */
  extra: EventRecord | undefined;
}

const MSGPACK_TYPE = /^application\/(x-)?msgpack/i;
const JSON_TYPE = /^application\/(json|csp-report)/i;
const NDJSON_TYPE = /^application\/x-ndjson/i;
const MULTIPART_TYPE = /^multipart\/form-data/i;

/**
 * Fluentd's in_http body rules (lib/fluent/plugin/in_http.rb): the content type selects
 * `json` / `msgpack` / `ndjson`, a form body or the query string may carry those as fields,
 * and the record's `time` field (removed from the record) or `?time=` sets the event time.
 * Appends the events to `out` and returns how many were added.
 */
export function addDefaultEvents(input: RequestInput, out: BatchBuilder): number {
  const { contentType, body, params } = input;
  let source: 'json' | 'msgpack' | 'ndjson' | undefined;
  let payload: Buffer | undefined;
  if (MSGPACK_TYPE.test(contentType)) [source, payload] = ['msgpack', body];
  else if (JSON_TYPE.test(contentType)) [source, payload] = ['json', body];
  else if (NDJSON_TYPE.test(contentType)) [source, payload] = ['ndjson', body];
  else {
    if (MULTIPART_TYPE.test(contentType)) {
      throw new BadRequestError(
        'multipart/form-data bodies are not supported; send application/x-www-form-urlencoded or a JSON body',
      );
    }
    // Fluentd's precedence among fields: msgpack, then json, then ndjson.
    for (const f of ['msgpack', 'json', 'ndjson'] as const) {
      const v = params.get(f);
      if (v !== undefined) {
        [source, payload] = [f, v];
        break;
      }
    }
  }
  if (source === undefined || payload === undefined) {
    const what = contentType ? `Content-Type '${contentType}'` : 'no Content-Type';
    throw new BadRequestError(
      `'json', 'ndjson' or 'msgpack' parameter is required (${what}; send application/json, application/msgpack, application/x-ndjson, or a json= / msgpack= form field)`,
    );
  }
  const paramTime = queryTime(params);
  const before = out.count;
  if (source === 'msgpack') addMsgpack(payload, input.extra, paramTime, out);
  else if (source === 'json')
    addJsonValue(parseJson(payload.toString('utf8'), 'body'), input.extra, paramTime, out, 'body');
  else {
    const lines = payload.toString('utf8').split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      addJsonValue(parseJson(line, `line ${i + 1}`), input.extra, paramTime, out, `line ${i + 1}`);
    }
  }
  return out.count - before;
}

/** What in_http uses of a parser: Sluice parsers may also split a text into several records. */
type BodyParser = ParserPlugin & {
  parseAll?(text: string): ({ time: EventTime | undefined; record: EventRecord } | undefined)[];
  lastError?: string;
};

/**
 * A `<parse>` section other than the default: the whole body is the parser's text, as in
 * Fluentd; a parser that can find several records in it (json with an array) gives several events.
 */
export function addParsedEvent(input: RequestInput, parser: BodyParser, out: BatchBuilder): void {
  const text = input.body.toString('utf8');
  const results = parser.parseAll ? parser.parseAll(text) : [parser.parse(text)];
  const paramTime = queryTime(input.params);
  const before = out.count;
  for (const parsed of results) {
    if (!parsed) continue;
    const record = parsed.record;
    if (input.extra) Object.assign(record, input.extra);
    out.add(paramTime ?? parsed.time ?? EventTime.now(), record);
  }
  if (out.count === before) {
    throw new BadRequestError(
      `the body does not match the configured <parse> format${parser.lastError ? `: ${parser.lastError}` : ''}`,
    );
  }
}

/** `?time=` (or a `time` form field): float seconds; 0 or not a number means now, as in Fluentd. */
function queryTime(params: Map<string, Buffer>): EventTime | undefined {
  const raw = params.get('time');
  if (raw === undefined) return undefined;
  const f = Number.parseFloat(raw.toString('latin1'));
  if (!Number.isFinite(f) || f === 0) return EventTime.now();
  return EventTime.from(f);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BadRequestError(`invalid JSON in ${where}: ${(e as Error).message}`);
  }
}

function addJsonValue(
  value: unknown,
  extra: EventRecord | undefined,
  paramTime: EventTime | undefined,
  out: BatchBuilder,
  where: string,
): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      addRecord(value[i], extra, paramTime, out, `${where}, element ${i}`);
  } else addRecord(value, extra, paramTime, out, where);
}

function addRecord(
  value: unknown,
  extra: EventRecord | undefined,
  paramTime: EventTime | undefined,
  out: BatchBuilder,
  where: string,
): void {
  // Fluentd skips a null record without an error.
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new BadRequestError(
      `${where}: a record must be an object (got ${Array.isArray(value) ? 'an array' : typeof value})`,
    );
  }
  const record = value as EventRecord;
  if (extra) Object.assign(record, extra);
  out.add(paramTime ?? recordTime(record, where), record);
}

/** The default in_http parser's rule: `time` is taken out of the record; numbers are epoch seconds. */
function recordTime(record: EventRecord, where: string): EventTime {
  if (!('time' in record)) return EventTime.now();
  const t = record.time;
  delete record.time;
  if (t === null || t === undefined) return EventTime.now();
  const time =
    typeof t === 'string' && t.trim() !== '' && Number.isFinite(Number(t))
      ? EventTime.from(Number(t))
      : EventTime.from(t);
  if (!time)
    throw new BadRequestError(`${where}: field 'time' must be epoch seconds (got ${JSON.stringify(t)})`);
  return time;
}

function addMsgpack(
  payload: Buffer,
  extra: EventRecord | undefined,
  paramTime: EventTime | undefined,
  out: BatchBuilder,
): void {
  let values: unknown[];
  try {
    values = decodeMultiple(payload);
  } catch (e) {
    throw new BadRequestError(`invalid msgpack body: ${(e as Error).message}`);
  }
  // One map with nothing to add or take out: its bytes are already the record, no re-encoding.
  if (values.length === 1 && extra === undefined) {
    const v = values[0];
    if (
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      !Buffer.isBuffer(v) &&
      !(v instanceof Uint8Array) &&
      !('time' in v)
    ) {
      const t = paramTime ?? EventTime.now();
      out.addRaw(t.sec, t.nsec, payload);
      return;
    }
  }
  for (let i = 0; i < values.length; i++) {
    const where = values.length > 1 ? `msgpack object ${i}` : 'msgpack body';
    addJsonValue(values[i], extra, paramTime, out, where);
  }
}
