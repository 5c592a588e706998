import { hostname } from 'node:os';
import { EventTime, packr } from '@sluice/forward';
import { INCOMPLETE, INVALID, scanEntries, skipValue } from '../../../codec/msgpack-scan.ts';
import { param } from '../../../config/ast.ts';
import { defineParams, defineSchema, type Resolved } from '../../../config/schema.ts';
import { EventBatch, type EventRecord } from '../../../core/batch.ts';
import { BatchBuilder } from '../../../core/batch-builder.ts';
import { ConfigError } from '../../../core/errors.ts';
import type { FilterPlugin, PluginContext, PluginDescriptor } from '../../../core/plugin.ts';
import { createRecordAccessor, type RecordAccessor } from '../../../core/record-accessor.ts';
import { compileStrftime } from '../../../time/time-format.ts';
import { type Compiled, compileString, compileValue, type Scope, tagScope } from './record-template.ts';

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
  renew_record: {
    type: 'bool',
    default: false,
    description: 'Start from an empty record instead of a copy of the original.',
  },
  renew_time_key: {
    type: 'string',
    default: null,
    description:
      'A field of the result whose value (unix time, seconds, may be fractional) becomes the event time.',
  },
  enable_ruby: {
    type: 'bool',
    default: false,
    description: 'Not supported: Sluice has no Ruby interpreter. Setting it true is a configuration error.',
  },
  auto_typecast: {
    type: 'bool',
    default: true,
    description:
      'A value that is exactly one placeholder keeps the original type (number, map...) instead of text.',
  },
});

const schema = defineSchema({
  params,
  sections: {
    record: {
      description:
        'Fields to add or overwrite: `name value`, values may hold ${...} placeholders or JSON hashes/arrays.',
      multi: true,
      open: true,
    },
  },
});

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
    ctx.logger.warn(
      { code: 'RECORD_TRANSFORMER_JSON', err: e },
      `failed to parse ${v} as json. Assuming ${v} is a string`,
    );
    return v;
  }
}

/** Count and header length of the msgpack map at `off`; undefined when it is not a map. */
function mapHeader(b: Uint8Array, off: number): [count: number, length: number] | undefined {
  const t = b[off]!;
  if (t >= 0x80 && t <= 0x8f) return [t & 0x0f, 1];
  if (t === 0xde) return [(b[off + 1]! << 8) | b[off + 2]!, 3];
  if (t === 0xdf)
    return [((b[off + 1]! << 24) >>> 0) + ((b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!), 5];
  return undefined;
}

function writeMapHeader(target: Buffer, count: number): Buffer {
  if (count < 16) {
    target[0] = 0x80 | count;
    return target.subarray(0, 1);
  }
  if (count < 0x10000) {
    target[0] = 0xde;
    target.writeUInt16BE(count, 1);
    return target.subarray(0, 3);
  }
  target[0] = 0xdf;
  target.writeUInt32BE(count, 1);
  return target.subarray(0, 5);
}

export function createRecordTransformer(config: Resolved<typeof schema>, ctx: PluginContext): FilterPlugin {
  const p = config.params;
  const el = config.element;
  const where = (k: string) => param(el, k)?.location ?? el.location;
  if (p.enable_ruby) throw new ConfigError(ENABLE_RUBY_MESSAGE, where('enable_ruby'));
  if (p.keep_keys && !p.renew_record)
    throw new ConfigError('`renew_record` must be true to use `keep_keys`', where('keep_keys'));

  const warned = new Set<string>();
  const opts = {
    autoTypecast: p.auto_typecast,
    onUnknown(ph: string) {
      if (warned.size > 1000 || warned.has(ph)) return;
      warned.add(ph);
      ctx.logger.warn({ code: 'RECORD_TRANSFORMER_PLACEHOLDER' }, `unknown placeholder \`${ph}\` found`);
    },
  };
  const fields: [Compiled, Compiled][] = [];
  let needsTime = false;
  for (const sec of config.sections.record) {
    for (const cp of sec.element.params) {
      needsTime ||= cp.key.includes('${time}') || cp.value.includes('${time}');
      fields.push([compileString(cp.key, opts, true), compileValue(parseRecordValue(cp.value, ctx), opts)]);
    }
  }
  // When the result is the original record plus new keys, the original map's bytes are
  // kept and only the new pairs are encoded: no re-encoding of what did not change.
  const splice =
    !p.renew_record && p.remove_keys === undefined && p.renew_time_key === undefined && fields.length > 0;
  const scratch = Buffer.allocUnsafe(5);
  const removers: RecordAccessor[] = (p.remove_keys ?? []).map((k) =>
    createRecordAccessor(k, where('remove_keys')),
  );
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
      const entries = batch.entries();
      const src = batch.bytes;
      const starts: number[] = [];
      if (splice) {
        scanEntries(src, starts);
        starts.push(src.length);
      }
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        try {
          const record = e.record;
          scope.record = record;
          if (timeText) scope.time = timeText(e.time);
          if (splice) {
            const extra: EventRecord = {};
            let fresh = true;
            for (const [k, v] of fields) {
              const key = k(scope) as string;
              if (Object.hasOwn(record, key)) fresh = false;
              extra[key] = v(scope);
            }
            if (fresh && appendSpliced(out, src, starts[i]!, starts[i + 1]!, extra)) continue;
          }
          let next: EventRecord;
          if (renew) {
            next = {};
            for (const k of keep) if (Object.hasOwn(record, k)) next[k] = record[k];
          } else {
            next = { ...record };
          }
          for (const [k, v] of fields) next[k(scope) as string] = v(scope);
          let time = e.time;
          if (timeKey !== undefined && Object.hasOwn(next, timeKey))
            time = timeFromFloat(toFloat(next[timeKey]));
          for (const r of removers) r.delete(next);
          out.add(time, next);
        } catch (err) {
          ctx.emitError(batch.tag, e.time, e.record, err as Error);
        }
      }
      if (out.count === 0) return null;
      const count = out.count;
      return new EventBatch(batch.tag, out.finish(), count);
    },
  };

  /** Writes `[time, original pairs + extra pairs]` for the entry at [start, end); false if its shape is unexpected. */
  function appendSpliced(
    out: BatchBuilder,
    src: Buffer,
    start: number,
    end: number,
    extra: EventRecord,
  ): boolean {
    const recordOff = skipValue(src, start + 1, end);
    if (recordOff === INCOMPLETE || recordOff === INVALID) return false;
    const orig = mapHeader(src, recordOff);
    const packed = packr.pack(extra);
    const add = mapHeader(packed, 0);
    if (!orig || !add) return false;
    out.addEntryBytes(src.subarray(start, recordOff), 0);
    out.addEntryBytes(writeMapHeader(scratch, orig[0] + add[0]), 0);
    out.addEntryBytes(src.subarray(recordOff + orig[1], end), 0);
    out.addEntryBytes(packed.subarray(add[1]), 1);
    return true;
  }
}

const descriptor: PluginDescriptor<FilterPlugin, typeof schema> = {
  kind: 'filter',
  type: 'record_transformer',
  description:
    'Adds, overwrites and removes record fields with ${...} placeholders (Fluentd filter_record_transformer).',
  schema,
  create: createRecordTransformer,
};

export default descriptor;
