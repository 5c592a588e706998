import type { PluginDescriptor } from '../../core/plugin.ts';
import {
  type ParseResult,
  ParserCore,
  parserSchema,
  regexpParam,
  type SluiceParser,
  separatorParam,
} from '../../shared/parse/common.ts';
import { rubySplit } from '../../shared/parse/types.ts';

// Fluentd's parser_ltsv: `label:value<TAB>label:value`; a pair without the label
// delimiter is skipped.
const schema = parserSchema(
  {
    delimiter: { type: 'string', default: '\t', description: 'Separator between pairs.' },
    delimiter_pattern: {
      type: 'string',
      default: null,
      description: 'Regexp separating pairs (overrides delimiter), e.g. /\\s+/.',
    },
    label_delimiter: {
      type: 'string',
      default: ':',
      description: 'Separator between a label and its value.',
    },
  },
  { time_key: 'time' },
);

export default {
  kind: 'parser',
  type: 'ltsv',
  description: 'Labeled Tab-Separated Values (label:value pairs).',
  schema,
  create(config, ctx) {
    const core = new ParserCore(config, ctx);
    const delimiter = regexpParam(config, 'delimiter_pattern') ?? separatorParam(config, 'delimiter');
    const label = separatorParam(config, 'label_delimiter');
    const parser: SluiceParser = {
      lastError: undefined,
      parse(text: string): ParseResult | undefined {
        const r: Record<string, unknown> = {};
        for (const pair of rubySplit(text, delimiter)) {
          const i = pair.indexOf(label);
          if (i < 0) continue;
          const key = pair.slice(0, i);
          const value = pair.slice(i + label.length);
          // a label read from data must not reach the prototype setter
          if (key === '__proto__')
            Object.defineProperty(r, key, { value, enumerable: true, writable: true, configurable: true });
          else r[key] = value;
        }
        const out = core.finish(r);
        if (!out) parser.lastError = core.error;
        return out;
      },
    };
    return parser;
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
