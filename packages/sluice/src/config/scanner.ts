import { ConfigError, type SourceLocation } from '../core/errors.ts';

/**
 * A cursor over one config file's text that knows how to turn an offset into a
 * 1-based line and column, so every parse error and every AST node can say where it is.
 */
export class Scanner {
  pos = 0;
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  get eof(): boolean {
    return this.pos >= this.text.length;
  }

  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  /** Location of an offset (default: the cursor). */
  loc(at = this.pos): SourceLocation {
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, column: at - starts[lo]! + 1 };
  }

  error(reason: string, at = this.pos): ConfigError {
    return new ConfigError(reason, this.loc(at), 'CONFIG_SYNTAX');
  }

  /** Consumes `re` (sticky) at the cursor; returns the match or undefined. */
  match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  /** Tests `re` (sticky) at `at` without consuming. */
  test(re: RegExp, at = this.pos): boolean {
    re.lastIndex = at;
    return re.test(this.text);
  }
}

// Fluentd's lexical classes (lib/fluent/config/basic_parser.rb), as sticky regexps.
/** blanks, newlines and whole comments */
export const SPACING = /(?:[ \t\r\n]|#[^\r\n]*(?:\r?\n|\r|$))*/y;
/** blanks and newlines, no comments */
export const SPACING_WITHOUT_COMMENT = /[ \t\r\n]*/y;
/**
 * End of a value: optional blanks, an optional comment, then a newline or EOF (repeated,
 * so blank lines after it are swallowed too).
 */
export const LINE_END = /(?:[ \t]*(?:#[^\r\n]*)?(?:\r\n|\r|\n|$))+/y;
/** A single end-of-value test, used as a boundary while scanning unquoted text. */
export const VALUE_BOUNDARY = /[ \t]*(?:#[^\r\n]*)?(?:[\r\n]|$)/y;
