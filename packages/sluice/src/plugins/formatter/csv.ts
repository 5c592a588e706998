import type { EventTime } from '@sluice/forward';
import { param } from '../../config/ast.ts';
import type { EventRecord } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { createRecordAccessor } from '../../core/record-accessor.ts';
import { formatterSchema, rubyToS } from '../../shared/parse/format-common.ts';

// Fluentd's formatter_csv (Ruby's CSV writer): force_quotes quotes every field, nil
// included (""); otherwise a field is quoted when it holds the separator, a quote or a
// line break, or is an empty string, and nil is written as nothing.
const schema = formatterSchema(
  {
    fields: {
      type: 'array',
      required: true,
      description: 'Fields to write, in order; record accessors such as $.a.b reach nested values.',
    },
    delimiter: { type: 'string', default: ',', description: 'Column separator; \\t or TAB for a tab.' },
    force_quotes: { type: 'bool', default: true, description: 'Quote every field.' },
    add_newline: { type: 'bool', default: true, description: 'End each line with a newline.' },
  },
  { newline: false },
);

export default {
  kind: 'formatter',
  type: 'csv',
  description: 'The values of the given fields as one CSV line.',
  schema,
  create(config) {
    const p = config.params;
    const where = param(config.element, 'fields')?.location;
    const fields = p.fields.filter((f) => f !== '');
    if (fields.length === 0) throw new ConfigError('empty value is specified in fields parameter', where);
    const getters = fields.map((f) => {
      if (!f.startsWith('$')) return (r: EventRecord) => r[f];
      const a = createRecordAccessor(f, where);
      return (r: EventRecord) => a.get(r);
    });
    const d = p.delimiter;
    const sep = d === '\\t' || d === 'TAB' ? '\t' : d;
    const force = p.force_quotes;
    const end = p.add_newline ? '\n' : '';
    const needsQuote = (s: string) =>
      s === '' || s.includes(sep) || s.includes('"') || s.includes('\n') || s.includes('\r');
    const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
    return {
      format(_tag: string, _time: EventTime, record: EventRecord): string {
        let out = '';
        for (let i = 0; i < getters.length; i++) {
          if (i > 0) out += sep;
          const v = getters[i]!(record);
          if (v === null || v === undefined) {
            if (force) out += '""';
            continue;
          }
          const s = rubyToS(v);
          out += force || needsQuote(s) ? quote(s) : s;
        }
        return out + end;
      },
    };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
