import type { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema, newlineOf, rubyToS } from '../../shared/parse/format-common.ts';

const schema = formatterSchema({
  message_key: { type: 'string', default: 'message', description: 'Field whose value is written.' },
  add_newline: { type: 'bool', default: true, description: 'End each record with a newline.' },
});

export default {
  kind: 'formatter',
  type: 'single_value',
  description: 'The value of one field only (by default message), e.g. to write raw lines back out.',
  schema,
  create(config) {
    const key = config.params.message_key;
    const end = config.params.add_newline ? newlineOf(config) : '';
    return {
      format(_tag: string, _time: EventTime, record: EventRecord): string {
        const v = record[key];
        return (typeof v === 'string' ? v : rubyToS(v)) + end;
      },
    };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
