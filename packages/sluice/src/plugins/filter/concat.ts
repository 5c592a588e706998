import { EventTime } from '@sluice/forward';
import { rubyToS } from '../../codec/ruby-to-s.ts';
import { param } from '../../config/ast.ts';
import { defineSchema, type Resolved } from '../../config/schema.ts';
import { type Entry, EventBatch, type EventRecord } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import { holdScope, useHolds } from '../../core/holds.ts';
import type { FilterPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { compileRubyRegexp } from '../../shared/parse/ruby-regexp.ts';

// fluent-plugin-concat: joins the `key` field of consecutive records of a stream (tag, or
// tag and stream_identity_key) into one record: every n_lines, between
// multiline_start_regexp/multiline_end_regexp (continuous_line_regexp), up to the record
// whose partial_key is not partial_value, by Docker's partial metadata, or by the CRI
// logtag (P ... F). The joined record is the current record merged with the first
// record of the group and the joined text. A group not finished after flush_interval, and
// every group left at shutdown, goes to timeout_label (or @ERROR). Records an input is
// told about (core/holds.ts) keep in_tail from committing past them while they are held.

type Mode = 'line' | 'partial' | 'partial_metadata' | 'partial_cri' | 'regexp';

interface Held {
  tag: string;
  time: EventTime;
  record: EventRecord;
  /** tells the input that emitted this record that it has gone on */
  release: (() => void) | undefined;
}

interface Stream {
  tag: string;
  items: Held[];
  size: number;
  /** Date.now() of the last record of this stream */
  last: number;
}

const METADATA: Record<string, [string, string, string, string, string]> = {
  // message, id, ordinal, last, indicator
  'docker-fluentd': ['partial_message', 'partial_id', 'partial_ordinal', 'partial_last', 'partial_message'],
  'docker-journald': [
    'CONTAINER_PARTIAL_MESSAGE',
    'CONTAINER_PARTIAL_ID',
    'CONTAINER_PARTIAL_ORDINAL',
    'CONTAINER_PARTIAL_LAST',
    'CONTAINER_PARTIAL_ID',
  ],
  'docker-journald-lowercase': [
    'container_partial_message',
    'container_partial_id',
    'container_partial_ordinal',
    'container_partial_last',
    'container_partial_id',
  ],
};

const FLUENT_LOG = /^fluent\.(?:trace|debug|info|warn|error|fatal)$/;

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** record_bytesize: keys and values' to_s, in bytes. */
function byteSize(record: EventRecord): number {
  let n = 0;
  for (const k in record) n += Buffer.byteLength(k) + Buffer.byteLength(rubyToS(record[k]));
  return n;
}

export class ConcatFilter implements FilterPlugin {
  private readonly streams = new Map<string, Stream>();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly meta: [string, string, string, string, string];

  constructor(
    private readonly o: {
      key: string;
      separator: string;
      nLines?: number;
      start?: RegExp;
      end?: RegExp;
      continuous?: RegExp;
      streamKey?: string;
      flushIntervalMs: number;
      timeoutLabel?: string;
      useFirstTimestamp: boolean;
      partialKey?: string;
      partialValue?: string;
      keepPartialKey: boolean;
      metadataFormat: string;
      keepPartialMetadata: boolean;
      criLogtagKey?: string;
      criStreamKey: string;
      bufferLimit: number;
      overflow: 'ignore' | 'truncate' | 'drop' | 'new';
      mode: Mode;
    },
    private readonly ctx: PluginContext,
  ) {
    this.meta = METADATA[o.metadataFormat]!;
  }

  async start(): Promise<void> {
    this.finished = false;
    this.timer = setInterval(() => void this.onTimer(), 1000);
  }

  /** Every group still held is flushed (to timeout_label or @ERROR), as the plugin's shutdown does. */
  async stop(): Promise<void> {
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const sends: Promise<void>[] = [];
    for (const [id, s] of this.streams) {
      if (s.items.length === 0) continue;
      const first = s.items[0]!;
      const record = { ...first.record, [this.o.key]: this.joined(s.items) };
      const items = s.items;
      s.items = [];
      this.ctx.logger.info(`Flush remaining buffer: ${id}`);
      sends.push(this.timeoutEmit(first.tag, first.time, record, `Flush remaining buffer: ${id}`, items));
    }
    this.streams.clear();
    await Promise.all(sends);
  }

  /** Pending groups, for tests and the monitor. */
  get pendingRecords(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.items.length;
    return n;
  }

  filter(batch: EventBatch): EventBatch | null {
    const tag = batch.tag;
    if (FLUENT_LOG.test(tag)) return batch;
    const out: Entry[] = [];
    const o = this.o;
    const scope = holdScope();
    let changed = false;
    for (const e of batch.entries()) {
      const record = e.record;
      if (
        !(o.key in record) ||
        (o.mode === 'partial' && !(o.partialKey! in record)) ||
        (o.mode === 'partial_metadata' && !(this.meta[4] in record))
      ) {
        out.push(e);
        continue;
      }
      changed = true;
      try {
        for (const f of this.processOne(tag, e.time, record, scope)) {
          const merged: EventRecord = { ...record, ...f.record };
          if (o.mode === 'partial' && !o.keepPartialKey) delete merged[o.partialKey!];
          else if (o.mode === 'partial_metadata' && !o.keepPartialMetadata) {
            for (const k of this.meta.slice(0, 4)) delete merged[k];
          } else if (o.mode === 'partial_cri') {
            if (!o.keepPartialKey) delete merged[o.criLogtagKey!];
            delete merged[o.criStreamKey];
          }
          out.push({ time: o.useFirstTimestamp ? f.time : e.time, record: merged });
        }
      } catch (err) {
        this.ctx.emitError(tag, e.time, record, err as Error);
      }
    }
    if (!changed) return batch;
    return out.length === 0 ? null : EventBatch.fromEntries(tag, out);
  }

  private identity(tag: string, record: EventRecord): string {
    const sk = this.o.streamKey;
    if (this.o.mode === 'partial_metadata') {
      const id = rubyToS(record[this.meta[1]]);
      return sk !== undefined ? `${tag}:${rubyToS(record[sk])}${id}` : `${tag}:${id}`;
    }
    return sk !== undefined ? `${tag}:${rubyToS(record[sk])}` : `${tag}:default`;
  }

  private stream(id: string, tag: string): Stream {
    let s = this.streams.get(id);
    if (!s) {
      s = { tag, items: [], size: 0, last: Date.now() };
      this.streams.set(id, s);
    }
    return s;
  }

  private joined(items: Held[]): string {
    let lines = items;
    if (this.o.mode === 'partial_metadata') {
      const ord = this.meta[2];
      lines = [...items].sort(
        (a, b) => Number.parseInt(rubyToS(a.record[ord]), 10) - Number.parseInt(rubyToS(b.record[ord]), 10),
      );
    }
    return lines.map((h) => rubyToS(h.record[this.o.key])).join(this.o.separator);
  }

  /**
   * flush_buffer: the group's first record with the joined text, and the group emptied
   * (then holding `next`, when given). Its records are released: they go on in this batch.
   */
  private flush(s: Stream, next?: Held): { time: EventTime; record: EventRecord } {
    const items = s.items;
    const first = items[0]!;
    const record = { ...first.record, [this.o.key]: this.joined(items) };
    s.items = next ? [next] : [];
    s.size = 0;
    for (const h of items) h.release?.();
    return { time: first.time, record };
  }

  /** process(), then an emptied stream is forgotten (with use_partial_metadata every message has its own). */
  private processOne(
    tag: string,
    time: EventTime,
    record: EventRecord,
    scope: ReturnType<typeof holdScope>,
  ): { time: EventTime; record: EventRecord }[] {
    const id = this.identity(tag, record);
    const s = this.stream(id, tag);
    const out = this.process(s, tag, time, record, scope);
    if (s.items.length === 0) this.streams.delete(id);
    return out;
  }

  private process(
    s: Stream,
    tag: string,
    time: EventTime,
    record: EventRecord,
    scope: ReturnType<typeof holdScope>,
  ): { time: EventTime; record: EventRecord }[] {
    const o = this.o;
    s.last = Date.now();
    const held = (): Held => ({ tag, time, record, release: scope?.hold() });
    const out: { time: EventTime; record: EventRecord }[] = [];
    switch (o.mode) {
      case 'line':
        s.items.push(held());
        if (s.items.length >= o.nLines!) out.push(this.flush(s));
        return out;
      case 'partial_cri': {
        s.items.push(held());
        const logtag = rubyToS(record[o.criLogtagKey!]);
        if (logtag.split(':')[0] === 'F') {
          const f = this.flush(s);
          delete f.record[o.criLogtagKey!];
          out.push(f);
        }
        return out;
      }
      case 'partial_metadata': {
        s.items.push(held());
        if (rubyToS(record[this.meta[3]]) === 'true') out.push(this.flush(s));
        return out;
      }
      case 'partial':
        return this.processPartial(s, tag, time, record, held);
      case 'regexp':
        return this.processRegexp(s, time, record, held);
    }
  }

  private processPartial(
    s: Stream,
    _tag: string,
    time: EventTime,
    record: EventRecord,
    held: () => Held,
  ): { time: EventTime; record: EventRecord }[] {
    const o = this.o;
    const out: { time: EventTime; record: EventRecord }[] = [];
    let force = false;
    const size = byteSize(record);
    if (s.size + size > o.bufferLimit) {
      s.size = 0;
      switch (o.overflow) {
        case 'ignore':
          s.items.push(held());
          break;
        case 'truncate':
        case 'new':
          force = true;
          break;
        case 'drop':
          for (const h of s.items) h.release?.();
          s.items = [];
          break;
      }
    } else {
      s.size += size;
      s.items.push(held());
    }
    const partial = rubyToS(record[o.partialKey!]) === o.partialValue;
    if ((force || !partial) && s.items.length > 0) {
      const f = this.flush(s);
      delete f.record[o.partialKey!];
      out.push(f);
    }
    if (force && o.overflow === 'new') {
      s.items.push(held());
      s.size = size;
      if (!partial) {
        const f = this.flush(s);
        delete f.record[o.partialKey!];
        out.push(f);
      }
    }
    void time;
    return out;
  }

  private processRegexp(
    s: Stream,
    time: EventTime,
    record: EventRecord,
    held: () => Held,
  ): { time: EventTime; record: EventRecord }[] {
    const o = this.o;
    const text = rubyToS(record[o.key]);
    const first = o.start?.test(text) === true;
    const last = o.end?.test(text) === true;
    const out: { time: EventTime; record: EventRecord }[] = [];
    if (first) {
      if (s.items.length === 0) {
        s.items.push(held());
        if (last) out.push(this.flush(s));
      } else {
        out.push(this.flush(s, held()));
        if (last) out.push(this.flush(s));
      }
      return out;
    }
    if (last) {
      s.items.push(held());
      out.push(this.flush(s));
      return out;
    }
    if (s.items.length === 0) {
      if (o.start === undefined) s.items.push(held());
      else out.push({ time, record });
      return out;
    }
    if (o.continuous === undefined || o.continuous.test(text)) {
      s.items.push(held());
      return out;
    }
    out.push(this.flush(s));
    out.push({ time, record });
    return out;
  }

  private async onTimer(): Promise<void> {
    if (this.o.flushIntervalMs <= 0 || this.finished) return;
    const now = Date.now();
    const sends: Promise<void>[] = [];
    for (const [id, s] of this.streams) {
      if (now - s.last < this.o.flushIntervalMs) continue;
      this.streams.delete(id);
      if (s.items.length === 0) continue;
      const items = s.items;
      const first = items[0]!;
      const record = { ...first.record, [this.o.key]: this.joined(items) };
      const message = `Timeout flush: ${id}`;
      this.ctx.logger.info(message);
      sends.push(
        this.timeoutEmit(
          s.tag,
          this.o.useFirstTimestamp ? first.time : EventTime.now(),
          record,
          message,
          items,
        ),
      );
    }
    await Promise.all(sends);
  }

  /** handle_timeout_error: to timeout_label, else @ERROR; the records are released once accepted. */
  private async timeoutEmit(
    tag: string,
    time: EventTime,
    record: EventRecord,
    message: string,
    items: Held[],
  ): Promise<void> {
    try {
      if (this.o.timeoutLabel !== undefined) {
        await this.ctx.router!.emitToLabel(this.o.timeoutLabel, EventBatch.single(tag, time, record));
      } else {
        this.ctx.emitError(tag, time, record, new TimeoutError(message));
      }
    } catch (e) {
      this.ctx.logger.error({ code: 'CONCAT_FLUSH_FAILED', err: e, tag }, 'failed to flush timeout buffer');
    } finally {
      for (const h of items) h.release?.();
    }
  }
}

type RegexpKey = 'multiline_start_regexp' | 'multiline_end_regexp' | 'continuous_line_regexp';

function regexpParam(config: Resolved<typeof schema>, key: RegexpKey): RegExp | undefined {
  const v = config.params[key];
  if (v === undefined) return undefined;
  // As the plugin: the first and last characters (the slashes) are cut, no flags read.
  try {
    return compileRubyRegexp(v.slice(1, -1));
  } catch (e) {
    throw new ConfigError(
      `parameter '${key}': invalid regexp: ${(e as Error).message}`,
      param(config.element, key)!.location,
    );
  }
}

const schema = defineSchema({
  params: {
    key: { type: 'string', required: true, description: 'The field whose values are joined.' },
    separator: { type: 'string', default: '\n', description: 'Put between the joined values.' },
    n_lines: {
      type: 'integer',
      default: null,
      description: 'Join every N records (exclusive with the regexps and partial modes).',
    },
    multiline_start_regexp: {
      type: 'string',
      default: null,
      description: 'A record whose key matches /.../ starts a new group.',
    },
    multiline_end_regexp: {
      type: 'string',
      default: null,
      description: 'A record whose key matches /.../ ends its group.',
    },
    continuous_line_regexp: {
      type: 'string',
      default: null,
      description:
        'With a group started: a record matching /.../ continues it; any other ends it and passes alone.',
    },
    stream_identity_key: {
      type: 'string',
      default: null,
      description:
        'Field that tells streams of one tag apart (e.g. container_id): each is joined on its own.',
    },
    flush_interval: {
      type: 'time',
      default: 60,
      description:
        'A group with no new record for this long is flushed to timeout_label (or @ERROR); 0 waits for ever.',
    },
    timeout_label: {
      type: 'string',
      default: null,
      description:
        'Label that receives groups flushed by flush_interval and at shutdown; without it they go to @ERROR.',
    },
    use_first_timestamp: {
      type: 'bool',
      default: false,
      description:
        "The joined record takes its first record's time (else the time of the record that ended it).",
    },
    partial_key: {
      type: 'string',
      default: null,
      description:
        'Field that marks a partial record (with partial_value); a record without that value ends its group.',
    },
    partial_value: {
      type: 'string',
      default: null,
      description: 'The value of partial_key that means partial.',
    },
    keep_partial_key: {
      type: 'bool',
      default: false,
      description: 'Keep partial_key (or the CRI logtag key) in the joined record.',
    },
    use_partial_metadata: {
      type: 'bool',
      default: false,
      description: "Join by Docker's partial metadata (partial_id, partial_ordinal, partial_last).",
    },
    partial_metadata_format: {
      type: 'enum',
      values: ['docker-fluentd', 'docker-journald', 'docker-journald-lowercase'],
      default: 'docker-fluentd',
      description: 'Field names of the partial metadata: the fluentd or journald Docker log drivers.',
    },
    keep_partial_metadata: {
      type: 'bool',
      default: false,
      description: 'Keep the partial metadata fields in the joined record.',
    },
    use_partial_cri_logtag: {
      type: 'bool',
      default: false,
      description: 'Join CRI partial lines: records up to the one whose logtag is F.',
    },
    partial_cri_logtag_key: {
      type: 'string',
      default: null,
      description: 'With use_partial_cri_logtag: the field holding the CRI logtag (P or F).',
    },
    partial_cri_stream_key: {
      type: 'string',
      default: 'stream',
      description:
        'With use_partial_cri_logtag: the field holding the stream (removed from the joined record).',
    },
    buffer_limit_size: {
      type: 'size',
      default: 512000,
      description: 'With partial_key: most bytes a group may hold before buffer_overflow_method applies.',
    },
    buffer_overflow_method: {
      type: 'enum',
      values: ['ignore', 'truncate', 'drop', 'new'],
      default: 'ignore',
      description:
        'ignore: add the record anyway; truncate: drop it and flush; drop: drop it and the group; new: flush and start a group with it.',
    },
  },
});

export default {
  kind: 'filter',
  type: 'concat',
  description:
    'Joins a field of consecutive records (multiline stack traces, Docker and CRI partial lines) into one record.',
  schema,
  create(config, ctx) {
    const p = config.params;
    const where = config.element.location;
    const has = (k: keyof typeof p) => p[k] !== undefined;
    if (
      !has('n_lines') &&
      !has('multiline_start_regexp') &&
      !has('multiline_end_regexp') &&
      !has('partial_key') &&
      !p.use_partial_metadata &&
      !p.use_partial_cri_logtag
    )
      throw new ConfigError(
        'Either n_lines, multiline_start_regexp, multiline_end_regexp, partial_key, use_partial_metadata or use_partial_cri_logtag is required',
        where,
      );
    const re = has('multiline_start_regexp') || has('multiline_end_regexp');
    const exclusive: [boolean, string][] = [
      [has('n_lines') && re, 'n_lines and multiline_start_regexp/multiline_end_regexp are exclusive'],
      [has('partial_key') && has('n_lines'), 'partial_key and n_lines are exclusive'],
      [has('partial_key') && re, 'partial_key and multiline_start_regexp/multiline_end_regexp are exclusive'],
      [
        has('partial_key') && !has('partial_value'),
        'partial_value is required when partial_key is specified',
      ],
      [p.use_partial_metadata && has('n_lines'), 'use_partial_metadata and n_lines are exclusive'],
      [
        p.use_partial_metadata && re,
        'use_partial_metadata and multiline_start_regexp/multiline_end_regexp are exclusive',
      ],
      [p.use_partial_metadata && has('partial_key'), 'use_partial_metadata and partial_key are exclusive'],
      [p.use_partial_cri_logtag && has('n_lines'), 'use_partial_cri_logtag and n_lines are exclusive'],
      [
        p.use_partial_cri_logtag && re,
        'use_partial_cri_logtag and multiline_start_regexp/multiline_end_regexp are exclusive',
      ],
      [
        p.use_partial_cri_logtag && has('partial_key'),
        'use_partial_cri_logtag and partial_key are exclusive',
      ],
    ];
    for (const [bad, msg] of exclusive) if (bad) throw new ConfigError(msg, where);
    let mode: Mode;
    if (has('n_lines')) mode = 'line';
    else if (has('partial_key')) mode = 'partial';
    else if (p.use_partial_metadata) mode = 'partial_metadata';
    else if (p.use_partial_cri_logtag) mode = 'partial_cri';
    else mode = 'regexp';
    if (p.n_lines !== undefined && p.n_lines < 1)
      throw new ConfigError('n_lines must be at least 1', param(config.element, 'n_lines')!.location);
    if (mode === 'partial_cri' && !has('partial_cri_logtag_key'))
      throw new ConfigError('partial_cri_logtag_key is required with use_partial_cri_logtag', where);
    // Inputs that commit positions (in_tail) learn which records this filter keeps.
    useHolds();
    const timeoutLabel = p.timeout_label;
    if (timeoutLabel !== undefined && !ctx.router?.hasLabel(timeoutLabel))
      throw new ConfigError(
        `timeout_label ${timeoutLabel}: no such <label>`,
        param(config.element, 'timeout_label')!.location,
      );
    return new ConcatFilter(
      {
        key: p.key,
        separator: p.separator,
        nLines: p.n_lines,
        start: mode === 'regexp' ? regexpParam(config, 'multiline_start_regexp') : undefined,
        end: mode === 'regexp' ? regexpParam(config, 'multiline_end_regexp') : undefined,
        continuous: mode === 'regexp' ? regexpParam(config, 'continuous_line_regexp') : undefined,
        streamKey: p.stream_identity_key,
        flushIntervalMs: p.flush_interval * 1000,
        timeoutLabel,
        useFirstTimestamp: p.use_first_timestamp,
        partialKey: p.partial_key,
        partialValue: p.partial_value,
        keepPartialKey: p.keep_partial_key,
        metadataFormat: p.partial_metadata_format,
        keepPartialMetadata: p.keep_partial_metadata,
        criLogtagKey: p.partial_cri_logtag_key,
        criStreamKey: p.partial_cri_stream_key,
        bufferLimit: p.buffer_limit_size,
        overflow: p.buffer_overflow_method,
        mode,
      },
      ctx,
    );
  },
} satisfies PluginDescriptor<ConcatFilter, typeof schema>;
