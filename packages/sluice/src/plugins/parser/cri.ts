import type { EventTime } from '@sluice/forward';
import { defineSchema } from '../../config/schema.ts';
import { type BatchBuilder, strBytes } from '../../core/batch-builder.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';
import {
  type ParseResult,
  parserSchema,
  type SluiceParser,
  timeParserFrom,
} from '../../shared/parse/common.ts';
import { type CriParser, criFields, parseRfc3339, Rfc3339Bytes, splitCri } from '../../shared/parse/cri.ts';

// fluent-plugin-parser-cri: `TIME STREAM LOGTAG MESSAGE` lines as containerd and CRI-O
// write them, split as Ruby's `text.split(/\s/, 4)`. Without a nested <parse> the record
// is {stream, logtag, message} plus the time field (keep_time_key defaults to true here);
// with one, MESSAGE is parsed by it and stream/logtag are added (merge_cri_fields).
// Joining `P` partial lines up to their `F` line needs state per file and stream, so it
// is done by in_tail before the line reaches this parser (tail/cri.ts, docs/parsers.md).

/** The formats of the cri parser's time that are RFC 3339: read by a fast exact reader first. */
const RFC3339_FORMATS = new Set([
  '%Y-%m-%dT%H:%M:%S.%L%z',
  '%Y-%m-%dT%H:%M:%S.%N%z',
  '%Y-%m-%dT%H:%M:%S.%NZ',
  '%Y-%m-%dT%H:%M:%S.%LZ',
  '%Y-%m-%dT%H:%M:%S.%N%:z',
  '%Y-%m-%dT%H:%M:%S%z',
  '%iso8601',
]);

export type { CriParser };

const STREAM = strBytes('stream');
const LOGTAG = strBytes('logtag');
const MESSAGE = strBytes('message');

class Cri implements CriParser {
  lastError: string | undefined;
  /** the keys `entry` writes (a tail path_key among them keeps lines off the byte path) */
  readonly entryKeys: readonly string[];
  private readonly timeKeyStr: Buffer;
  private readonly fields = new Int32Array(3);
  private readonly stamp = new Rfc3339Bytes();

  constructor(
    private readonly sub: SluiceParser | undefined,
    private readonly merge: boolean,
    private readonly timeKey: string,
    private readonly keepTimeKey: boolean,
    private readonly time: (text: string) => EventTime | undefined,
    readonly joinPartials: boolean,
    /** the time is read as RFC 3339 first: lines may take the byte path */
    private readonly bytePath: boolean,
  ) {
    this.entryKeys = keepTimeKey ? ['stream', 'logtag', 'message', timeKey] : ['stream', 'logtag', 'message'];
    this.timeKeyStr = strBytes(timeKey);
  }

  /**
   * The byte path (in_tail): the entry that `parse` and BatchBuilder.record give, written
   * from the line's bytes, for lines without a nested <parse> whose time reads as RFC 3339;
   * false (nothing written) leaves the line to `parse`.
   */
  entry(w: BatchBuilder, b: Buffer, s: number, e: number, extra: Buffer | undefined): boolean {
    if (this.sub !== undefined || !this.bytePath) return false;
    const f = this.fields;
    if (!criFields(b, s, e, f)) return false;
    const t1 = f[0]!;
    const t2 = f[1]!;
    const t3 = f[2]!;
    if (!this.stamp.read(b, s, t1)) return false;
    w.beginEntry(this.stamp.sec, this.stamp.nsec);
    w.reserve(1);
    w.buf[w.len++] = 0x80 | (3 + (this.keepTimeKey ? 1 : 0) + (extra === undefined ? 0 : 1));
    w.raw(STREAM);
    w.str(b, t1 + 1, t2);
    w.raw(LOGTAG);
    w.str(b, t2 + 1, t3);
    w.raw(MESSAGE);
    w.str(b, t3 + 1, e);
    if (this.keepTimeKey) {
      w.raw(this.timeKeyStr);
      w.str(b, s, t1);
    }
    if (extra !== undefined) w.raw(extra);
    return true;
  }

  parse(text: string): ParseResult | undefined {
    const f = splitCri(text);
    if (!f) {
      this.lastError = 'not a CRI log line (TIME STREAM P|F MESSAGE)';
      return undefined;
    }
    const [t, stream, logtag, message] = f;
    if (this.sub) {
      const r = this.sub.parse(message);
      if (!r) {
        this.lastError = this.sub.lastError ?? 'the nested <parse> did not match the message';
        return undefined;
      }
      if (this.merge) {
        r.record.stream = stream;
        r.record.logtag = logtag;
      }
      return r;
    }
    const time = this.time(t);
    if (time === undefined) {
      this.lastError = `invalid time format: value = ${t}`;
      return undefined;
    }
    const record: Record<string, unknown> = { stream, logtag, message };
    if (this.keepTimeKey) record[this.timeKey] = t;
    return { time, record };
  }
}

const schema = defineSchema({
  ...parserSchema(
    {
      merge_cri_fields: {
        type: 'bool',
        default: true,
        description: 'With a nested <parse>: add the stream and logtag fields to the record it gives.',
      },
      join_partials: {
        type: 'bool',
        default: true,
        description:
          "Sluice: in_tail joins the P (partial) lines of a stream into one record up to its F line, per file, and never commits the tail position past a partial it holds. Fluentd's cri parser leaves that to the concat filter (use_partial_cri_logtag); false emits each part as its own record, as Fluentd does.",
      },
    },
    { time_key: 'time', time_format: '%Y-%m-%dT%H:%M:%S.%L%z', keep_time_key: true },
  ),
  sections: {
    parse: {
      plugin: 'parser',
      description: 'Parser of the MESSAGE part (e.g. @type json); its time and record replace the CRI ones.',
    },
  },
});

export default {
  kind: 'parser',
  type: 'cri',
  description:
    'CRI container logs (containerd, CRI-O): TIME STREAM P|F MESSAGE lines; in_tail joins P partial lines up to their F line.',
  schema,
  create(config, ctx) {
    const p = config.params;
    const section = config.sections.parse;
    const sub = section ? ctx.createNested<SluiceParser>('parser', section.element) : undefined;
    const configured = timeParserFrom(config);
    const format = p.time_format;
    const fast = p.time_type === 'string' && (format === undefined || RFC3339_FORMATS.has(format));
    const time = fast ? (t: string) => parseRfc3339(t) ?? configured(t) : (t: string) => configured(t);
    return new Cri(sub, p.merge_cri_fields, p.time_key, p.keep_time_key, time, p.join_partials, fast);
  },
} satisfies PluginDescriptor<CriParser, typeof schema>;
