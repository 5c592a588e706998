// Placeholders in buffered outputs' parameters, resolved per chunk from its chunk keys, as
// Fluentd's Output#extract_placeholders does: strftime first (only when `time` is a chunk
// key), then `${tag}` / `${tag[N]}`, then `${key}` for record chunk keys.

import { EventTime } from '@sluice/forward';
import { strftime } from '../time/time-format.ts';
import type { Zone } from '../time/time-zone.ts';
import type { ChunkKeySpec } from './buffer-config.ts';
import { ConfigError, type SourceLocation } from './errors.ts';
import type { ChunkKeys } from './plugin.ts';

const TAG_RE = /\$\{tag(?:\[(-?\d+)\])?\}/g;
const KEY_RE = /\$\{([^}[\]]+|\$\.[^}]+)\}/g;
const TIME_RE = /%[A-Za-z%]/;

export interface ExpandOptions {
  /** the zone the chunk's timekey is formatted in */
  zone: Zone;
  /** applied to every value taken from a tag or record (e.g. path sanitising) */
  escape?: (value: string) => string;
}

export type { ChunkKeySpec };

/**
 * Fluentd refuses, at configure time, a parameter whose placeholders name something the
 * buffer is not keyed by (the value would be ambiguous within a chunk).
 */
export function checkPlaceholders(
  name: string,
  template: string,
  spec: ChunkKeySpec,
  where?: SourceLocation,
  /** time: false leaves `%` directives alone (a per-event strftime format, not a placeholder) */
  check: { time?: boolean } = {},
): void {
  const bad = (what: string) => {
    throw new ConfigError(`parameter '${name}' (${JSON.stringify(template)}) has ${what}`, where);
  };
  TAG_RE.lastIndex = 0;
  if (TAG_RE.test(template) && !spec.tag)
    bad("tag placeholders, but chunk key 'tag' is not configured (add it to <buffer tag,...>)");
  if (check.time !== false && TIME_RE.test(template.replace(/%%/g, '')) && !spec.time) {
    bad(
      "timestamp placeholders, but chunk key 'time' is not configured (add it to <buffer time,...> with timekey)",
    );
  }
  const missing: string[] = [];
  for (const m of template.matchAll(KEY_RE)) {
    const k = m[1]!;
    if (k === 'tag' || /^tag\[-?\d+\]$/.test(k)) continue;
    // Fluentd's extract_placeholders resolves ${chunk_id} for every output (secondary_file, out_s3)
    if (k === 'chunk_id') continue;
    if (!spec.keys.includes(k)) missing.push(k);
  }
  if (missing.length > 0)
    bad(
      `placeholders for keys ${missing.join(', ')} that are not chunk keys (chunk keys: ${spec.keys.join(', ') || 'none'})`,
    );
}

/** Resolves a template for one chunk. Unresolvable `${tag[N]}` stays as written, as in Fluentd. */
export function expandPlaceholders(template: string, keys: ChunkKeys, opts: ExpandOptions): string {
  const esc = opts.escape ?? ((s: string) => s);
  let out = template;
  if (keys.time !== undefined && out.includes('%')) {
    // Every zone's name parses back to it (parseZone), so the cached core strftime serves.
    out = strftime(out, new EventTime(keys.time, 0), { timezone: opts.zone.name });
  }
  if (keys.tag !== undefined && out.includes('${tag')) {
    const tag = keys.tag;
    const parts = tag.split('.');
    out = out.replace(TAG_RE, (m, idx: string | undefined) => {
      if (idx === undefined) return esc(tag);
      let i = Number(idx);
      if (i < 0) i += parts.length;
      const p = parts[i];
      return p === undefined ? m : esc(p);
    });
  }
  if (out.includes('${')) {
    out = out.replace(KEY_RE, (m, k: string) => {
      const v = keys.vars[k];
      return v === undefined ? m : esc(v);
    });
  }
  return out;
}
