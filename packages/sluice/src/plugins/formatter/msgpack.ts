import type { EventTime } from '@sluice/forward';
import { packr } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema } from '../../shared/parse/format-common.ts';

const schema = formatterSchema({}, { newline: false });

export default {
  kind: 'formatter',
  type: 'msgpack',
  description: 'The record as a MessagePack map (binary; no separator).',
  schema,
  create() {
    return { format: (_tag: string, _time: EventTime, record: EventRecord): Buffer => packr.pack(record) };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
