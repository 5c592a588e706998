// Fluentd configs hold Ruby (Onigmo) regular expressions. Most of them are valid
// JavaScript as written; this translates the parts whose meaning differs so the same
// expression matches the same text:
//   ^ $         always line anchors in Ruby          -> JS flag `m`
//   /m          Ruby's "dot matches newline"          -> JS flag `s`
//   /x          extended (whitespace, # comments)     -> stripped here
//   \A \z \Z    string anchors                        -> lookarounds
//   \h \H       hex digit                             -> classes
//   [[:alpha:]] POSIX brackets                        -> classes
// Constructs JS cannot express (atomic groups, possessive quantifiers, \K, inline
// option groups) are refused with a message naming them rather than mistranslated.

const POSIX: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  ascii: '\\x00-\\x7F',
  blank: ' \\t',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '\\x21-\\x7E',
  lower: 'a-z',
  print: '\\x20-\\x7E',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\r\\n\\v\\f',
  upper: 'A-Z',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
};

export interface RubyRegexpSource {
  source: string;
  /** Ruby option letters: i, m, x */
  options: string;
}

/**
 * Splits Fluentd's regexp parameter syntax: `/body/opts` (opts among i, m, x) or a bare
 * body. `wrapped: true` demands the slashes (Fluentd's formatN, format_firstline).
 */
export function splitRubyRegexp(text: string, wrapped = false): RubyRegexpSource | undefined {
  const m = /^\/([\s\S]*)\/([imx]*)$/.exec(text);
  if (m) return { source: m[1]!, options: m[2]! };
  if (wrapped) return undefined;
  return { source: text, options: '' };
}

function stripExtended(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

function translate(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1] ?? '';
      i++;
      if (n === 'h') out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
      else if (n === 'H') out += inClass ? '' : '[^0-9a-fA-F]';
      else if (!inClass && n === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && n === 'z') out += '(?![\\s\\S])';
      else if (!inClass && n === 'Z') out += '(?=\\n?(?![\\s\\S]))';
      else if (!inClass && n === 'K') throw new SyntaxError('\\K is not supported');
      else out += c + n;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        if (end > 0) {
          let name = src.slice(i + 2, end);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const cls = POSIX[name];
          if (cls === undefined) throw new SyntaxError(`unknown POSIX bracket [:${name}:]`);
          if (neg) throw new SyntaxError(`negated POSIX bracket [:^${name}:] is not supported`);
          out += cls;
          i = end + 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      // A leading ']' is a literal in both dialects.
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const n = src[i + 2];
      if (n === '>') throw new SyntaxError('atomic groups (?>...) are not supported');
      if (n !== undefined && /[imx-]/.test(n))
        throw new SyntaxError(
          'inline option groups (?i:...) are not supported; put the options after the closing slash',
        );
    }
    if (c === '+' && /[*+?]/.test(src[i - 1] ?? '') && src[i - 2] !== '\\') {
      throw new SyntaxError('possessive quantifiers (*+, ++, ?+) are not supported');
    }
    out += c;
  }
  return out;
}

/**
 * Compiles a Ruby regexp for JavaScript. Throws SyntaxError with a message suitable for
 * a ConfigError when the expression is invalid or uses a construct JS lacks.
 */
export function compileRubyRegexp(source: string, options = '', extraFlags = ''): RegExp {
  let src = options.includes('x') ? stripExtended(source) : source;
  src = translate(src);
  let flags = `m${extraFlags}`;
  if (options.includes('i')) flags += 'i';
  if (options.includes('m')) flags += 's';
  try {
    return new RegExp(src, flags);
  } catch (e) {
    throw new SyntaxError((e as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}

/** Parses and compiles a Fluentd regexp parameter value (`/.../i` or a bare body). */
export function rubyRegexp(text: string, wrapped = false): RegExp {
  const parts = splitRubyRegexp(text, wrapped);
  if (!parts)
    throw new SyntaxError(
      `expected a regexp between slashes, like /^(?<message>.*)$/ (got ${JSON.stringify(text)})`,
    );
  return compileRubyRegexp(parts.source, parts.options);
}

/** Names of the named capture groups, in order of appearance. */
export function groupNames(re: RegExp): string[] {
  const names: string[] = [];
  const rx = /\\.|\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g;
  for (let m = rx.exec(re.source); m; m = rx.exec(re.source))
    if (m[1] && !names.includes(m[1])) names.push(m[1]);
  return names;
}
