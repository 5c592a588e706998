import type { PluginDescriptor } from '../../core/plugin.ts';
import {
  type ParseResult,
  ParserCore,
  parserSchema,
  type SluiceParser,
  separatorParam,
} from '../../shared/parse/common.ts';

// Fluentd's parser_tsv: split into at most keys.length fields (the last keeps the rest
// of the line, delimiters included); missing columns are null.
const schema = parserSchema({
  keys: { type: 'array', required: true, description: 'Field names of the columns, in order.' },
  delimiter: { type: 'string', default: '\t', description: 'Column separator.' },
});

export default {
  kind: 'parser',
  type: 'tsv',
  description: 'Tab-separated values; keys names the columns.',
  schema,
  create(config, ctx) {
    const core = new ParserCore(config, ctx);
    const keys = config.params.keys;
    const sep = separatorParam(config, 'delimiter');
    const n = keys.length;
    const parser: SluiceParser = {
      lastError: undefined,
      parse(text: string): ParseResult | undefined {
        const r: Record<string, unknown> = {};
        // Ruby's ''.split gives no fields at all
        let start = text === '' ? -1 : 0;
        for (let i = 0; i < n; i++) {
          if (start < 0) {
            r[keys[i]!] = null;
            continue;
          }
          const end = i === n - 1 ? -1 : text.indexOf(sep, start);
          r[keys[i]!] = end < 0 ? text.slice(start) : text.slice(start, end);
          start = end < 0 ? -1 : end + sep.length;
        }
        const out = core.finish(r);
        if (!out) parser.lastError = core.error;
        return out;
      },
    };
    return parser;
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
