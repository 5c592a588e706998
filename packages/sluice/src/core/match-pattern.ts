import { ConfigError, type SourceLocation } from './errors.ts';

/**
 * Compiles a Fluentd tag pattern to a RegExp with the same rules as Fluentd's
 * GlobMatchPattern (lib/fluent/match.rb): `*` is one tag part, `**` zero or more parts
 * (so `a.**` matches `a`), `{a,b}` alternatives, `\` escapes, `/re/` a regular expression.
 * Several patterns separated by spaces match when any does.
 */
export function compilePattern(pattern: string, where?: SourceLocation): (tag: string) => boolean {
  const parts = pattern.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) throw new ConfigError('empty tag pattern', where);
  const res = parts.map((p) => globToRegExp(p, where));
  if (res.length === 1) {
    const re = res[0]!;
    return (tag) => re.test(tag);
  }
  return (tag) => res.some((re) => re.test(tag));
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

export function globToRegExp(pat: string, where?: SourceLocation): RegExp {
  if (pat.startsWith('/')) {
    if (pat.length < 2 || !pat.endsWith('/'))
      throw new ConfigError(`invalid match pattern ${pat}: a regular expression must end with /`, where);
    try {
      return new RegExp(`^(?:${pat.slice(1, -1)})$`);
    } catch (e) {
      throw new ConfigError(`invalid match pattern ${pat}: ${(e as Error).message}`, where);
    }
  }
  const stack: string[][] = [];
  const regex: string[] = [''];
  let escaped = false;
  let dot = false;
  let i = 0;
  const append = (s: string) => {
    regex[regex.length - 1] += s;
  };
  const closeGroup = () => {
    const alts = stack.pop()!;
    alts.push(regex.pop()!);
    append(`(?:${alts.join('|')})`);
  };
  while (i < pat.length) {
    const c = pat[i]!;
    if (escaped) {
      append(escapeRe(c));
      escaped = false;
      i++;
      continue;
    }
    if (pat.startsWith('**', i)) {
      if (dot) {
        // `a.**` must also match `a`: the dot is optional, but `ab` must not match.
        append('(?![^\\.])');
        dot = false;
      }
      if (pat[i + 2] === '.') {
        append('(?:.*\\.|^)');
        i += 3;
      } else {
        append('.*');
        i += 2;
      }
      continue;
    }
    if (dot) {
      append('\\.');
      dot = false;
    }
    if (c === '\\') escaped = true;
    else if (c === '.') dot = true;
    else if (c === '*') append('[^\\.]*');
    else if (c === '{') {
      stack.push([]);
      regex.push('');
    } else if (c === '}' && stack.length > 0) closeGroup();
    else if (c === ',' && stack.length > 0) {
      stack[stack.length - 1]!.push(regex.pop()!);
      regex.push('');
    } else if (/[a-zA-Z0-9_]/.test(c)) append(c);
    else append(escapeRe(c));
    i++;
  }
  // A trailing dot is dropped, as Fluentd does (its dot flag is only flushed by what follows).
  while (stack.length > 0) closeGroup();
  return new RegExp(`^${regex[0]}$`);
}
