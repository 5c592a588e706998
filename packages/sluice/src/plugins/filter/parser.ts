import type { EventTime } from '@sluice/forward';
import { param } from '../../config/ast.ts';
import { defineParams, defineSchema, type Resolved } from '../../config/schema.ts';
import type { EventBatch, EventRecord } from '../../core/batch.ts';
import { BatchBuilder } from '../../core/batch-builder.ts';
import { SluiceError } from '../../core/errors.ts';
import type { FilterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { createRecordAccessor } from '../../core/record-accessor.ts';
import type { ParseResult, SluiceParser } from '../../shared/parse/common.ts';

// Fluentd's filter_parser: parses one field of each record with a nested <parse>.
// Failures follow Fluentd: text the parser does not match goes to @ERROR ("pattern not
// matched") and, with reserve_data, the original record continues; a parse error (a bad
// time) or a missing field sends the record to @ERROR only.

const params = defineParams({
  key_name: {
    type: 'string',
    required: true,
    description: 'Field to parse (a record accessor such as $.log.text reaches nested fields).',
  },
  reserve_data: {
    type: 'bool',
    default: false,
    description: 'Keep the original fields next to the parsed ones.',
  },
  reserve_time: {
    type: 'bool',
    default: false,
    description: 'Keep the original event time instead of the parsed one.',
  },
  remove_key_name_field: {
    type: 'bool',
    default: false,
    description: 'Remove key_name from the record when parsing succeeded (with reserve_data).',
  },
  inject_key_prefix: {
    type: 'string',
    default: null,
    description: 'Prefix added to every parsed field name.',
  },
  replace_invalid_sequence: {
    type: 'bool',
    default: false,
    description:
      'Accepted for compatibility: Sluice decodes strings with invalid UTF-8 replaced (U+FFFD) before any parser sees them.',
  },
  hash_value_field: {
    type: 'string',
    default: null,
    description: 'Put the parsed fields under this one field instead of at the top level.',
  },
  emit_invalid_record_to_error: {
    type: 'bool',
    default: true,
    description: 'Send records that fail to parse to the @ERROR label.',
  },
});

const schema = defineSchema({
  params,
  sections: { parse: { description: 'The parser applied to key_name.', plugin: 'parser', required: true } },
});

class ParserFilter implements FilterPlugin {
  private readonly p: Resolved<typeof schema>['params'];
  private readonly accessor: ReturnType<typeof createRecordAccessor>;

  constructor(
    config: Resolved<typeof schema>,
    private readonly parser: SluiceParser,
    private readonly emitError: (tag: string, time: EventTime, record: EventRecord, error: Error) => void,
  ) {
    this.p = config.params;
    this.accessor = createRecordAccessor(this.p.key_name, param(config.element, 'key_name')?.location);
  }

  private shape(record: EventRecord, values: EventRecord | undefined): EventRecord {
    const p = this.p;
    let v = values;
    const prefix = p.inject_key_prefix;
    if (v && prefix !== undefined) {
      const o: EventRecord = {};
      for (const k in v) o[prefix + k] = v[k];
      v = o;
    }
    const r: EventRecord | undefined = p.hash_value_field !== undefined ? { [p.hash_value_field]: v } : v;
    if (p.reserve_data) return r ? { ...record, ...r } : record;
    return r ?? {};
  }

  private error(tag: string, time: EventTime, record: EventRecord, message: string): void {
    if (this.p.emit_invalid_record_to_error)
      this.emitError(tag, time, record, new SluiceError('FILTER_INVALID_RECORD', message));
  }

  private results(raw: string | Uint8Array): (ParseResult | undefined)[] {
    const parser = this.parser;
    if (parser.parseAll) return parser.parseAll(raw as string);
    return [parser.parse(raw as string)];
  }

  filter(batch: EventBatch): EventBatch | null {
    const out = new BatchBuilder(Math.max(1024, batch.size * 2));
    const p = this.p;
    const tag = batch.tag;
    for (const { time, record } of batch.entries()) {
      const raw = this.accessor.get(record);
      if (raw === undefined || raw === null) {
        if (p.reserve_data) out.add(time, this.shape(record, {}));
        this.error(tag, time, record, `${p.key_name} does not exist`);
        continue;
      }
      let text: string | Uint8Array;
      if (typeof raw === 'string' || raw instanceof Uint8Array) text = raw;
      else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw);
      else {
        this.error(tag, time, record, `parse failed: ${p.key_name} is not a string`);
        continue;
      }
      const results = this.results(text);
      // A bad time is Fluentd's ParserError: the whole record goes to @ERROR, nothing is emitted.
      if (results.some((r) => r === undefined) && this.parser.lastError?.startsWith('invalid time')) {
        this.error(tag, time, record, `parse failed: ${this.parser.lastError}`);
        continue;
      }
      for (const r of results) {
        if (r) {
          const t = p.reserve_time || r.time === undefined ? time : r.time;
          let base = record;
          if (p.remove_key_name_field) {
            base = { ...record };
            this.accessor.delete(base);
          }
          out.add(t, this.shape(base, r.record));
        } else {
          const shown = typeof text === 'string' ? text : `<${text.length} bytes>`;
          this.error(tag, time, record, `pattern not matched with data '${shown}'`);
          if (p.reserve_data) out.add(time, this.shape(record, {}));
        }
      }
    }
    return out.count === 0 ? null : out.take(tag);
  }
}

export default {
  kind: 'filter',
  type: 'parser',
  description: 'Parses a field of each record (e.g. a JSON or access-log line in "log") into fields.',
  schema,
  create(config, ctx) {
    const parser = ctx.createNested<SluiceParser>('parser', config.sections.parse.element);
    return new ParserFilter(config, parser, (tag, time, record, error) =>
      ctx.emitError(tag, time, record, error),
    );
  },
} satisfies PluginDescriptor<ParserFilter, typeof schema>;
