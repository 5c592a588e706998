import type { PluginDescriptor } from '../../core/plugin.ts';
import {
  type ParseResult,
  ParserCore,
  parserSchema,
  type SluiceParser,
  separatorParam,
} from '../../shared/parse/common.ts';
import { parseCsvFast, parseCsvLine } from '../../shared/parse/csv-line.ts';

const schema = parserSchema({
  keys: { type: 'array', required: true, description: 'Field names of the columns, in order.' },
  delimiter: { type: 'string', default: ',', description: 'Column separator (a character or string).' },
  parser_engine: {
    type: 'enum',
    values: ['normal', 'fast'],
    default: 'normal',
    aliases: ['parser_type'],
    description:
      'normal: strict RFC 4180 (a malformed line is rejected); fast: split and rejoin quoted columns, lenient.',
  },
});

export default {
  kind: 'parser',
  type: 'csv',
  description: 'Comma-separated values with RFC 4180 quoting; keys names the columns.',
  schema,
  create(config, ctx) {
    const core = new ParserCore(config, ctx);
    const keys = config.params.keys;
    const sep = separatorParam(config, 'delimiter');
    const fast = config.params.parser_engine === 'fast';
    const parser: SluiceParser = {
      lastError: undefined,
      parse(text: string): ParseResult | undefined {
        const r: Record<string, unknown> = {};
        if (fast) {
          // As Fluentd's fast engine: only the columns present become fields (extra ones are dropped).
          const values = parseCsvFast(text, sep);
          for (let i = 0; i < values.length && i < keys.length; i++) r[keys[i]!] = values[i];
        } else {
          let values: (string | null)[] | undefined;
          try {
            values = parseCsvLine(text, sep);
          } catch (e) {
            parser.lastError = `malformed CSV: ${(e as Error).message}`;
            return undefined;
          }
          if (!values) {
            parser.lastError = 'empty line';
            return undefined;
          }
          for (let i = 0; i < keys.length; i++) r[keys[i]!] = values[i] ?? null;
        }
        const out = core.finish(r);
        if (!out) parser.lastError = core.error;
        return out;
      },
    };
    return parser;
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
