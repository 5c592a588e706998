// Fluentd v1 configuration syntax (lib/fluent/config/v1_parser.rb): directives and
// nested sections, `key value` lines, @include, comments. Values are read by literal.ts.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { type ConfigElement, newElement } from './ast.ts';
import { globSync, hasGlob } from './glob.ts';
import { normalizeLegacy } from './legacy.ts';
import { type Literal, paramOf, parseLiteral, scanString, scanUnquoted, textOf } from './literal.ts';
import type { ParseOptions } from './parse-options.ts';
import { LINE_END, Scanner, SPACING, SPACING_WITHOUT_COMMENT } from './scanner.ts';
import { validateStructure } from './structure.ts';
import { parseYamlConfig } from './yaml.ts';

export type { ParseOptions };

const ELEMENT_NAME = /[a-zA-Z0-9_]+/y;
const KEY_BOUNDARY = /[ \t\r\n]/y;
/** An element argument ends at optional spacing followed by `>`. */
const ARG_BOUNDARY = /[ \t]*>/y;
const BLANKS = /[ \t]*/y;
/** `@` params the engine reads; any other `@key` in a directive is an error, as in Fluentd. */
const RESERVED_PARAMS = new Set(['@type', '@id', '@label', '@log_level']);
const DIRECTIVES_WITH_RESERVED_PREFIX = new Set(['source', 'match', 'filter', 'system']);
const MAX_INCLUDE_DEPTH = 32;

class V1Parser {
  private readonly s: Scanner;

  constructor(
    text: string,
    file: string,
    private readonly baseDir: string,
    private readonly opts: ParseOptions,
    private readonly includeStack: string[],
  ) {
    this.s = new Scanner(text, file);
  }

  /**
   * Reads lines into `el` until its end tag (or, with `topLevel`, until the end of the
   * file: the root, or an included file, which Fluentd reads as a root too).
   */
  parseBody(el: ConfigElement, topLevel: boolean): void {
    const s = this.s;
    for (;;) {
      s.match(SPACING);
      if (s.eof) {
        if (topLevel) return;
        throw new ConfigError(
          `<${el.name}${el.arg ? ` ${el.arg}` : ''}> is never closed (expected </${el.name}> before the end of the file)`,
          el.location,
        );
      }
      const start = s.pos;
      if (s.text.startsWith('</', s.pos)) {
        s.pos += 2;
        const name = s.match(ELEMENT_NAME);
        s.match(SPACING);
        if (!name || s.peek() !== '>') throw s.error(`malformed end tag: expected </name>`, start);
        s.pos++;
        if (s.match(LINE_END) === undefined)
          throw s.error(`unexpected text after </${name}> (an end tag must be alone on its line)`);
        if (topLevel) throw s.error(`unexpected end tag </${name}>: no <${name}> is open`, start);
        if (name !== el.name) {
          throw s.error(
            `mismatched end tag </${name}>: expected </${el.name}> to close <${el.name}> opened at line ${el.location.line}`,
            start,
          );
        }
        return;
      }
      if (s.peek() === '<') {
        s.pos++;
        const name = s.match(ELEMENT_NAME);
        if (!name) throw s.error("expected a directive or section name after '<'");
        // A tag stays on one line (Fluentd lets it run on, which only hides a missing '>').
        s.match(BLANKS);
        const arg = scanUnquoted(s, ARG_BOUNDARY) ?? '';
        s.match(BLANKS);
        if (s.peek() !== '>') throw s.error(`expected '>' to close <${name}${arg ? ` ${arg}` : ''}`);
        s.pos++;
        if (s.match(LINE_END) === undefined)
          throw s.error(
            `unexpected text after <${name}${arg ? ` ${arg}` : ''}> (a tag must be alone on its line)`,
          );
        const child = newElement(name, arg.trim(), s.loc(start));
        this.parseBody(child, false);
        el.elements.push(child);
        continue;
      }
      this.parseLine(el, start);
    }
  }

  private parseLine(el: ConfigElement, start: number): void {
    const s = this.s;
    const key = textOf(scanString(s, KEY_BOUNDARY, this.opts), s, start, 'a key') ?? '';
    const location = s.loc(start);
    const blank = s.match(SPACING_WITHOUT_COMMENT) ?? '';
    const noValue = blank.includes('\n') || s.eof;
    const atRoot = el.name === '';
    if (key === '@include' || (atRoot && key === 'include')) {
      if (noValue) throw new ConfigError(`${key} needs a file path or glob`, location);
      const at = s.pos;
      const target = textOf(scanString(s, LINE_END, this.opts), s, at, `an ${key} path`) ?? '';
      const after = s.pos;
      if (s.match(LINE_END) === undefined) throw s.error(`unexpected text after the ${key} path`, after);
      this.include(el, target, location);
      return;
    }
    if (atRoot) {
      throw new ConfigError(
        `stray text '${key}' outside any directive (expected <source>, <match>, <filter>, <label>, <system>, <worker> or @include)`,
        location,
      );
    }
    if (key.startsWith('@') && !RESERVED_PARAMS.has(key) && DIRECTIVES_WITH_RESERVED_PREFIX.has(el.name)) {
      throw new ConfigError(
        `'@' is a reserved prefix: '${key}' is not a known parameter (known: ${[...RESERVED_PARAMS].join(', ')})`,
        location,
      );
    }
    let value: Literal | undefined;
    if (!noValue) {
      value = parseLiteral(s, this.opts);
      const after = s.pos;
      if (s.match(LINE_END) === undefined)
        throw s.error(`unexpected text after the value of '${key}' (expected the end of the line)`, after);
    }
    el.params.push(paramOf(key, value, location));
  }

  private include(el: ConfigElement, target: string, location: ConfigElement['location']): void {
    if (/^[a-z][a-z0-9+.-]+:\/\//i.test(target) && !target.startsWith('file://')) {
      throw new ConfigError(`@include of a URL is not supported: ${target} (include a local file)`, location);
    }
    const path = target.startsWith('file://') ? target.slice('file://'.length) : target;
    const pattern = isAbsolute(path) ? path : join(this.baseDir, path);
    let files: string[];
    if (hasGlob(pattern)) files = globSync(pattern);
    else if (existsSync(pattern)) files = [pattern];
    else throw new ConfigError(`@include: file not found: ${pattern}`, location, 'CONFIG_READ');
    for (const f of files) {
      const real = realpathSync(f);
      if (this.includeStack.includes(real))
        throw new ConfigError(`@include cycle: ${f} includes itself`, location);
      if (this.includeStack.length >= MAX_INCLUDE_DEPTH)
        throw new ConfigError(`@include nested more than ${MAX_INCLUDE_DEPTH} levels`, location);
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        throw new ConfigError(`@include: cannot read ${f}: ${(e as Error).message}`, location, 'CONFIG_READ');
      }
      const stack = [...this.includeStack, real];
      if (isYamlPath(f)) {
        const sub = parseYamlConfig(text, { ...this.opts, file: f, baseDir: dirname(f) }, stack);
        el.params.push(...sub.params);
        el.elements.push(...sub.elements);
      } else {
        new V1Parser(normalizeNewlines(text), f, dirname(f), this.opts, stack).parseBody(el, true);
      }
    }
  }
}

function normalizeNewlines(text: string): string {
  // Columns stay right: only the \r at the end of each line goes.
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

export function isYamlPath(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml';
}

/** Parses Fluentd-syntax config text into the root element (name ''). */
export function parseConfigText(
  text: string,
  opts: ParseOptions,
  includeStack: string[] = [],
): ConfigElement {
  const root = parseRaw(text, opts, includeStack);
  validateStructure(root);
  return normalizeLegacy(root);
}

/** Parses without validation or legacy normalisation (YAML includes of .conf files use it). */
export function parseRaw(text: string, opts: ParseOptions, includeStack: string[] = []): ConfigElement {
  const root = newElement('', '', { file: opts.file, line: 1, column: 1 });
  const baseDir = opts.baseDir ?? dirname(resolvePath(opts.file));
  new V1Parser(normalizeNewlines(text), opts.file, baseDir, opts, includeStack).parseBody(root, true);
  return root;
}

/** Reads a config file: Fluentd syntax, or Fluentd's YAML format for .yaml/.yml. */
export function parseConfigFile(path: string, opts: Omit<ParseOptions, 'file'> = {}): ConfigElement {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(e as Error).message}`,
      undefined,
      'CONFIG_READ',
    );
  }
  const stack = [realpathSync(path)];
  const full = { ...opts, file: path, baseDir: opts.baseDir ?? dirname(resolvePath(path)) };
  if (isYamlPath(path)) {
    const root = parseYamlConfig(text, full, stack);
    validateStructure(root);
    return normalizeLegacy(root);
  }
  return parseConfigText(text, full, stack);
}
