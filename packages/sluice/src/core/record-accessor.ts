import { ConfigError, type SourceLocation } from './errors.ts';

// Fluentd's record accessor syntax (lib/fluent/plugin_helper/record_accessor.rb):
//   `key`            a top-level key, taken literally (dots included)
//   `$.a.b[0].c`     dot notation, with array indexes in brackets
//   `$['a']["b"][0]` bracket notation, for keys with dots or spaces
// Parsing happens once at configure time; the accessor itself is a closure over the
// parsed path so a lookup costs a few property reads.

export type PathKey = string | number;

export interface RecordAccessor {
  /** the parameter as written */
  readonly source: string;
  /** the parsed path: a single string for a plain key */
  readonly path: readonly PathKey[];
  /** true when the path has more than one element */
  readonly nested: boolean;
  get(record: Record<string, unknown>): unknown;
  /**
   * Deletes the value in place. Nested containers on the path are copied first, so a
   * record that shares nested objects with another (a shallow copy) is not changed.
   */
  delete(record: Record<string, unknown>): void;
  /** Sets an existing path; like Fluentd, never creates intermediate objects. */
  set(record: Record<string, unknown>, value: unknown): void;
}

function fail(reason: string, where?: SourceLocation): never {
  throw new ConfigError(reason, where);
}

function parseIndex(text: string, param: string, where?: SourceLocation): number {
  if (text === '') fail(`missing array index in '[]'. Invalid syntax: ${param}`, where);
  // Ruby's Integer() accepts an optional sign and underscores between digits.
  if (!/^[-+]?\d+(?:_\d+)*$/.test(text.trim()))
    fail(`invalid array index '${text}' in record accessor: ${param}`, where);
  return Number.parseInt(text.trim().replaceAll('_', ''), 10);
}

function parseDotArrayOp(key: string, param: string, where?: SourceLocation): PathKey[] {
  const start = key.indexOf('[');
  const out: PathKey[] = start === 0 ? [] : [key.slice(0, start)];
  let rest = key.slice(start + 1);
  let inBracket = true;
  while (rest.length > 0) {
    if (inBracket) {
      const i = rest.indexOf(']');
      if (i < 0) fail(`'[' found but ']' not found. Invalid syntax: ${param}`, where);
      out.push(parseIndex(rest.slice(0, i), param, where));
      rest = rest.slice(i + 1);
      inBracket = false;
    } else {
      const i = rest.indexOf('[');
      if (i < 0) fail(`found more characters after ']'. Invalid syntax: ${param}`, where);
      rest = rest.slice(i + 1);
      inBracket = true;
    }
  }
  return out;
}

function parseDotNotation(param: string, where?: SourceLocation): PathKey[] {
  const out: PathKey[] = [];
  // Ruby's String#split drops trailing empty fields; a key like `$.a..b` keeps the empty one.
  const parts = param.slice(2).split('.');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  for (const key of parts) {
    if (key.includes('[')) out.push(...parseDotArrayOp(key, param, where));
    else out.push(key);
  }
  if (out.length === 0) fail('empty keys in dot notation', where);
  for (const k of out) {
    if (typeof k === 'string' && /\s/.test(k)) {
      fail(`whitespace character is not allowed in dot notation. Use bracket notation: ${k}`, where);
    }
  }
  return out;
}

function parseBracketNotation(param: string, where?: SourceLocation): PathKey[] {
  const out: PathKey[] = [];
  let rest = param.slice(1);
  let inBracket = false;
  while (rest.length > 0) {
    if (inBracket) {
      const q = rest[0];
      if (q === "'" || q === '"') {
        let i = rest.indexOf("']");
        if (i < 0) i = rest.indexOf('"]');
        if (i < 0) fail(`Incomplete bracket. Invalid syntax: ${param}`, where);
        if (rest[i] !== q) fail(`Mismatched quotes. Invalid syntax: ${param}`, where);
        out.push(rest.slice(1, i));
        rest = rest.slice(i + 2);
      } else {
        const i = rest.indexOf(']');
        if (i < 0) fail(`'[' found but ']' not found. Invalid syntax: ${param}`, where);
        out.push(parseIndex(rest.slice(0, i), param, where));
        rest = rest.slice(i + 1);
      }
      inBracket = false;
    } else {
      const i = rest.indexOf('[');
      if (i < 0) fail(`found more characters after ']'. Invalid syntax: ${param}`, where);
      rest = rest.slice(i + 1);
      inBracket = true;
    }
  }
  if (out.length === 0) fail('empty keys in bracket notation', where);
  return out;
}

/** Parses an accessor parameter into its path; throws ConfigError on bad syntax. */
export function parseAccessorPath(param: string, where?: SourceLocation): PathKey[] {
  if (param.startsWith('$.')) return parseDotNotation(param, where);
  if (param.startsWith('$[')) return parseBracketNotation(param, where);
  return [param];
}

/** One step of Ruby's `dig`: arrays by integer index (negative from the end), hashes by key. */
function step(container: unknown, key: PathKey): unknown {
  if (container === null || typeof container !== 'object') return undefined;
  if (Array.isArray(container)) {
    if (typeof key !== 'number') return undefined;
    return container[key < 0 ? container.length + key : key];
  }
  if (typeof key === 'number') return undefined;
  return Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}

export function createRecordAccessor(param: string, where?: SourceLocation): RecordAccessor {
  const path = parseAccessorPath(param, where);
  if (path.length === 1 && typeof path[0] === 'string') {
    const key = path[0];
    return {
      source: param,
      path,
      nested: false,
      get: (r) => (Object.hasOwn(r, key) ? r[key] : undefined),
      delete: (r) => {
        delete r[key];
      },
      set: (r, v) => {
        r[key] = v;
      },
    };
  }
  const last = path[path.length - 1]!;
  const dig = path.slice(0, -1);
  return {
    source: param,
    path,
    nested: path.length > 1,
    get(r) {
      let cur: unknown = r;
      for (const k of path) {
        cur = step(cur, k);
        if (cur === undefined) return undefined;
      }
      return cur;
    },
    delete(r) {
      // Copy-on-write along the path: the parent of each step is replaced by a copy.
      let parent: unknown = r;
      for (const k of dig) {
        const child = step(parent, k);
        if (child === null || typeof child !== 'object') return;
        const copy = Array.isArray(child) ? child.slice() : { ...(child as object) };
        setStep(parent, k, copy);
        parent = copy;
      }
      if (Array.isArray(parent)) {
        if (typeof last !== 'number') return;
        const i = last < 0 ? parent.length + last : last;
        if (i >= 0 && i < parent.length) parent.splice(i, 1);
      } else if (parent !== null && typeof parent === 'object' && typeof last === 'string') {
        delete (parent as Record<string, unknown>)[last];
      }
    },
    set(r, v) {
      let parent: unknown = r;
      for (const k of dig) {
        parent = step(parent, k);
        if (parent === undefined) return;
      }
      setStep(parent, last, v);
    },
  };
}

function setStep(container: unknown, key: PathKey, value: unknown): void {
  if (container === null || typeof container !== 'object') return;
  if (Array.isArray(container)) {
    if (typeof key !== 'number') return;
    const i = key < 0 ? container.length + key : key;
    if (i >= 0) container[i] = value;
    return;
  }
  if (typeof key === 'string') (container as Record<string, unknown>)[key] = value;
}
