// Placeholder templates of record_transformer, compiled once at configure time into
// closures over a per-event scope, so no template text is looked at per event.
// Semantics of Fluentd's PlaceholderExpander (filter_record_transformer.rb, enable_ruby
// false), plus the v0.12 bare `${key}` for a record field:
//   ${tag} ${tag_parts[N]} ${tag_prefix[N]} ${tag_suffix[N]} (N may be negative)
//   ${hostname} ${time} ${record["key"]} ${key}
// A string that is exactly one placeholder keeps the value's type (auto_typecast);
// otherwise values are inserted as text. An unknown placeholder yields nil/''.

/** What templates read; one object reused for every event of a batch. */
export interface Scope {
  tag: string;
  parts: string[];
  prefix: string[];
  suffix: string[];
  hostname: string;
  /** `${time}` text of the current event (filled lazily by the filter when a template uses it) */
  time: string;
  record: Record<string, unknown>;
}

export type Compiled = (s: Scope) => unknown;

export interface CompileOptions {
  autoTypecast: boolean;
  /** called with the placeholder text the first time it resolves to nothing */
  onUnknown(placeholder: string): void;
}

const PLACEHOLDER = /(\$\{[^}]+\}|__[A-Z_]+__)/g;
const WHOLE = /^(?:\$\{[^}]+\}|__[A-Z_]+__)$/;
const INDEXED = /^(tag_parts|tag_prefix|tag_suffix)\[(-?\d+)\]$/;
const RECORD_KEY = /^record\["(.*)"\]$/s;
/** Names that v0.12 never resolved to a record field, since they are placeholders themselves. */
const RESERVED = new Set(['tag', 'tag_parts', 'tag_prefix', 'tag_suffix', 'hostname', 'time', 'record']);

function pick(list: string[], i: number): string | undefined {
  const j = i < 0 ? list.length + i : i;
  return j >= 0 && j < list.length ? list[j] : undefined;
}

/** The getter of one placeholder (`${...}` or `__X__`); an unknown one yields null. */
function getter(ph: string, opts: CompileOptions): Compiled {
  // Unknown is nil in Ruby: null here (msgpack has no undefined).
  const unknown: Compiled = () => {
    opts.onUnknown(ph);
    return null;
  };
  if (!ph.startsWith('${')) return unknown;
  const name = ph.slice(2, -1);
  if (name === 'tag') return (s) => s.tag;
  if (name === 'hostname') return (s) => s.hostname;
  if (name === 'time') return (s) => s.time;
  const ix = INDEXED.exec(name);
  if (ix) {
    const n = Number(ix[2]);
    // Fluentd only knows the canonical spelling (`[1]`, `[-1]`), not `[01]` or `[-0]`.
    if (String(n) !== ix[2] || ix[2] === '-0') return unknown;
    const field = ix[1] === 'tag_parts' ? 'parts' : ix[1] === 'tag_prefix' ? 'prefix' : 'suffix';
    return (s) => {
      const v = pick(s[field], n);
      if (v !== undefined) return v;
      opts.onUnknown(ph);
      return null;
    };
  }
  const rk = RECORD_KEY.exec(name);
  const key = rk ? rk[1]! : RESERVED.has(name) ? undefined : name;
  if (key === undefined) return unknown;
  return (s) => {
    if (Object.hasOwn(s.record, key)) return s.record[key];
    opts.onUnknown(ph);
    return null;
  };
}

/** Ruby's `to_s` for values interpolated into text. */
export function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return Buffer.isBuffer(v) ? v.toString('utf8') : JSON.stringify(v);
  return String(v);
}

/** Compiles a string template. `forceString` (hash keys) disables auto_typecast. */
export function compileString(text: string, opts: CompileOptions, forceString = false): Compiled {
  if (opts.autoTypecast && !forceString && WHOLE.test(text)) return getter(text, opts);
  const parts = text.split(PLACEHOLDER);
  if (parts.length === 1) return () => text;
  // split with a capture group alternates literal, placeholder, literal, ...
  const pieces: (string | Compiled)[] = parts.map((p, i) => (i % 2 === 1 ? getter(p, opts) : p));
  return (s) => {
    let out = '';
    for (const p of pieces) out += typeof p === 'string' ? p : toText(p(s));
    return out;
  };
}

/** Compiles a `<record>` value: strings, and JSON hashes/arrays whose strings (and keys) are templates. */
export function compileValue(v: unknown, opts: CompileOptions): Compiled {
  if (typeof v === 'string') return compileString(v, opts);
  if (Array.isArray(v)) {
    const items = v.map((x) => compileValue(x, opts));
    return (s) => items.map((f) => f(s));
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).map(
      ([k, x]) => [compileString(k, opts, true), compileValue(x, opts)] as const,
    );
    return (s) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) out[k(s) as string] = f(s);
      return out;
    };
  }
  return () => v;
}

/** The tag-derived part of a scope; computed once per tag. */
export function tagScope(tag: string): Pick<Scope, 'tag' | 'parts' | 'prefix' | 'suffix'> {
  const parts = tag.split('.');
  const prefix: string[] = [];
  const suffix: string[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) prefix.push(i === 0 ? parts[0]! : `${prefix[i - 1]}.${parts[i]}`);
  for (let i = parts.length - 1; i >= 0; i--)
    suffix[i] = i === parts.length - 1 ? parts[i]! : `${parts[i]}.${suffix[i + 1]}`;
  return { tag, parts, prefix, suffix };
}
