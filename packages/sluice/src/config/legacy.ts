// Fluentd v0.12 spellings rewritten into v1 sections, following Fluentd's
// plugin_helper/compat_parameters.rb. Fluentd copies the old keys per plugin; Sluice
// validates params against each plugin's schema, so here they are MOVED out of the
// directive into the section they belong to, by directive kind (no plugin is loaded).
// `type` for `@type` needs nothing: the engine reads both.
import { ConfigError } from '../core/errors.ts';
import { type ConfigElement, type ConfigParam, newElement } from './ast.ts';
import { parseBool } from './values.ts';

/** legacy key in <match> -> key in <buffer> */
const BUFFER_PARAMS: Record<string, string> = {
  buffer_type: '@type',
  buffer_path: 'path',
  num_threads: 'flush_thread_count',
  flush_interval: 'flush_interval',
  try_flush_interval: 'flush_thread_interval',
  queued_chunk_flush_interval: 'flush_thread_burst_interval',
  disable_retry_limit: 'retry_forever',
  retry_limit: 'retry_max_times',
  retry_wait: 'retry_wait',
  max_retry_wait: 'retry_max_interval',
  buffer_chunk_limit: 'chunk_limit_size',
  buffer_queue_limit: 'queue_limit_length',
  buffer_queue_full_action: 'overflow_action',
  flush_at_shutdown: 'flush_at_shutdown',
  time_slice_wait: 'timekey_wait',
};

/** legacy key in <source>/<filter> (with `format`) -> key in <parse>; `format` itself is special */
const PARSER_PARAMS: Record<string, string> = {
  keys: 'keys',
  time_key: 'time_key',
  time_format: 'time_format',
  delimiter: 'delimiter',
  keep_time_key: 'keep_time_key',
  null_empty_string: 'null_empty_string',
  null_value_pattern: 'null_value_pattern',
  json_parser: 'json_parser',
  label_delimiter: 'label_delimiter',
  format_firstline: 'format_firstline',
  message_key: 'message_key',
  with_priority: 'with_priority',
  timezone: 'timezone',
};

/** legacy key in <match> (with `format`) -> key in <format> */
const FORMATTER_PARAMS: Record<string, string> = {
  delimiter: 'delimiter',
  force_quotes: 'force_quotes',
  keys: 'keys',
  fields: 'fields',
  json_parser: 'json_parser',
  label_delimiter: 'label_delimiter',
  output_time: 'output_time',
  output_tag: 'output_tag',
  localtime: 'localtime',
  utc: 'utc',
  timezone: 'timezone',
  message_key: 'message_key',
  add_newline: 'add_newline',
  output_type: 'output_type',
};

/** legacy key in <match> (with include_time_key / include_tag_key) -> key in <inject> */
const INJECT_PARAMS: Record<string, string> = {
  time_key: 'time_key',
  time_format: 'time_format',
  timezone: 'timezone',
  tag_key: 'tag_key',
};

function take(el: ConfigElement, key: string): ConfigParam | undefined {
  let found: ConfigParam | undefined;
  el.params = el.params.filter((p) => {
    if (p.key !== key) return true;
    found = p; // the last one wins, as everywhere
    return false;
  });
  return found;
}

function has(el: ConfigElement, key: string): boolean {
  return el.params.some((p) => p.key === key);
}

function hasSection(el: ConfigElement, name: string): boolean {
  return el.elements.some((e) => e.name === name);
}

function set(section: ConfigElement, key: string, from: ConfigParam, value = from.value): void {
  section.params.push({ key, value, location: from.location });
}

function bool(p: ConfigParam): boolean {
  const b = parseBool(p.value);
  if (b === undefined)
    throw new ConfigError(
      `parameter '${p.key}': expected true or false (got ${JSON.stringify(p.value)})`,
      p.location,
    );
  return b;
}

/** `localtime` / `utc` -> the v1 `localtime` bool, refusing both at once as Fluentd does. */
function moveLocaltime(el: ConfigElement, section: ConfigElement): void {
  const local = take(el, 'localtime');
  const utc = take(el, 'utc');
  if (local && utc)
    throw new ConfigError('both utc and localtime are set; use only one of them', utc.location);
  if (local) set(section, 'localtime', local, String(bool(local)));
  if (utc) set(section, 'localtime', utc, String(!bool(utc)));
}

function timekeyFor(p: ConfigParam): string {
  const f = p.value;
  if (f.includes('%S')) return '1';
  if (f.includes('%M')) return '60';
  if (f.includes('%H')) return '3600';
  if (f.includes('%d')) return '86400';
  throw new ConfigError(
    `time_slice_format '${f}' has no %d, %H, %M or %S: slices of a month or more are not supported`,
    p.location,
  );
}

/**
 * Inputs whose own `format` parameter is not the v0.12 parser spelling: in_kafka_group
 * declares `format` (json, ltsv, msgpack, text) and `message_key` itself, as Fluentd runs it.
 */
const OWN_FORMAT_INPUTS = new Set(['kafka_group']);

function parserSection(el: ConfigElement): void {
  if (hasSection(el, 'parse') || !has(el, 'format')) return;
  const type = el.params.findLast((p) => p.key === '@type' || p.key === 'type')?.value;
  if (type && OWN_FORMAT_INPUTS.has(type)) return;
  const format = take(el, 'format')!;
  const parse = newElement('parse', '', format.location);
  const f = format.value;
  if (f.length >= 2 && f.startsWith('/') && f.endsWith('/')) {
    set(parse, '@type', format, 'regexp');
    set(parse, 'expression', format, f.slice(1, -1));
  } else set(parse, '@type', format);
  for (const [from, to] of Object.entries(PARSER_PARAMS)) {
    const p = take(el, from);
    if (p) set(parse, to, p);
  }
  // multiline: format1 .. formatN go with format_firstline
  for (const p of el.params.filter((x) => /^format\d+$/.test(x.key))) set(parse, p.key, p);
  el.params = el.params.filter((x) => !/^format\d+$/.test(x.key));
  const types = take(el, 'types');
  const typesDelimiter = take(el, 'types_delimiter')?.value || ',';
  const labelDelimiter = take(el, 'types_label_delimiter')?.value || ':';
  if (types) {
    const map: Record<string, string> = {};
    for (const pair of types.value.split(typesDelimiter)) {
      const i = pair.indexOf(labelDelimiter);
      if (i < 0) map[pair] = '';
      else map[pair.slice(0, i)] = pair.slice(i + labelDelimiter.length);
    }
    set(parse, 'types', types, JSON.stringify(map));
  }
  moveLocaltime(el, parse);
  el.elements.push(parse);
}

/**
 * v0.12 outputs that Fluentd still runs through its compat layer (Fluent::BufferedOutput
 * declares the v0.12 buffer parameters), so their buffer parameters beside a <buffer>
 * section are accepted and not used, without a warning (seed 001's kafka_buffered with
 * flush_interval and <buffer>).
 */
const COMPAT_BUFFERED_TYPES = new Set(['kafka_buffered', 'kafka']);

/** Outputs that keep time_slice_format as a parameter of their own besides the timekey made from it. */
const OWN_TIME_SLICE = new Set(['s3']);

function bufferSection(el: ConfigElement): void {
  if (hasSection(el, 'buffer')) {
    const type = el.params.findLast((p) => p.key === '@type' || p.key === 'type')?.value;
    if (type && COMPAT_BUFFERED_TYPES.has(type))
      for (const k of [...Object.keys(BUFFER_PARAMS), 'time_slice_format']) take(el, k);
    return;
  }
  const keys = [...Object.keys(BUFFER_PARAMS), 'time_slice_format'];
  if (!keys.some((k) => has(el, k))) return;
  const first = el.params.find((p) => keys.includes(p.key))!;
  const buffer = newElement('buffer', '', first.location);
  for (const [from, to] of Object.entries(BUFFER_PARAMS)) {
    const p = take(el, from);
    if (!p) continue;
    set(
      buffer,
      to,
      p,
      from === 'buffer_queue_full_action' && p.value === 'exception' ? 'throw_exception' : p.value,
    );
  }
  // out_s3 reads time_slice_format itself too (%{time_slice} of its keys), as fluent-plugin-s3
  // reads conf['time_slice_format'] after compat_parameters made the timekey from it
  const type = el.params.findLast((p) => p.key === '@type' || p.key === 'type')?.value;
  const slice = OWN_TIME_SLICE.has(type ?? '')
    ? el.params.findLast((p) => p.key === 'time_slice_format')
    : take(el, 'time_slice_format');
  if (slice) {
    buffer.arg = 'time';
    set(buffer, 'timekey', slice, timekeyFor(slice));
    // With time slices, timezone/localtime/utc describe the slices.
    const tz = take(el, 'timezone');
    if (tz) set(buffer, 'timekey_zone', tz);
    const local = take(el, 'localtime');
    const utc = take(el, 'utc');
    if (local && utc)
      throw new ConfigError('both utc and localtime are set; use only one of them', utc.location);
    if (local) set(buffer, 'timekey_use_utc', local, String(!bool(local)));
    if (utc) set(buffer, 'timekey_use_utc', utc, String(bool(utc)));
  }
  el.elements.push(buffer);
}

function formatterSection(el: ConfigElement): void {
  if (hasSection(el, 'format') || !has(el, 'format')) return;
  const format = take(el, 'format')!;
  const section = newElement('format', '', format.location);
  set(section, '@type', format);
  for (const [from, to] of Object.entries(FORMATTER_PARAMS)) {
    const p = take(el, from);
    if (p) set(section, to, p);
  }
  el.elements.push(section);
}

/** Only the simple cases: include_time_key / include_tag_key with their key and format. */
function injectSection(el: ConfigElement): void {
  if (hasSection(el, 'inject')) return;
  const includeTime = el.params.findLast((p) => p.key === 'include_time_key');
  const includeTag = el.params.findLast((p) => p.key === 'include_tag_key');
  if (!includeTime && !includeTag) return;
  const inject = newElement('inject', '', (includeTime ?? includeTag)!.location);
  take(el, 'include_time_key');
  take(el, 'include_tag_key');
  const wantTime = includeTime !== undefined && bool(includeTime);
  const wantTag = includeTag !== undefined && bool(includeTag);
  for (const [from, to] of Object.entries(INJECT_PARAMS)) {
    if ((from === 'tag_key' && !wantTag) || (from !== 'tag_key' && !wantTime)) continue;
    const p = take(el, from);
    if (p) set(inject, to, p);
  }
  if (wantTime) {
    if (!has(inject, 'time_key')) set(inject, 'time_key', includeTime!, 'time');
    set(inject, 'time_type', includeTime!, 'string');
    moveLocaltime(el, inject);
  }
  if (wantTag && !has(inject, 'tag_key')) set(inject, 'tag_key', includeTag!, 'tag');
  if (inject.params.length > 0) el.elements.push(inject);
}

/**
 * Outputs whose own parameters include include_tag_key / tag_key (fluent-plugin-elasticsearch
 * and -opensearch read them themselves, not through <inject>): left as they are.
 */
const OWN_TAG_KEY = new Set(['elasticsearch', 'opensearch']);

function normalizeOutput(el: ConfigElement): void {
  bufferSection(el);
  const type = el.params.findLast((p) => p.key === '@type' || p.key === 'type')?.value;
  if (!OWN_TAG_KEY.has(type ?? '')) injectSection(el);
  formatterSection(el);
  for (const child of el.elements)
    if (child.name === 'store' || child.name === 'secondary') normalizeOutput(child);
}

function walk(el: ConfigElement): void {
  for (const child of el.elements) {
    if (child.name === 'source' || child.name === 'filter') parserSection(child);
    else if (child.name === 'match') normalizeOutput(child);
    else if (child.name === 'label' || child.name === 'worker') walk(child);
  }
}

/**
 * Rewrites v0.12 spellings in place and returns the root: `format`/`time_format`/...
 * directly in a <source> or <filter> -> <parse>; buffer params directly in a <match>
 * (or <store>) -> <buffer>; `format` in a <match> -> <format>; include_time_key /
 * include_tag_key -> <inject>. A directive that already has the v1 section is left alone.
 */
export function normalizeLegacy(root: ConfigElement): ConfigElement {
  walk(root);
  return root;
}
