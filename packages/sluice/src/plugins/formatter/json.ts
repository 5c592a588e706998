import type { EventTime } from '@sluice/forward';
import { recordJson } from '../../codec/json.ts';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema, newlineOf } from '../../shared/parse/format-common.ts';

const schema = formatterSchema({
  json_parser: {
    type: 'string',
    default: 'oj',
    description: "Fluentd's JSON library choice; accepted for compatibility (Sluice uses JSON.stringify).",
  },
  add_newline: { type: 'bool', default: true, description: 'End each record with a newline.' },
});

export default {
  kind: 'formatter',
  type: 'json',
  description: 'The record as one line of JSON.',
  schema,
  create(config) {
    const nl = newlineOf(config);
    if (!config.params.add_newline)
      return { format: (_t: string, _time: EventTime, r: EventRecord) => recordJson(r) };
    return { format: (_t: string, _time: EventTime, r: EventRecord) => recordJson(r) + nl };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
