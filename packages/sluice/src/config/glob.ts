import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

// Node 20 has no fs.globSync; @include needs only what Ruby's Dir.glob does for
// paths: `*`, `?`, `[abc]`, `{a,b}` and `**/`. Results are sorted, as Fluentd sorts them.

export function hasGlob(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}

function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) return [p];
  let depth = 0;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') depth++;
    else if (p[i] === '}' && --depth === 0) {
      const parts: string[] = [];
      let d = 0;
      let last = open + 1;
      for (let j = open + 1; j < i; j++) {
        if (p[j] === '{') d++;
        else if (p[j] === '}') d--;
        else if (p[j] === ',' && d === 0) {
          parts.push(p.slice(last, j));
          last = j + 1;
        }
      }
      parts.push(p.slice(last, i));
      return parts.flatMap((alt) => expandBraces(p.slice(0, open) + alt + p.slice(i + 1)));
    }
  }
  return [p];
}

function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = seg
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  // Like Dir.glob, wildcards do not match dot files.
  return new RegExp(`^${seg.startsWith('.') ? '' : '(?!\\.)'}${re}$`);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function walk(base: string, segs: string[], out: Set<string>): void {
  if (segs.length === 0) {
    out.add(base);
    return;
  }
  const [seg, ...rest] = segs as [string, ...string[]];
  const dir = base === '' ? '.' : base;
  if (seg === '**') {
    walk(base, rest, out);
    for (const name of list(dir)) {
      const p = base === '' ? name : join(base, name);
      if (!name.startsWith('.') && isDir(p)) walk(p, segs, out);
    }
    return;
  }
  if (!hasGlob(seg)) {
    const p = base === '' ? seg : join(base, seg);
    if (rest.length === 0 ? list(dir).includes(seg) : isDir(p)) walk(p, rest, out);
    return;
  }
  const re = segmentRegExp(seg);
  for (const name of list(dir)) {
    if (!re.test(name)) continue;
    const p = base === '' ? name : join(base, name);
    if (rest.length === 0 || isDir(p)) walk(p, rest, out);
  }
}

/** Paths matching `pattern`, sorted; directories are left out. */
export function globSync(pattern: string): string[] {
  const out = new Set<string>();
  for (const p of expandBraces(pattern)) {
    const segs = p.split(/[\\/]+/).filter((x) => x !== '');
    walk(isAbsolute(p) ? sep : '', segs, out);
  }
  return [...out].filter((p) => !isDir(p)).sort();
}
