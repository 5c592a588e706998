// What the dashboard's search page may search: each elasticsearch/opensearch output of the
// running pipeline (its servers, credentials and the indices it writes to) and each
// `<search>` section of monitor_agent. Credentials stay here, on the server side: the
// browser only ever sees a target's name, index pattern and time field.
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { type ConfigElement, param } from '../config/ast.ts';
import { coerce, type Resolved, type Schema } from '../config/schema.ts';
import { parseBool } from '../config/values.ts';
import { ConfigError, SluiceError } from '../core/errors.ts';

export interface SearchServer {
  /** scheme://host:port plus a path prefix, without a trailing slash */
  base: string;
  authorization?: string;
}

export interface SearchTarget {
  name: string;
  /** 'output' (from the pipeline) or 'search' (a <search> section) */
  source: 'output' | 'search';
  /** the plugin type, for outputs */
  type?: string;
  /** comma-separated index patterns (`*` wildcards) the target may search */
  index: string;
  timeField: string;
  servers: SearchServer[];
  agent: Dispatcher;
}

/** The public part of a target, as the page gets it. */
export function describeTarget(t: SearchTarget): Record<string, unknown> {
  return { name: t.name, source: t.source, type: t.type, index: t.index, timeField: t.timeField };
}

const SEARCHABLE_TYPES = new Set(['elasticsearch', 'opensearch']);

/**
 * What this module needs of the running pipeline: the read-only PipelineView
 * (core/pipeline-view.ts) and the engine both are one.
 */
export interface SearchablePipeline {
  readonly plugins: readonly {
    readonly id: string;
    readonly type: string;
    readonly kind: string;
    readonly element: ConfigElement;
    /** the plugin's parameter schema, when the pipeline gives it */
    readonly schema?: Schema;
  }[];
}

interface OutputView {
  id: string;
  type: string;
  element: ConfigElement;
  schema?: Schema;
}

/**
 * The only place this module reads the running pipeline: the elasticsearch/opensearch
 * outputs (copy's stores included) with their config elements.
 */
export function searchableOutputs(pipeline: SearchablePipeline): OutputView[] {
  return pipeline.plugins
    .filter((p) => p.kind === 'output' && SEARCHABLE_TYPES.has(p.type))
    .map((p) => ({ id: p.id, type: p.type, element: p.element, schema: p.schema }));
}

/**
 * A parameter of an output as its own schema reads it (its default when unset); without a
 * schema, the written value (targetFromOutput's defaults are the plugin's).
 */
function outputParam(o: OutputView, key: string): unknown {
  const spec = o.schema?.params[key];
  const p = param(o.element, key);
  if (!spec) return p?.value;
  return p ? coerce(spec, p) : spec.default;
}

const isTrue = (v: unknown) => v === true || (typeof v === 'string' && parseBool(v) === true);

/** `${tag}`, `${key}` and strftime `%Y`... in an index name match anything: `*`. */
export function placeholdersToWildcards(name: string): string {
  return name
    .replace(/\$\{[^}]*\}/g, '*')
    .replace(/%[-_0^#]?[A-Za-z]/g, '*')
    .replace(/\*+/g, '*')
    .toLowerCase();
}

function basic(user: unknown, password: unknown): string | undefined {
  if (typeof user !== 'string' && typeof password !== 'string') return undefined;
  return `Basic ${Buffer.from(`${user ?? ''}:${password ?? ''}`).toString('base64')}`;
}

interface ServerParams {
  host?: unknown;
  port?: unknown;
  hosts?: unknown;
  scheme?: unknown;
  path?: unknown;
  user?: unknown;
  password?: unknown;
}

function trimPath(path: unknown): string {
  if (typeof path !== 'string' || !path) return '';
  return (path.startsWith('/') ? path : `/${path}`).replace(/\/+$/, '');
}

/** host/port/scheme/path or hosts (host:port or URLs with user:password), as the ES outputs read them. */
export function serversOf(p: ServerParams, where: string): SearchServer[] {
  const scheme = typeof p.scheme === 'string' ? p.scheme : 'http';
  const port = typeof p.port === 'number' ? p.port : 9200;
  const auth = basic(p.user, p.password);
  if (typeof p.hosts !== 'string' || !p.hosts.trim()) {
    const h = typeof p.host === 'string' ? p.host : 'localhost';
    const host = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
    return [{ base: `${scheme}://${host}:${port}${trimPath(p.path)}`, authorization: auth }];
  }
  const out: SearchServer[] = [];
  for (const raw of p.hosts.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `${scheme}://${s}`);
    } catch {
      throw new SluiceError(
        'SEARCH_BAD_HOSTS',
        `SEARCH_BAD_HOSTS: ${where}: hosts: '${s}' is not host:port or a URL`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new SluiceError(
        'SEARCH_BAD_HOSTS',
        `SEARCH_BAD_HOSTS: ${where}: hosts: '${s}': the scheme must be http or https`,
      );
    const user = url.username ? decodeURIComponent(url.username) : p.user;
    const password = url.password ? decodeURIComponent(url.password) : p.password;
    out.push({
      base: `${url.protocol}//${url.hostname}:${url.port || port}${trimPath(url.pathname !== '/' ? url.pathname : p.path)}`,
      authorization: basic(user, password),
    });
  }
  return out;
}

function agentFor(sslVerify: unknown, caFile: unknown): Agent {
  const connect: Record<string, unknown> = { rejectUnauthorized: sslVerify !== false };
  if (typeof caFile === 'string' && caFile) connect.ca = readFileSync(caFile);
  // A search is interactive and rare: a small pool, idle sockets closed soon.
  return new Agent({ connections: 4, keepAliveTimeout: 10_000, connect });
}

/** The target of one elasticsearch/opensearch output, named by its @id. */
export function targetFromOutput(o: OutputView): SearchTarget {
  const get = (k: string) => outputParam(o, k);
  let index: string;
  let timeField = '@timestamp';
  const dataStream = get('data_stream_name');
  if (typeof dataStream === 'string' && dataStream) index = placeholdersToWildcards(dataStream);
  else if (isTrue(get('logstash_format')))
    index = `${placeholdersToWildcards(String(get('logstash_prefix') ?? 'logstash'))}${get('logstash_prefix_separator') ?? '-'}*`;
  else {
    index = placeholdersToWildcards(String(get('index_name') ?? 'fluentd'));
    // Without @timestamp the documents have no time field the output adds; `time` is the
    // usual one in records (a <search> section names another with time_key).
    if (!isTrue(get('include_timestamp'))) timeField = 'time';
  }
  return {
    name: o.id,
    source: 'output',
    type: o.type,
    index,
    timeField,
    servers: serversOf(
      {
        host: get('host'),
        port: get('port') === undefined ? undefined : Number(get('port')),
        hosts: get('hosts'),
        scheme: get('scheme'),
        path: get('path'),
        user: get('user'),
        password: get('password'),
      },
      `output ${o.id}`,
    ),
    agent: agentFor(!(get('ssl_verify') === false || get('ssl_verify') === 'false'), get('ca_file')),
  };
}

/** The target of a monitor_agent `<search>` section (its params as the schema resolved them). */
export function targetFromSection(s: Resolved): SearchTarget {
  const q = s.params;
  const name = String(q.name);
  try {
    return {
      name,
      source: 'search',
      index: String(q.index),
      timeField: String(q.time_key),
      servers: serversOf(q, `<search> ${name}`),
      agent: agentFor(q.ssl_verify, q.ca_file),
    };
  } catch (e) {
    throw new ConfigError((e as Error).message, s.element.location);
  }
}

/** Every target: the pipeline's outputs, then the <search> sections; a name used twice is refused. */
export function collectTargets(
  pipeline: SearchablePipeline,
  sections: Resolved[],
): Map<string, SearchTarget> {
  const out = new Map<string, SearchTarget>();
  for (const o of searchableOutputs(pipeline)) out.set(o.id, targetFromOutput(o));
  for (const s of sections) {
    const t = targetFromSection(s);
    if (out.has(t.name))
      throw new ConfigError(
        `SEARCH_DUPLICATE_NAME: <search> name '${t.name}' is already the @id of an elasticsearch/opensearch output`,
        s.element.location,
      );
    out.set(t.name, t);
  }
  return out;
}
