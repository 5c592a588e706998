// Values of `key value` lines, as Fluentd's LiteralParser reads them
// (lib/fluent/config/literal_parser.rb): unquoted, 'single', "double" (escapes,
// several lines, #{...}), and JSON arrays/hashes that run until balanced.

import type { ConfigParam } from './ast.ts';
import { type EvalContext, evalEmbedded } from './interpolate.ts';
import type { SpecialValue } from './ruby-eval.ts';
import { type Scanner, VALUE_BOUNDARY } from './scanner.ts';

/**
 * A value that embedded code made special: `"#{ENV['X'] || use_default}"` (the parameter
 * takes its default) or `use_nil` (it is unset), as Fluentd's literal parser returns
 * :default or nil for the whole string.
 */
export type Literal = string | { special: SpecialValue };

/** Reads the value after a key. Returns undefined when there is none (empty value). */
export function parseLiteral(s: Scanner, ctx: EvalContext): Literal | undefined {
  const c = s.peek();
  if (c === '[' || c === '{') return scanJson(s);
  return scanString(s, VALUE_BOUNDARY, ctx);
}

/** A quoted or unquoted string; unquoted text ends where `boundary` matches. */
export function scanString(s: Scanner, boundary: RegExp, ctx: EvalContext): Literal | undefined {
  const c = s.peek();
  if (c === '"') return scanDoubleQuoted(s, ctx);
  if (c === "'") return scanSingleQuoted(s);
  return scanUnquoted(s, boundary);
}

/**
 * Unquoted text runs to the end of the line, minus trailing blanks and a trailing
 * comment. A `#` is a comment only after a blank: `a#b` keeps its `#`.
 */
export function scanUnquoted(s: Scanner, boundary: RegExp): string | undefined {
  const start = s.pos;
  while (!s.eof) {
    const c = s.peek();
    if (c === '\n' || (c !== '#' && s.test(boundary))) break;
    s.pos++;
  }
  return s.pos > start ? s.text.slice(start, s.pos) : undefined;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  r: '\r',
  n: '\n',
  t: '\t',
  f: '\f',
  b: '\b',
  '0': '\0',
};

function scanDoubleQuoted(s: Scanner, ctx: EvalContext): Literal {
  const open = s.pos;
  s.pos++;
  let out = '';
  let special: SpecialValue | undefined;
  for (;;) {
    if (s.eof) throw s.error('unterminated double-quoted string (no closing ")', open);
    const c = s.text[s.pos]!;
    if (c === '"') {
      s.pos++;
      return special ? { special } : out;
    }
    if (c === '\\') {
      const n = s.text[s.pos + 1];
      if (n === undefined) throw s.error('unterminated double-quoted string (no closing ")', open);
      if (n === '\n') {
        // A backslash at the end of a line continues the string on the next line.
        s.pos += 2;
        continue;
      }
      const e = ESCAPES[n];
      if (e !== undefined) out += e;
      else if (/[a-zA-Z0-9]/.test(n)) throw s.error(`unknown escape '\\${n}' in a double-quoted string`);
      else out += n; // `\\`, `\#`, `\$`...: the symbol itself
      s.pos += 2;
      continue;
    }
    if (c === '#' && s.text[s.pos + 1] === '{') {
      s.pos += 2;
      const v = evalEmbedded(s, ctx);
      // nil anywhere wins over :default, as in Fluentd's scan_double_quoted_string.
      if (typeof v === 'string') out += v;
      else if (special !== 'nil') special = v.special;
      continue;
    }
    out += c;
    s.pos++;
  }
}

function scanSingleQuoted(s: Scanner): string {
  const open = s.pos;
  s.pos++;
  let out = '';
  for (;;) {
    const c = s.text[s.pos];
    // Fluentd stops single-quoted strings at a newline too; saying so here is clearer
    // than reporting the end of the file.
    if (c === undefined || c === '\n')
      throw s.error("unterminated single-quoted string (no closing ' on this line)", open);
    if (c === "'") {
      s.pos++;
      return out;
    }
    if (c === '\\' && (s.text[s.pos + 1] === "'" || s.text[s.pos + 1] === '\\')) {
      out += s.text[s.pos + 1];
      s.pos += 2;
      continue;
    }
    out += c;
    s.pos++;
  }
}

/**
 * A JSON array or hash, possibly over several lines, with `#` comments outside string
 * literals. Kept as compact JSON text, as Fluentd does (JSON.dump of the parsed value).
 */
function scanJson(s: Scanner): string {
  const open = s.pos;
  const what = s.peek() === '[' ? 'array' : 'hash';
  let depth = 0;
  let inString = false;
  let text = '';
  let segment = s.pos;
  while (!s.eof) {
    const c = s.text[s.pos]!;
    if (inString) {
      if (c === '\\') s.pos++;
      else if (c === '"') inString = false;
      else if (c === '\n')
        throw s.error(`unterminated string inside the JSON ${what} starting at line ${s.loc(open).line}`);
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        s.pos++;
        text += s.text.slice(segment, s.pos);
        try {
          return JSON.stringify(JSON.parse(text));
        } catch (e) {
          throw s.error(
            `invalid JSON ${what}: ${(e as Error).message} (a value starting with '${what === 'array' ? '[' : '{'}' is read as JSON; quote it to use it as text)`,
            open,
          );
        }
      }
    } else if (c === '#') {
      text += s.text.slice(segment, s.pos);
      while (!s.eof && s.text[s.pos] !== '\n') s.pos++;
      segment = s.pos;
      continue;
    }
    s.pos++;
  }
  throw s.error(
    `unterminated JSON ${what} (no closing '${what === 'array' ? ']' : '}'}' before the end of the file)`,
    open,
  );
}

/** The param a `key value` line gives. */
export function paramOf(key: string, v: Literal | undefined, location: ConfigParam['location']): ConfigParam {
  if (v === undefined || typeof v === 'string') return { key, value: v ?? '', location };
  return { key, value: '', location, special: v.special };
}

/** A literal where a special value makes no sense (a key, a path): text or an error. */
export function textOf(v: Literal | undefined, s: Scanner, at: number, what: string): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  throw s.error(`use_${v.special} is allowed in a parameter value, not in ${what}`, at);
}
