import type { ConfigElement } from '../../config/ast.ts';
import { param } from '../../config/ast.ts';
import { defineSchema } from '../../config/schema.ts';
import { ConfigError } from '../../core/errors.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';
import { type ParseResult, parserSchema, type SluiceParser } from '../../shared/parse/common.ts';

// fluent-plugin-multi-format-parser: each <pattern> is a parser (`format TYPE` and that
// parser's parameters; `format /regexp/` is a regexp parser, as Fluentd's new_parser
// reads it), tried from top to bottom; the first that gives a record wins. format_key
// records which one (its format_name, else "TYPE#INDEX").

interface Pattern {
  parser: SluiceParser;
  name: string;
}

class MultiFormat implements SluiceParser {
  lastError: string | undefined;
  constructor(
    private readonly patterns: Pattern[],
    private readonly formatKey: string | undefined,
  ) {}

  parse(text: string): ParseResult | undefined {
    for (const p of this.patterns) {
      let r: ParseResult | undefined;
      try {
        r = p.parser.parse(text);
      } catch {
        r = undefined; // a parser error is ignored, as the plugin does
      }
      if (!r) continue;
      if (this.formatKey !== undefined) r.record[this.formatKey] = p.name;
      return r;
    }
    this.lastError = `no <pattern> matched (tried ${this.patterns.map((p) => p.name).join(', ')})`;
    return undefined;
  }
}

/** The <pattern> element as a <parse> element of its format: `format X` becomes `@type X`. */
function asParse(el: ConfigElement, format: string): ConfigElement {
  const loc = param(el, 'format')!.location;
  const params = el.params.filter((p) => !['format', 'format_name', '@type', 'type'].includes(p.key));
  const regexp = format.startsWith('/') && format.lastIndexOf('/') > 0;
  params.unshift({ key: '@type', value: regexp ? 'regexp' : format, location: loc });
  if (regexp) params.push({ key: 'expression', value: format, location: loc });
  return { ...el, name: 'parse', params };
}

const schema = defineSchema({
  ...parserSchema({
    format_key: {
      type: 'string',
      default: null,
      description:
        "Field that receives the name of the pattern that matched (its format_name, else 'FORMAT#INDEX').",
    },
  }),
  sections: {
    pattern: {
      multi: true,
      open: true,
      description:
        'One parser: `format TYPE` (or `format /regexp/`) and that parser’s parameters; `format_name` names it for format_key.',
    },
  },
});

export default {
  kind: 'parser',
  type: 'multi_format',
  description:
    'Tries the parsers of its <pattern> sections in order; the first that matches gives the record.',
  schema,
  create(config, ctx) {
    const patterns: Pattern[] = [];
    config.sections.pattern.forEach((s, i) => {
      const format = param(s.element, 'format')?.value ?? param(s.element, '@type')?.value;
      if (format === undefined)
        throw new ConfigError('<pattern> needs format (e.g. format json)', s.element.location);
      if (format === 'multi_format')
        throw new ConfigError('<pattern> cannot be multi_format itself', s.element.location);
      const parser = ctx.createNested<SluiceParser>('parser', asParse(s.element, format));
      patterns.push({ parser, name: param(s.element, 'format_name')?.value ?? `${format}#${i}` });
    });
    if (patterns.length === 0)
      throw new ConfigError('multi_format needs at least one <pattern> section', config.element.location);
    return new MultiFormat(patterns, config.params.format_key);
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
