// Fluentd's YAML config format (lib/fluent/config/yaml_parser/): a `system:` map and a
// `config:` list of `source:`/`match:`/`filter:`/`label:`/`worker:` items, `$type`-style
// reserved keys, `!include`, `!fluent/s` and `!fluent/json`. It produces the same AST
// as the Fluentd-syntax parser, with locations taken from the YAML nodes.
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Document, Node, Pair, YAMLMap } from 'yaml';
import { ConfigError, type SourceLocation } from '../core/errors.ts';
import { yamlLib } from '../core/lazy-require.ts';
import { type ConfigElement, newElement } from './ast.ts';
import { globSync, hasGlob } from './glob.ts';
import { type Literal, paramOf, scanString } from './literal.ts';
import type { ParseOptions } from './parse-options.ts';
import { Scanner, VALUE_BOUNDARY } from './scanner.ts';
import { closest } from './schema.ts';

const RESERVED: Record<string, string> = {
  $type: '@type',
  $label: '@label',
  $id: '@id',
  $log_level: '@log_level',
};
const DIRECTIVES = ['source', 'match', 'filter', 'label', 'worker'];
const OUR_TAGS = new Set(['!include', '!fluent/s', '!fluent/json']);
const MAX_INCLUDE_DEPTH = 32;

class YamlReader {
  private readonly y = yamlLib();
  private readonly lc = new this.y.LineCounter();
  private readonly doc: Document;
  /** the same text read with YAML's core schema, for values that become JSON (numbers stay numbers) */
  private core: Map<number, Node> | undefined;

  constructor(
    private readonly text: string,
    private readonly opts: ParseOptions,
    private readonly includeStack: string[],
  ) {
    // failsafe: every scalar stays the text the user wrote (no 010 -> 8, no yes -> true)
    this.doc = this.y.parseDocument(text, {
      lineCounter: this.lc,
      schema: 'failsafe',
      merge: false,
      uniqueKeys: false,
    });
    const err = this.doc.errors[0];
    if (err) throw new ConfigError(`invalid YAML: ${err.message.split('\n')[0]}`, this.at(err.pos[0]));
    for (const w of this.doc.warnings) {
      const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1];
      if (tag && !OUR_TAGS.has(tag))
        throw new ConfigError(
          `unknown YAML tag ${tag} (supported: ${[...OUR_TAGS].join(', ')})`,
          this.at(w.pos[0]),
        );
    }
  }

  at(offset: number | undefined): SourceLocation {
    const p = this.lc.linePos(offset ?? 0);
    return { file: this.opts.file, line: p.line, column: p.col };
  }

  loc(node: unknown): SourceLocation {
    return this.at((node as { range?: [number] } | null)?.range?.[0]);
  }

  private deref(node: unknown): unknown {
    return this.y.isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** Map pairs with `<<` merge keys expanded (the merged ones first, so later keys win). */
  private pairs(map: YAMLMap): Pair[] {
    const out: Pair[] = [];
    for (const item of map.items) {
      if (this.y.isScalar(item.key) && item.key.value === '<<') {
        const v = this.deref(item.value);
        const sources = this.y.isSeq(v) ? v.items.map((x) => this.deref(x)) : [v];
        for (const src of sources) {
          if (!this.y.isMap(src))
            throw new ConfigError('a << merge key needs a map or an alias of one', this.loc(item.key));
          out.push(...this.pairs(src));
        }
      } else out.push(item);
    }
    return out;
  }

  private keyOf(p: Pair): string {
    const k = this.deref(p.key);
    if (!this.y.isScalar(k)) throw new ConfigError('a YAML key must be a plain string', this.loc(p.key));
    return String(k.value);
  }

  readRoot(): ConfigElement {
    const root = newElement('', '', { file: this.opts.file, line: 1, column: 1 });
    const top = this.deref(this.doc.contents);
    if (top === null || top === undefined) return root;
    if (!this.y.isMap(top))
      throw new ConfigError('a YAML config must be a map with `system:` and/or `config:`', this.loc(top));
    for (const p of this.pairs(top)) {
      const key = this.keyOf(p);
      const v = this.deref(p.value);
      if (key === 'system') {
        if (!this.y.isMap(v)) throw new ConfigError('`system:` must be a map', this.loc(p.key));
        root.elements.push(this.section('system', v, '', this.loc(p.key)));
      } else if (key === 'config') {
        this.directives(root, v, this.loc(p.key));
      } else if (!(p.value as { anchor?: string } | null)?.anchor) {
        // Fluentd ignores other keys; one that defines an anchor is a common way to share
        // settings, anything else is most likely a typo.
        const hint = closest(key, ['system', 'config']);
        throw new ConfigError(
          `unknown top-level key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}; expected system or config`,
          this.loc(p.key),
        );
      }
    }
    return root;
  }

  /** Reads a list of directives into `into` (the root, a <label> or a <worker>). */
  directives(into: ConfigElement, node: unknown, where: SourceLocation): void {
    if (node === null || (this.y.isScalar(node) && node.value === '')) return;
    if (!this.y.isSeq(node))
      throw new ConfigError('`config:` must be a list of directives (- source: ..., - match: ...)', where);
    for (const raw of node.items) {
      const item = this.deref(raw);
      if (this.y.isScalar(item) && item.tag === '!include') {
        this.include(into, String(item.value), this.loc(item));
        continue;
      }
      if (!this.y.isMap(item))
        throw new ConfigError(
          'each item of `config:` must be a map such as `source: {...}` or an !include',
          this.loc(item),
        );
      for (const p of this.pairs(item)) {
        const name = this.keyOf(p);
        const body = this.deref(p.value);
        const location = this.loc(p.key);
        if (!DIRECTIVES.includes(name)) {
          const hint = closest(name, DIRECTIVES);
          throw new ConfigError(
            `unknown directive '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`,
            location,
          );
        }
        if (!this.y.isMap(body)) throw new ConfigError(`'${name}:' must be a map of parameters`, location);
        into.elements.push(
          name === 'label' || name === 'worker'
            ? this.container(name, body, location)
            : this.section(name, body, '', location),
        );
      }
    }
  }

  /** `label:` ($name + config) and `worker:` ($arg + config). */
  private container(name: string, body: YAMLMap, location: SourceLocation): ConfigElement {
    const el = newElement(name, '', location);
    const argKey = name === 'label' ? '$name' : '$arg';
    for (const p of this.pairs(body)) {
      const key = this.keyOf(p);
      const v = this.deref(p.value);
      if (key === argKey) el.arg = this.scalar(v, key, this.loc(p.key));
      else if (key === 'config') this.directives(el, v, this.loc(p.key));
      else
        throw new ConfigError(
          `unknown key '${key}' in '${name}:' (expected ${argKey} and config)`,
          this.loc(p.key),
        );
    }
    return el;
  }

  /** A directive or nested section: `$` keys, params, maps (sections) and lists of maps. */
  private section(name: string, body: YAMLMap, arg: string, location: SourceLocation): ConfigElement {
    const el = newElement(name, arg, location);
    for (const p of this.pairs(body)) {
      const key = this.keyOf(p);
      const v = this.deref(p.value);
      const at = this.loc(p.key);
      if (key === '$tag' || key === '$arg') {
        // Several patterns / chunk keys: Fluentd joins a list with ','. For $tag Sluice
        // joins with a space, which is how several match patterns are written.
        el.arg = this.y.isSeq(v)
          ? v.items.map((x) => this.scalar(this.deref(x), key, at)).join(key === '$tag' ? ' ' : ',')
          : this.scalar(v, key, at);
      } else if (key.startsWith('$')) {
        const mapped = RESERVED[key];
        if (!mapped)
          throw new ConfigError(
            `unknown reserved key '${key}' (known: ${[...Object.keys(RESERVED), '$tag', '$arg'].join(', ')})`,
            at,
          );
        el.params.push({ key: mapped, value: this.scalar(v, key, at), location: at });
      } else if (this.y.isMap(v) && !v.tag) {
        el.elements.push(this.section(key, v, '', at));
      } else if (this.y.isSeq(v) && !v.tag && v.items.length > 0 && this.y.isMap(this.deref(v.items[0]))) {
        for (const x of v.items) {
          const m = this.deref(x);
          if (!this.y.isMap(m))
            throw new ConfigError(`'${key}:' mixes sections and plain values`, this.loc(x));
          el.elements.push(this.section(key, m, '', this.loc(x)));
        }
      } else el.params.push(paramOf(key, this.value(v, key, at), at));
    }
    return el;
  }

  private scalar(v: unknown, key: string, at: SourceLocation): string {
    if (v === null || v === undefined) return '';
    if (!this.y.isScalar(v)) throw new ConfigError(`'${key}' must be a single value`, at);
    const text = this.value(v, key, at);
    if (typeof text !== 'string')
      throw new ConfigError(`use_${text.special} is allowed in a parameter value, not in '${key}'`, at);
    return text;
  }

  /** A parameter value as text: scalars as written, !fluent/s evaluated, lists/maps and !fluent/json as JSON. */
  private value(v: unknown, key: string, at: SourceLocation): Literal {
    if (v === null || v === undefined) return '';
    const node = v as Node;
    if (node.tag === '!fluent/json') return JSON.stringify(this.toJS(node));
    if (node.tag === '!include')
      throw new ConfigError('!include is only allowed as an item of a `config:` list', this.loc(v));
    if (this.y.isScalar(node)) {
      const text = String(node.value ?? '');
      if (node.tag === '!fluent/s') return this.fluentString(text, this.loc(node));
      // Psych reads these as nil, which Fluentd turns into an empty value.
      // ($type: null keeps its text: it names the null output.)
      if (node.type === 'PLAIN' && !key.startsWith('$') && (text === '~' || text.toLowerCase() === 'null'))
        return '';
      return text;
    }
    if (this.y.isSeq(node) || this.y.isMap(node)) return JSON.stringify(this.toJS(node));
    throw new ConfigError(`unsupported value for '${key}'`, at);
  }

  private toJS(node: Node): unknown {
    if (!this.core) {
      const coreDoc = this.y.parseDocument(this.text, { schema: 'core', merge: true, uniqueKeys: false });
      const byStart = new Map<number, Node>();
      this.y.visit(coreDoc, {
        Node(_, n) {
          if (n.range && !byStart.has(n.range[0])) byStart.set(n.range[0], n);
        },
      });
      this.core = byStart;
      this.coreDoc = coreDoc;
    }
    const twin = node.range ? this.core.get(node.range[0]) : undefined;
    return twin ? twin.toJS(this.coreDoc!) : node.toJS(this.doc);
  }
  private coreDoc: Document | undefined;

  /** `!fluent/s` is a Ruby double-quoted string: escapes and `#{...}`. */
  private fluentString(text: string, at: SourceLocation): Literal {
    const s = new Scanner(`"${text.replace(/(^|[^\\])((?:\\\\)*)"/g, '$1$2\\"')}"`, at.file);
    try {
      return scanString(s, VALUE_BOUNDARY, this.opts) ?? '';
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`in !fluent/s: ${e.reason}`, at);
      throw e;
    }
  }

  private include(into: ConfigElement, target: string, location: SourceLocation): void {
    const base = this.opts.baseDir ?? dirname(this.opts.file);
    const pattern = isAbsolute(target) ? target : join(base, target);
    const files = hasGlob(pattern) ? globSync(pattern) : [pattern];
    for (const f of files) {
      let text: string;
      let real: string;
      try {
        text = readFileSync(f, 'utf8');
        real = realpathSync(f);
      } catch (e) {
        throw new ConfigError(`!include: cannot read ${f}: ${(e as Error).message}`, location, 'CONFIG_READ');
      }
      if (this.includeStack.includes(real))
        throw new ConfigError(`!include cycle: ${f} includes itself`, location);
      if (this.includeStack.length >= MAX_INCLUDE_DEPTH)
        throw new ConfigError(`!include nested more than ${MAX_INCLUDE_DEPTH} levels`, location);
      const sub = new YamlReader(text, { ...this.opts, file: f, baseDir: dirname(f) }, [
        ...this.includeStack,
        real,
      ]);
      const contents = sub.deref(sub.doc.contents);
      sub.directives(into, contents, sub.loc(contents));
    }
  }
}

/** Parses Fluentd's YAML config format into the same AST as the Fluentd-syntax parser. */
export function parseYamlConfig(
  text: string,
  opts: ParseOptions,
  includeStack: string[] = [],
): ConfigElement {
  return new YamlReader(text, opts, includeStack).readRoot();
}
