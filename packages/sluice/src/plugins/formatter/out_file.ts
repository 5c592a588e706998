import type { EventTime } from '@sluice/forward';
import { recordJson } from '../../codec/json.ts';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { formatterSchema, newlineOf, timeFormatterFrom } from '../../shared/parse/format-common.ts';

// Fluentd's formatter_out_file: `time<delim>tag<delim>json\n`, the time in ISO 8601
// (local zone) unless time_format says otherwise.
const schema = formatterSchema({
  output_time: { type: 'bool', default: true, description: 'Write the time first.' },
  output_tag: { type: 'bool', default: true, description: 'Write the tag before the record.' },
  delimiter: {
    type: 'string',
    default: 'TAB',
    description: 'Field separator: TAB, SPACE or COMMA (anything else means TAB, as in Fluentd).',
  },
});

export default {
  kind: 'formatter',
  type: 'out_file',
  description: "time, tag and the record as JSON, separated by tabs (the file output's default).",
  schema,
  create(config) {
    const p = config.params;
    const d = String(p.delimiter);
    const delim = /SPACE/i.test(d) ? ' ' : /COMMA/i.test(d) ? ',' : '\t';
    const nl = newlineOf(config);
    const timef = timeFormatterFrom(config);
    const withTime = p.output_time;
    const withTag = p.output_tag;
    return {
      format(tag: string, time: EventTime, record: EventRecord): string {
        const json = recordJson(record);
        if (withTime && withTag) return timef(time) + delim + tag + delim + json + nl;
        return (withTime ? timef(time) + delim : '') + (withTag ? tag + delim : '') + json + nl;
      },
    };
  },
} satisfies PluginDescriptor<FormatterPlugin, typeof schema>;
