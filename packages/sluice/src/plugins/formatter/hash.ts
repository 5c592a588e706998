import type { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema, newlineOf, rubyInspect } from '../../shared/parse/format-common.ts';

// Fluentd's formatter_hash writes Ruby's Hash#inspect; Sluice writes Ruby 3.4's form.
const schema = formatterSchema({
  add_newline: { type: 'bool', default: true, description: 'End each record with a newline.' },
});

export default {
  kind: 'formatter',
  type: 'hash',
  description: 'The record as Ruby prints a Hash: {"key" => "value"}.',
  schema,
  create(config) {
    const end = config.params.add_newline ? newlineOf(config) : '';
    return {
      format: (_tag: string, _time: EventTime, record: EventRecord): string => rubyInspect(record) + end,
    };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
