import { param } from '../../config/ast.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';
import { type ParseResult, ParserCore, parserSchema, type SluiceParser } from '../../shared/parse/common.ts';

// Fluentd's parser_json. Sluice always uses the runtime's JSON.parse; json_parser is
// accepted so existing configs load (oj, yajl and json all parse the same text).
class JsonParser implements SluiceParser {
  lastError: string | undefined;
  constructor(readonly core: ParserCore) {}

  private one(value: unknown): ParseResult | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.lastError = 'not a JSON object';
      return undefined;
    }
    const out = this.core.finish(value as Record<string, unknown>);
    if (!out) this.lastError = this.core.error;
    return out;
  }

  private load(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (e) {
      this.lastError = `invalid JSON: ${(e as Error).message}`;
      return undefined;
    }
  }

  /** One record per text. A JSON array is refused here (see parseAll): a line is one event. */
  parse(text: string): ParseResult | undefined {
    const v = this.load(text);
    if (v === undefined) return undefined;
    if (Array.isArray(v)) {
      this.lastError = `a JSON array of ${v.length} records where one record was expected`;
      return undefined;
    }
    return this.one(v);
  }

  /** Every record of a text: an object, or each element of an array (undefined for non-objects). */
  parseAll(text: string): (ParseResult | undefined)[] {
    const v = this.load(text);
    if (v === undefined) return [undefined];
    if (Array.isArray(v)) return v.map((x) => this.one(x));
    return [this.one(v)];
  }
}

const schema = parserSchema(
  {
    json_parser: {
      type: 'enum',
      values: ['oj', 'yajl', 'json'],
      default: 'oj',
      description:
        "Fluentd's JSON library choice; accepted for compatibility, Sluice always uses JSON.parse.",
    },
    stream_buffer_size: {
      type: 'integer',
      default: 8192,
      description: "Fluentd's streaming buffer size; accepted for compatibility.",
    },
  },
  { time_key: 'time', time_type: 'float' },
);

export default {
  kind: 'parser',
  type: 'json',
  description:
    'Parses each line as a JSON object; the time comes from time_key (default "time", float seconds).',
  schema,
  create(config, ctx) {
    // As Fluentd: a time_format without a time_type means string times.
    if (param(config.element, 'time_format') && !param(config.element, 'time_type')) {
      config = { ...config, params: { ...config.params, time_type: 'string' } };
    }
    return new JsonParser(new ParserCore(config, ctx));
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
