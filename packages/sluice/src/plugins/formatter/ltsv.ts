import type { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema, newlineOf, rubyToS } from '../../shared/parse/format-common.ts';

const schema = formatterSchema({
  delimiter: { type: 'string', default: '\t', description: 'Separator between pairs.' },
  label_delimiter: {
    type: 'string',
    default: ':',
    description: 'Separator between a label and its value.',
  },
  replacement: {
    type: 'string',
    default: ' ',
    description: 'Replaces the delimiter where it occurs inside a value.',
  },
  add_newline: { type: 'bool', default: true, description: 'End each record with a newline.' },
});

export default {
  kind: 'formatter',
  type: 'ltsv',
  description: 'Labeled Tab-Separated Values: label:value pairs.',
  schema,
  create(config) {
    const p = config.params;
    const delim = p.delimiter;
    const label = p.label_delimiter;
    const repl = p.replacement;
    const end = p.add_newline ? newlineOf(config) : '';
    return {
      format(_tag: string, _time: EventTime, record: EventRecord): string {
        let out = '';
        for (const k in record) {
          if (out.length > 0) out += delim;
          out += k + label + rubyToS(record[k]).replaceAll(delim, repl);
        }
        return out + end;
      },
    };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
