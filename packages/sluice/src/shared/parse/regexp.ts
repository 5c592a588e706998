// Fluentd's RegexpParser, shared by the `regexp` parser and the parsers that are a
// regexp with a default expression (apache, apache_error, nginx).

import type { ConfigElement } from '../../config/ast.ts';
import type { ParamsOf } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import type { PluginContext } from '../../core/plugin.ts';
import {
  type ParseResult,
  type ParserConfig,
  ParserCore,
  parserSchema,
  regexpParam,
  type SluiceParser,
} from './common.ts';
import { type RubyCaptures, rubyCaptures } from './ruby-captures.ts';
import { compileRubyRegexp, groupNames, splitRubyRegexp } from './ruby-regexp.ts';

export function regexpSchema(defaults: { expression?: string; time_format?: string } = {}) {
  const expression = {
    type: 'string' as const,
    description:
      'Ruby regular expression with named captures, e.g. /^(?<host>[^ ]*) (?<message>.*)$/ (options i, m, x after the closing slash). Each capture becomes a field.',
    ...(defaults.expression === undefined ? { required: true as const } : { default: defaults.expression }),
  };
  const d = { time_key: 'time', time_format: defaults.time_format };
  return parserSchema(
    {
      expression,
      ignorecase: {
        type: 'bool',
        default: false,
        deprecated: 'use /pattern/i',
        description: 'Deprecated: match ignoring case (use /pattern/i).',
      },
      multiline: {
        type: 'bool',
        default: false,
        deprecated: 'use /pattern/m',
        description: "Deprecated: '.' matches newlines too (use /pattern/m).",
      },
    },
    d,
  );
}

/** What a regexp parser reads of its resolved config. */
export interface RegexpConfig {
  params: ParamsOf<ReturnType<typeof regexpSchema>['params']>;
  element: ConfigElement;
}

/** Compiles `expression` with the deprecated ignorecase/multiline flags folded in. */
export function expressionParam(config: RegexpConfig): RegExp {
  const p = config.params;
  let re = regexpParam(config, 'expression')!;
  if (p.ignorecase || p.multiline) {
    const parts = splitRubyRegexp(p.expression)!;
    const opts = parts.options + (p.ignorecase ? 'i' : '') + (p.multiline ? 'm' : '');
    re = compileRubyRegexp(parts.source, opts);
  }
  return re;
}

export class RegexpParser implements SluiceParser {
  readonly regexp: RegExp;
  readonly names: string[];
  readonly core: ParserCore;
  lastError: string | undefined;

  /** Ruby's values for named captures in repeated groups (parse/ruby-captures.ts) */
  private readonly captures: RubyCaptures | undefined;

  /** A regexp parser of `expression` (the regexp, apache, apache_error and nginx parsers). */
  static of(config: RegexpConfig, ctx: PluginContext | undefined): RegexpParser {
    return new RegexpParser(config, ctx, expressionParam(config));
  }

  /** `re` applied with the common parse params of `config` (multiline builds its own regexp). */
  constructor(config: ParserConfig, ctx: PluginContext | undefined, re: RegExp) {
    this.names = groupNames(re);
    this.captures = rubyCaptures(re);
    this.regexp = this.captures?.regexp ?? re;
    if (this.names.length === 0) {
      throw new ConfigError(
        "no named captures in 'expression': the regexp needs at least one (?<name>...)",
        config.element.location,
      );
    }
    this.core = new ParserCore(config, ctx);
  }

  /** Builds the record from a match; exposed for multiline, which continues after it. */
  fromMatch(m: RegExpExecArray): ParseResult | undefined {
    this.captures?.fix(m);
    const groups = m.groups!;
    const r: EventRecord = {};
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      const v = groups[names[i]!];
      if (v !== undefined) r[names[i]!] = v;
    }
    const out = this.core.finish(r);
    if (!out) this.lastError = this.core.error;
    return out;
  }

  parse(text: string): ParseResult | undefined {
    const m = this.regexp.exec(text);
    if (!m) {
      this.lastError = 'pattern not matched';
      return undefined;
    }
    return this.fromMatch(m);
  }
}
