import { ConfigError, type SourceLocation } from '../core/errors.ts';
import type { ConfigElement, ConfigParam } from './ast.ts';
import { reportLenient, reportUnknown } from './diagnostics.ts';
import { parseArray, parseBool, parseHash, parseSize, parseTime } from './values.ts';

export type ParamType =
  | 'string'
  | 'integer'
  | 'float'
  | 'bool'
  | 'size'
  | 'time'
  | 'enum'
  | 'array'
  | 'hash'
  | 'secret'
  | 'regexp';

export interface ParamSpec {
  type: ParamType;
  description: string;
  default?: unknown;
  required?: boolean;
  /** enum values */
  values?: readonly string[];
  /** integer: the smallest and largest value accepted */
  min?: number;
  max?: number;
  /** other names accepted for this parameter (e.g. a Fluentd spelling) */
  aliases?: readonly string[];
  /** marks a parameter accepted for compatibility that Sluice does not act on */
  deprecated?: string;
  /**
   * The value is a strftime format applied to each event's own time (e.g.
   * fluent-plugin-elasticsearch's logstash_dateformat), not a chunk placeholder: a buffered
   * output does not check its `%` directives against the chunk keys (Fluentd checks only
   * the parameters a plugin names, out_file's path).
   */
  eventTimeFormat?: boolean;
}

export interface SectionSpec {
  description: string;
  /** true: any number of sections (array); false: at most one (object or undefined) */
  multi?: boolean;
  required?: boolean;
  /** what the section's argument means (e.g. `<buffer tag,time>` chunk keys) */
  arg?: string;
  params?: Record<string, ParamSpec>;
  sections?: Record<string, SectionSpec>;
  /** other names for this section */
  aliases?: readonly string[];
  /**
   * The section configures a nested plugin (`<parse>`, `<format>`, `<buffer>`): only
   * `@type` is read here, its other params are validated by that plugin's schema.
   */
  plugin?: 'parser' | 'formatter' | 'buffer' | 'output' | 'storage';
  /** accept any params (e.g. `<record>` in record_transformer: user-defined keys) */
  open?: boolean;
}

export interface Schema {
  params: Record<string, ParamSpec>;
  sections?: Record<string, SectionSpec>;
}

type ValueOf<S extends ParamSpec> = S['type'] extends 'integer' | 'float' | 'size' | 'time'
  ? number
  : S['type'] extends 'bool'
    ? boolean
    : S['type'] extends 'array'
      ? string[]
      : S['type'] extends 'hash'
        ? Record<string, string>
        : S['type'] extends 'regexp'
          ? RegExp
          : S extends { type: 'enum'; values: readonly (infer V)[] }
            ? V
            : string;

/** The typed result of resolving a schema's params. */
export type ParamsOf<P extends Record<string, ParamSpec>> = {
  -readonly [K in keyof P]: P[K] extends { default: null }
    ? ValueOf<P[K]> | undefined
    : P[K] extends { default: unknown } | { required: true }
      ? ValueOf<P[K]>
      : ValueOf<P[K]> | undefined;
};

/**
 * A section that configures a nested plugin (`plugin: 'parser'`, ...): only its element is
 * kept, to hand to `ctx.createNested`; that plugin resolves its own params.
 */
export interface NestedSection {
  arg: string;
  params: Record<string, never>;
  sections: Record<string, never>;
  element: ConfigElement;
}

/** An `open` section (`<record>`): every param kept as written, as a string. */
export interface OpenSection {
  arg: string;
  params: Record<string, string>;
  sections: Record<string, never>;
  element: ConfigElement;
}

/** The schema a section spec is resolved with. */
export type SectionSchema<T extends SectionSpec> = {
  params: T['params'] extends Record<string, ParamSpec> ? T['params'] : Record<never, ParamSpec>;
  sections: T extends { sections: infer X extends Record<string, SectionSpec> } ? X : undefined;
};

/** What one occurrence of a section resolves to. */
export type SectionOf<T extends SectionSpec> = T extends { plugin: string }
  ? NestedSection
  : T extends { open: true }
    ? OpenSection
    : Resolved<SectionSchema<T>>;

/** A schema's sections: a list for `multi`, one (or undefined unless `required`) otherwise. */
export type SectionsOf<T extends Record<string, SectionSpec> | undefined> =
  T extends Record<string, SectionSpec>
    ? {
        -readonly [K in keyof T]: T[K] extends { multi: true }
          ? SectionOf<T[K]>[]
          : T[K] extends { required: true }
            ? SectionOf<T[K]>
            : SectionOf<T[K]> | undefined;
      }
    : Record<never, never>;

/**
 * A resolved element (a plugin's own, or one of its sections). Typed from the schema it
 * was resolved with (`Resolved<typeof schema>`, the schema written with `defineSchema`):
 * params by their type and default, sections by `multi`/`required`/`plugin`/`open`. The
 * bare `Resolved` is the untyped form the engine handles.
 */
export type Resolved<S extends Schema = Schema> = Schema extends S ? UntypedResolved : TypedResolved<S>;

export interface UntypedResolved {
  arg: string;
  params: Record<string, unknown>;
  sections: Record<string, Resolved | Resolved[] | undefined>;
  element: ConfigElement;
}

export interface TypedResolved<S extends Schema> {
  arg: string;
  params: ParamsOf<S['params']>;
  sections: SectionsOf<S['sections']>;
  element: ConfigElement;
}

/** Params every directive may carry; the engine reads them, plugins never see them. */
export const SYSTEM_PARAMS = new Set(['@type', 'type', '@id', '@label', '@log_level', 'log_level']);

export function coerce(spec: ParamSpec, p: ConfigParam): unknown {
  const v = p.value;
  const fail = (what: string): never => {
    throw new ConfigError(
      `parameter '${p.key}': ${what} (got ${JSON.stringify(v)})`,
      p.location,
      'CONFIG_VALUE',
    );
  };
  if (NUMERIC.has(spec.type) && v.trim() === '') return emptyNumber(spec, p);
  switch (spec.type) {
    case 'string':
    case 'secret':
      return v;
    case 'integer': {
      if (!/^[-+]?\d+$/.test(v.trim())) fail('expected an integer');
      const n = Number.parseInt(v, 10);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
        throw new ConfigError(
          `parameter '${p.key}' must be ${rangeText(spec)} (got ${n})`,
          p.location,
          'CONFIG_VALUE',
        );
      return n;
    }
    case 'float': {
      const n = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(n)) fail('expected a number');
      return n;
    }
    case 'bool': {
      const b = parseBool(v);
      if (b === undefined) fail('expected true or false');
      return b;
    }
    case 'size': {
      const n = parseSize(v);
      if (n === undefined) fail('expected a size such as 512, 10k, 8MB or 1g');
      return n;
    }
    case 'time': {
      const n = parseTime(v);
      if (n === undefined) fail('expected a duration such as 2, 1.5s, 60s, 10m, 1h or 1d');
      return n;
    }
    case 'enum': {
      const values = spec.values ?? [];
      if (!values.includes(v)) fail(`expected one of ${values.join(', ')}`);
      return v;
    }
    case 'array': {
      const a = parseArray(v);
      if (a === undefined) fail('expected a JSON array or a comma-separated list');
      return a;
    }
    case 'hash': {
      const h = parseHash(v);
      if (h === undefined) fail('expected a JSON object or k1:v1,k2:v2');
      return h;
    }
    case 'regexp': {
      const src = v.startsWith('/') && v.lastIndexOf('/') > 0 ? v.slice(1, v.lastIndexOf('/')) : v;
      try {
        return new RegExp(src);
      } catch (e) {
        return fail(`invalid regular expression: ${(e as Error).message}`);
      }
    }
  }
}

const NUMERIC = new Set<ParamType>(['integer', 'float', 'size', 'time']);

/**
 * An empty number: Fluentd's conversions (config/types.rb, without --strict-config-value)
 * read it as 0 ("".to_i, "".to_f), so `port "#{ENV['FLUENT_FOWARD_PORT']}"` with the
 * variable unset starts (and fails to connect). Sluice reads it the same but says so
 * (CONFIG_EMPTY_NUMBER); --strict makes it an error, as Fluentd's strict mode does.
 */
function emptyNumber(spec: ParamSpec, p: ConfigParam): number {
  reportLenient(
    new ConfigError(
      `parameter '${p.key}' is empty (an unset variable?): read as 0, as Fluentd does`,
      p.location,
    ),
    'CONFIG_EMPTY_NUMBER',
  );
  if ((spec.min !== undefined && 0 < spec.min) || (spec.max !== undefined && 0 > spec.max))
    throw new ConfigError(
      `parameter '${p.key}' is empty, which Fluentd reads as 0, and must be ${rangeText(spec)}`,
      p.location,
    );
  return 0;
}

/** `0-65535`, `at least 1`, `at most 10`: the bounds of an integer parameter, for errors and docs. */
export function rangeText(spec: ParamSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `${spec.min}-${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  return `at most ${spec.max}`;
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const dd = distance(name, c);
    if (dd < bestD) {
      bestD = dd;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function unknownError(
  kind: string,
  name: string,
  known: Iterable<string>,
  where: SourceLocation,
  ctx: string,
) {
  const hint = closest(name, known);
  return new ConfigError(
    `unknown ${kind} '${name}' in ${ctx}${hint ? ` (did you mean '${hint}'?)` : ''}`,
    where,
  );
}

/**
 * Validates an element against a schema: applies defaults, coerces types, reports
 * unknown params and sections with the closest known name (an error, or a warning and
 * ignored under a lenient policy: config/diagnostics.ts). `ctx` names the directive
 * in messages, e.g. "<match app.**> @type file".
 */
export function resolve<S extends Schema>(
  schema: S,
  el: ConfigElement,
  ctx: string,
  extraKnown?: Set<string>,
): Resolved<NoInfer<S>> {
  const params: Record<string, unknown> = {};
  const lookup = new Map<string, [string, ParamSpec]>();
  for (const [name, spec] of Object.entries(schema.params)) {
    lookup.set(name, [name, spec]);
    for (const a of spec.aliases ?? []) lookup.set(a, [name, spec]);
  }
  for (const p of el.params) {
    if (SYSTEM_PARAMS.has(p.key) || extraKnown?.has(p.key)) continue;
    const hit = lookup.get(p.key);
    if (!hit) {
      reportUnknown(unknownError('parameter', p.key, lookup.keys(), p.location, ctx));
      continue;
    }
    const [name, spec] = hit;
    if (p.special === 'default') {
      // As Fluentd's section.rb: the default stands, and a parameter without one is an error.
      if (spec.required)
        throw new ConfigError(`parameter '${p.key}' has no default value (use_default)`, p.location);
      delete params[name];
      continue;
    }
    if (p.special === 'nil') {
      if (spec.required || (spec.default !== undefined && spec.default !== null))
        throw new ConfigError(`parameter '${p.key}' is required but nil is specified (use_nil)`, p.location);
      params[name] = undefined;
      continue;
    }
    params[name] = coerce(spec, p);
  }
  for (const [name, spec] of Object.entries(schema.params)) {
    if (name in params) continue;
    if (spec.required) {
      throw new ConfigError(`missing required parameter '${name}' in ${ctx}`, el.location, 'CONFIG_MISSING');
    }
    params[name] = spec.default === null ? undefined : spec.default;
  }

  const sections: Record<string, Resolved | Resolved[] | undefined> = {};
  const specs = schema.sections ?? {};
  const sectionLookup = new Map<string, [string, SectionSpec]>();
  for (const [name, spec] of Object.entries(specs)) {
    sectionLookup.set(name, [name, spec]);
    for (const a of spec.aliases ?? []) sectionLookup.set(a, [name, spec]);
  }
  for (const child of el.elements) {
    const hit = sectionLookup.get(child.name);
    if (!hit) {
      reportUnknown(
        unknownError(
          'section',
          `<${child.name}>`,
          [...sectionLookup.keys()].map((k) => `<${k}>`),
          child.location,
          ctx,
        ),
      );
      continue;
    }
    const [name, spec] = hit;
    const r = resolveSection(spec, child, `<${child.name}> in ${ctx}`);
    if (spec.multi) ((sections[name] as Resolved[] | undefined) ??= []).push(r);
    else if (sections[name])
      throw new ConfigError(`section <${child.name}> may appear only once in ${ctx}`, child.location);
    else sections[name] = r;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (sections[name] !== undefined) continue;
    if (spec.required)
      throw new ConfigError(`missing required section <${name}> in ${ctx}`, el.location, 'CONFIG_MISSING');
    if (spec.multi) sections[name] = [];
  }
  // The values were coerced by the schema's own specs: they have the types Resolved<S> reads from it.
  return { arg: el.arg, params, sections, element: el } as Resolved<S>;
}

function resolveSection(spec: SectionSpec, el: ConfigElement, ctx: string): Resolved {
  if (spec.plugin) {
    // Only shape is checked here; the nested plugin validates its own params when built.
    return { arg: el.arg, params: {}, sections: {}, element: el };
  }
  if (spec.open) {
    const params: Record<string, unknown> = {};
    for (const p of el.params) params[p.key] = p.value;
    return { arg: el.arg, params, sections: {}, element: el };
  }
  return resolve<Schema>({ params: spec.params ?? {}, sections: spec.sections }, el, ctx);
}

/** Helper that keeps literal types for ParamsOf inference. */
export function defineParams<const P extends Record<string, ParamSpec>>(p: P): P {
  return p;
}

/** Keeps a schema's literal types (param types, defaults, `multi`, ...) for `Resolved<S>`. */
export function defineSchema<const S extends Schema>(s: S): S {
  return s;
}

/** Keeps a section spec's literal types, for a section shared by several plugins. */
export function defineSection<const T extends SectionSpec>(s: T): T {
  return s;
}
