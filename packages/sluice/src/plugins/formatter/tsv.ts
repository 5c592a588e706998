import type { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema, newlineOf, rubyToS } from '../../shared/parse/format-common.ts';

const schema = formatterSchema({
  keys: {
    type: 'array',
    required: true,
    description: 'Fields to write, in order (a missing field is empty).',
  },
  delimiter: { type: 'string', default: '\t', description: 'Separator between values.' },
  add_newline: { type: 'bool', default: true, description: 'End each record with a newline.' },
});

export default {
  kind: 'formatter',
  type: 'tsv',
  description: 'The values of the given keys, tab-separated.',
  schema,
  create(config) {
    const keys = config.params.keys;
    const delim = config.params.delimiter;
    const end = config.params.add_newline ? newlineOf(config) : '';
    return {
      format(_tag: string, _time: EventTime, record: EventRecord): string {
        let out = '';
        for (let i = 0; i < keys.length; i++) out += (i > 0 ? delim : '') + rubyToS(record[keys[i]!]);
        return out + end;
      },
    };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
