import { EventTime } from '@sluice/forward';
import type { PluginDescriptor } from '../../core/plugin.ts';
import type { ParseResult, SluiceParser } from '../../shared/parse/common.ts';
import { parserSchema } from '../../shared/parse/common.ts';

// Fluentd's parser_none: the whole line under one key. Like Fluentd, it does not apply
// `types` or null rules; only message_key and estimate_current_event matter.
const schema = parserSchema({
  message_key: { type: 'string', default: 'message', description: 'Field that receives the line.' },
});

export default {
  kind: 'parser',
  type: 'none',
  description: 'Keeps each line as is, under message_key.',
  schema,
  create(config) {
    const key = config.params.message_key;
    const estimate = config.params.estimate_current_event;
    return {
      messageKey: key,
      parse(text: string): ParseResult {
        const record: Record<string, unknown> = {};
        record[key] = text;
        return { time: estimate ? EventTime.now() : undefined, record };
      },
    };
  },
} satisfies PluginDescriptor<SluiceParser & { messageKey: string }, typeof schema>;
