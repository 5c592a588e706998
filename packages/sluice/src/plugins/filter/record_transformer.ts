import { hostname } from 'node:os';
import { EventTime } from '@sluice/forward';
import { param } from '../../config/ast.ts';
import { defineParams, type Resolved } from '../../config/schema.ts';
import { BatchBuilder, type EventRecord } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import type { FilterPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { createRecordAccessor, type RecordAccessor } from '../../core/record-accessor.ts';
import { compileStrftime } from '../../core/time-format.ts';
import { type Compiled, type Scope, compileString, compileValue, tagScope } from './_record-template.ts';

// Fluentd's filter_record_transformer (enable_ruby false). Order per event, as Fluentd:
// copy (or renew) the record, keep_keys, add <record> fields, renew_time_key, remove_keys.

const params = defineParams({
  remove_keys: {
    type: 'array',
    default: null,
    description: 'Keys to delete from the result (record accessors such as $.a.b allowed), applied last.',
  },
  keep_keys: {
    type: 'array',
    default: null,
    description: 'With renew_record: top-level keys copied from the original record.',
  },
  renew_record: { type: 'bool', default: false, description: 'Start from an empty record instead of a copy of the original.' },
  renew_time_key: {
    type: 'string',
    default: null,
    description: 'A field of the result whose value (unix time, seconds, may be fractional) becomes the event time.',
  },
  enable_ruby: {
    type: 'bool',
    default: false,
    description: 'Not supported: Sluice has no Ruby interpreter. Setting it true is a configuration error.',
  },
  auto_typecast: {
    type: 'bool',
    default: true,
    description: 'A value that is exactly one placeholder keeps the original type (number, map...) instead of text.',
  },
});

const schema = {
  params,
  sections: {
    record: {
      description: 'Fields to add or overwrite: `name value`, values may hold ${...} placeholders or JSON hashes/arrays.',
      multi: true,
      open: true,
    },
  },
};

const ENABLE_RUBY_MESSAGE =
  'enable_ruby true is not supported: Sluice has no Ruby interpreter, so ${...} cannot hold Ruby code. ' +
  'Use the built-in placeholders instead (${tag}, ${tag_parts[N]}, ${tag_prefix[N]}, ${tag_suffix[N]}, ${hostname}, ' +
  '${time}, ${record["key"]}); for computed fields, chain another filter (e.g. parser, grep) or write a Sluice filter plugin.';

/** Ruby's `to_f` as renew_time_key applies it. */
function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number.parseFloat(v);
    return Number.isNaN(n) ? 0 : n;
  }
  if (v === null || v === undefined) return 0;
  if (v instanceof EventTime) return v.toFloat();
  throw new TypeError(`renew_time_key: cannot convert ${JSON.stringify(v)} to a time`);
}

function timeFromFloat(f: number): EventTime {
  const sec = Math.floor(f);
  return new EventTime(sec, Math.min(999_999_999, Math.round((f - sec) * 1e9)));
}

/** Reads `<record>` values as Fluentd does: `{...}`/`[...]` is JSON when it parses, else text. */
function parseRecordValue(v: string, ctx: PluginContext): unknown {
  if (!v.startsWith('{') && !v.startsWith('[')) return v;
  try {
    return JSON.parse(v);
  } catch (e) {
    ctx.logger.warn({ err: e }, `failed to parse ${v} as json. Assuming ${v} is a string`);
    return v;
  }
}

export function createRecordTransformer(config: Resolved, ctx: PluginContext): FilterPlugin {
  const p = config.params as {
    remove_keys: string[] | undefined;
    keep_keys: string[] | undefined;
    renew_record: boolean;
    renew_time_key: string | undefined;
    enable_ruby: boolean;
    auto_typecast: boolean;
  };
  const el = config.element;
  const where = (k: string) => param(el, k)?.location ?? el.location;
  if (p.enable_ruby) throw new ConfigError(ENABLE_RUBY_MESSAGE, where('enable_ruby'));
  if (p.keep_keys && !p.renew_record) throw new ConfigError('`renew_record` must be true to use `keep_keys`', where('keep_keys'));

  const warned = new Set<string>();
  const opts = {
    autoTypecast: p.auto_typecast,
    onUnknown(ph: string) {
      if (warned.size > 1000 || warned.has(ph)) return;
      warned.add(ph);
      ctx.logger.warn(`unknown placeholder \`${ph}\` found`);
    },
  };
  const fields: [Compiled, Compiled][] = [];
  let needsTime = false;
  for (const sec of config.sections.record as Resolved[]) {
    for (const cp of sec.element.params) {
      needsTime ||= cp.key.includes('${time}') || cp.value.includes('${time}');
      fields.push([compileString(cp.key, opts, true), compileValue(parseRecordValue(cp.value, ctx), opts)]);
    }
  }
  const removers: RecordAccessor[] = (p.remove_keys ?? []).map((k) => createRecordAccessor(k, where('remove_keys')));
  const keep = p.renew_record ? (p.keep_keys ?? []) : [];
  const renew = p.renew_record;
  const timeKey = p.renew_time_key;
  // `${time}` is Ruby's Time#to_s of the event time: local zone, whole seconds.
  const timeText = needsTime ? compileStrftime('%Y-%m-%d %H:%M:%S %z') : undefined;
  const host = hostname();
  const tags = new Map<string, ReturnType<typeof tagScope>>();

  return {
    filter(batch) {
      let t = tags.get(batch.tag);
      if (!t) {
        if (tags.size > 10_000) tags.clear();
        t = tagScope(batch.tag);
        tags.set(batch.tag, t);
      }
      const scope: Scope = { ...t, hostname: host, time: '', record: {} };
      const out = new BatchBuilder(batch.bytes.length + batch.count * 32);
      for (const e of batch.entries()) {
        try {
          const record = e.record;
          scope.record = record;
          if (timeText) scope.time = timeText(e.time);
          let next: EventRecord;
          if (renew) {
            next = {};
            for (const k of keep) if (Object.hasOwn(record, k)) next[k] = record[k];
          } else {
            next = { ...record };
          }
          for (const [k, v] of fields) next[k(scope) as string] = v(scope);
          let time = e.time;
          if (timeKey !== undefined && Object.hasOwn(next, timeKey)) time = timeFromFloat(toFloat(next[timeKey]));
          for (const r of removers) r.delete(next);
          out.add(time, next);
        } catch (err) {
          ctx.emitError(batch.tag, e.time, e.record, err as Error);
        }
      }
      if (out.count === 0) return null;
      return out.take(batch.tag);
    },
  };
}

const descriptor: PluginDescriptor<FilterPlugin> = {
  kind: 'filter',
  type: 'record_transformer',
  description: 'Adds, overwrites and removes record fields with ${...} placeholders (Fluentd filter_record_transformer).',
  schema,
  create: createRecordTransformer,
};

export default descriptor;
