import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closest } from '../config/schema.ts';
import { NotImplementedPluginError, SluiceError, type SourceLocation } from '../core/errors.ts';
import { MODULE_EXT } from '../core/module-ext.ts';
import type { PluginDescriptor, PluginKind } from '../core/plugin.ts';

// Plugins live one per file at plugins/<kind>/<type>.ts, or one per folder at
// plugins/<kind>/<type>/index.ts when they need collaborators, and default-export their
// descriptor. Loading by file name keeps startup cheap (only configured plugins are
// imported) and lets plugins be added without touching a central list.
const here = join(dirname(fileURLToPath(import.meta.url)), '..', 'plugins');

/** Other names a type is known by (Fluentd's old names, aliases). */
const ALIASES: Record<PluginKind, Record<string, string>> = {
  input: {
    dummy: 'sample',
    unix: 'forward',
    prometheus_output_monitor: 'prometheus_monitor',
    prometheus_tail_monitor: 'prometheus_monitor',
  },
  output: { opensearch: 'elasticsearch', kafka_buffered: 'kafka2', kafka: 'kafka2' },
  filter: {},
  parser: {},
  formatter: {},
  buffer: {},
};

/** Fluentd types a user may have in a config that Sluice does not build: a clear message, not "unknown". */
const KNOWN_ELSEWHERE: Record<PluginKind, string[]> = {
  input: ['exec', 'windows_eventlog', 'object_space', 'debug_agent', 'kafka', 's3'],
  output: [
    'kinesis_streams',
    'kinesis_streams_aggregated',
    'exec',
    'exec_filter',
    'roundrobin',
    'google_cloud',
    'bigquery',
  ],
  filter: ['geoip', 'kubernetes_metadata'],
  parser: [],
  formatter: [],
  buffer: [],
};

const cache = new Map<string, PluginDescriptor>();

export function canonicalType(kind: PluginKind, type: string): string {
  return ALIASES[kind][type] ?? type;
}

function fileFor(kind: PluginKind, type: string): string {
  const file = join(here, kind, `${type}${MODULE_EXT}`);
  if (existsSync(file)) return file;
  return join(here, kind, type, `index${MODULE_EXT}`);
}

export async function loadPlugin(
  kind: PluginKind,
  type: string,
  where?: SourceLocation,
): Promise<PluginDescriptor> {
  const canonical = canonicalType(kind, type);
  const key = `${kind}:${canonical}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!/^[a-z0-9_]+$/.test(canonical) || !existsSync(fileFor(kind, canonical))) {
    // One message whether Fluentd has the type or it is a typo: what is built, the
    // closest name, and where the migration guide says what to use instead.
    const known = listPlugins(kind);
    const hint = KNOWN_ELSEWHERE[kind].includes(canonical) ? undefined : closest(type, known);
    throw new NotImplementedPluginError(
      kind,
      type,
      where,
      ` (${hint ? `did you mean '${hint}'? ` : ''}built in: ${known.join(', ')})`,
    );
  }
  const mod = (await import(fileFor(kind, canonical))) as { default: PluginDescriptor };
  const d = mod.default;
  if (!d || d.kind !== kind)
    throw new SluiceError(
      'PLUGIN_BAD_FILE',
      `plugin file ${fileFor(kind, canonical)} does not export a ${kind} descriptor`,
    );
  cache.set(key, d);
  return d;
}

/** Synchronous access to an already-loaded descriptor (nested parsers/formatters are preloaded). */
export function loadedPlugin(kind: PluginKind, type: string): PluginDescriptor | undefined {
  return cache.get(`${kind}:${canonicalType(kind, type)}`);
}

export function listPlugins(kind: PluginKind): string[] {
  const dir = join(here, kind);
  if (!existsSync(dir)) return [];
  const types: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('_')) continue;
    if (e.isFile() && e.name.endsWith(MODULE_EXT)) types.push(e.name.slice(0, -MODULE_EXT.length));
    else if (e.isDirectory() && existsSync(join(dir, e.name, `index${MODULE_EXT}`))) types.push(e.name);
  }
  return types.sort();
}

/**
 * Registers a plugin defined in code (embedding Sluice, or a test's capturing output).
 * It takes precedence over a file of the same name.
 */
export function registerPlugin(d: PluginDescriptor): void {
  cache.set(`${d.kind}:${d.type}`, d);
  for (const a of d.aliases ?? []) ALIASES[d.kind][a] = d.type;
}
