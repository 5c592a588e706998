import { EventTime } from '@sluice/forward';
import { param } from '../../config/ast.ts';
import { ConfigError, internalError } from '../../core/errors.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';
import { type ParseResult, parserSchema, regexpParam, type SluiceParser } from '../../shared/parse/common.ts';
import { RegexpParser } from '../../shared/parse/regexp.ts';
import { compileRubyRegexp, splitRubyRegexp } from '../../shared/parse/ruby-regexp.ts';

// Fluentd's parser_multiline: format1..formatN are joined into one regexp applied with
// Ruby's /m (dot matches newline) to an event's lines joined by "\n". The tail input
// groups lines into events with isFirstLine (format_firstline) and hands each group to
// parse/parseAll.
const FORMAT_MAX = 20;

type FormatKey =
  `format${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20}`;
const FORMAT_KEYS = Array.from({ length: FORMAT_MAX }, (_, i) => `format${i + 1}` as FormatKey);
const formats = {} as Record<FormatKey, { type: 'string'; default: null; description: string }>;
for (const [i, key] of FORMAT_KEYS.entries()) {
  formats[key] = {
    type: 'string',
    default: null,
    description: `Part ${i + 1} of the event regexp, between slashes; the parts are concatenated.`,
  };
}

export interface MultilineParser extends SluiceParser {
  /** true when format_firstline is set: the caller groups lines itself */
  readonly hasFirstLine: boolean;
  /** Fluentd's firstline?: does this line start a new event? */
  isFirstLine(line: string): boolean;
  parseAll(text: string): (ParseResult | undefined)[];
}

class Multiline implements MultilineParser {
  lastError: string | undefined;
  constructor(
    private readonly inner: RegexpParser,
    private readonly firstline: RegExp | undefined,
    private readonly unmatchedLines: boolean,
  ) {}

  get hasFirstLine(): boolean {
    return this.firstline !== undefined;
  }

  isFirstLine(line: string): boolean {
    if (!this.firstline)
      throw internalError('multiline parser without format_firstline has no first-line test');
    return this.firstline.test(line);
  }

  /**
   * Every event in the text, as Fluentd: match, continue after the match (skipping one
   * "\n"), until the rest is empty or does not match. A part that does not match is
   * undefined, or `{unmatched_line: rest}` with `unmatched_lines`.
   */
  parseAll(text: string): (ParseResult | undefined)[] {
    const out: (ParseResult | undefined)[] = [];
    const re = this.inner.regexp;
    let rest = text;
    for (;;) {
      const m = re.exec(rest);
      if (!m) {
        this.lastError = 'pattern not matched';
        out.push(
          this.unmatchedLines ? { time: EventTime.now(), record: { unmatched_line: rest } } : undefined,
        );
        return out;
      }
      const r = this.inner.fromMatch(m);
      if (!r) this.lastError = this.inner.lastError;
      out.push(
        r ?? (this.unmatchedLines ? { time: EventTime.now(), record: { unmatched_line: rest } } : undefined),
      );
      rest = rest.slice(m.index + m[0].length);
      if (rest.startsWith('\n')) rest = rest.slice(1);
      // A zero-length match would never advance.
      if (rest === '' || m[0].length === 0) return out;
    }
  }

  parse(text: string): ParseResult | undefined {
    return this.parseAll(text)[0];
  }
}

const schema = parserSchema(
  {
    format_firstline: {
      type: 'string',
      default: null,
      description: 'Regexp (between slashes) matching the first line of an event.',
    },
    unmatched_lines: {
      type: 'string',
      default: null,
      description: 'When set, text that does not match becomes {"unmatched_line": text} instead of an error.',
    },
    ...formats,
  },
  { time_key: 'time' },
);

export default {
  kind: 'parser',
  type: 'multiline',
  description:
    'Events spanning several lines (stack traces): format_firstline starts an event, format1..format20 parse it.',
  schema,
  create(config, ctx) {
    const parts: string[] = [];
    let gap: string | undefined;
    for (const key of FORMAT_KEYS) {
      const v = config.params[key];
      if (v === undefined) {
        gap ??= key;
        continue;
      }
      const where = param(config.element, key)!.location;
      if (gap) throw new ConfigError(`jump of format index found: ${gap} is missing before ${key}`, where);
      const split = splitRubyRegexp(v, true);
      if (!split || split.options)
        throw new ConfigError(
          `${key} should be a regexp between slashes, like /^(?<time>\\S+) (?<message>.*)/ (got ${JSON.stringify(v)})`,
          where,
        );
      parts.push(split.source);
    }
    if (parts.length === 0)
      throw new ConfigError(
        'multiline parser needs format1 (and optionally format2..format20)',
        config.element.location,
      );
    let regexp: RegExp;
    try {
      regexp = compileRubyRegexp(parts.join(''), 'm');
    } catch (e) {
      throw new ConfigError(
        `invalid regexp '${parts.join('')}': ${(e as Error).message}`,
        config.element.location,
      );
    }
    const inner = new RegexpParser(config, ctx, regexp);
    const firstline = regexpParam(config, 'format_firstline', true);
    return new Multiline(inner, firstline, config.params.unmatched_lines !== undefined);
  },
} satisfies PluginDescriptor<MultilineParser, typeof schema>;
