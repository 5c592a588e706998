// Placeholders in buffered outputs' parameters, resolved per chunk from its chunk keys, as
// Fluentd's Output#extract_placeholders does: strftime first (only when `time` is a chunk
// key), then `${tag}` / `${tag[N]}`, then `${key}` for record chunk keys.

import { ConfigError, type SourceLocation } from './errors.ts';
import type { ChunkKeys } from './plugin.ts';
import { civilFromDays, type Zone } from './time-zone.ts';

const TAG_RE = /\$\{tag(?:\[(-?\d+)\])?\}/g;
const KEY_RE = /\$\{([^}[\]]+|\$\.[^}]+)\}/g;
const TIME_RE = /%[A-Za-z%]/;

export interface ExpandOptions {
  /** the zone the chunk's timekey is formatted in */
  zone: Zone;
  /** applied to every value taken from a tag or record (e.g. path sanitising) */
  escape?: (value: string) => string;
}

/** What a buffer is keyed by, for configure-time checks. */
export interface ChunkKeySpec {
  tag: boolean;
  time: boolean;
  keys: string[];
}

export function hasPlaceholders(template: string): boolean {
  return template.includes('${') || TIME_RE.test(template);
}

/**
 * Fluentd refuses, at configure time, a parameter whose placeholders name something the
 * buffer is not keyed by (the value would be ambiguous within a chunk).
 */
export function checkPlaceholders(
  name: string,
  template: string,
  spec: ChunkKeySpec,
  where?: SourceLocation,
): void {
  const bad = (what: string) => {
    throw new ConfigError(`parameter '${name}' (${JSON.stringify(template)}) has ${what}`, where);
  };
  TAG_RE.lastIndex = 0;
  if (TAG_RE.test(template) && !spec.tag)
    bad("tag placeholders, but chunk key 'tag' is not configured (add it to <buffer tag,...>)");
  if (TIME_RE.test(template.replace(/%%/g, '')) && !spec.time) {
    bad(
      "timestamp placeholders, but chunk key 'time' is not configured (add it to <buffer time,...> with timekey)",
    );
  }
  const missing: string[] = [];
  for (const m of template.matchAll(KEY_RE)) {
    const k = m[1]!;
    if (k === 'tag' || /^tag\[-?\d+\]$/.test(k)) continue;
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
  if (keys.time !== undefined && out.includes('%')) out = strftime(out, keys.time, opts.zone);
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/**
 * A small strftime for timekeys (whole seconds). Private to placeholders because the
 * timekey directives are all it needs; record formatting uses core/time-format.ts.
 */
export function strftime(format: string, sec: number, zone: Zone): string {
  const offset = zone.offsetAt(sec);
  const local = sec + offset;
  const days = Math.floor(local / 86400);
  const secOfDay = local - days * 86400;
  const ymd = [0, 0, 0];
  civilFromDays(days, ymd);
  const [y, mo, d] = ymd as [number, number, number];
  const H = Math.floor(secOfDay / 3600);
  const M = Math.floor((secOfDay % 3600) / 60);
  const S = secOfDay % 60;
  const wday = (((days + 4) % 7) + 7) % 7;
  return format.replace(/%([A-Za-z%])/g, (m, c: string) => {
    switch (c) {
      case 'Y':
        return String(y);
      case 'y':
        return pad(y % 100);
      case 'C':
        return pad(Math.floor(y / 100));
      case 'm':
        return pad(mo);
      case 'd':
        return pad(d);
      case 'e':
        return String(d).padStart(2, ' ');
      case 'H':
        return pad(H);
      case 'I':
        return pad(H % 12 === 0 ? 12 : H % 12);
      case 'p':
        return H < 12 ? 'AM' : 'PM';
      case 'M':
        return pad(M);
      case 'S':
        return pad(S);
      case 'L':
        return '000';
      case 'N':
        return '000000000';
      case 'j':
        return pad(dayOfYear(y, mo, d), 3);
      case 's':
        return String(sec);
      case 'z': {
        const a = Math.abs(offset);
        return `${offset < 0 ? '-' : '+'}${pad(Math.floor(a / 3600))}${pad(Math.floor((a % 3600) / 60))}`;
      }
      case 'Z':
        return zone.abbrev(sec);
      case 'b':
      case 'h':
        return MONTHS[mo - 1]!;
      case 'a':
        return DAYS[wday]!;
      case 'u':
        return String(wday === 0 ? 7 : wday);
      case 'w':
        return String(wday);
      case 'F':
        return `${y}-${pad(mo)}-${pad(d)}`;
      case 'T':
        return `${pad(H)}:${pad(M)}:${pad(S)}`;
      case '%':
        return '%';
      default:
        return m;
    }
  });
}

const CUM = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
function dayOfYear(y: number, m: number, d: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return CUM[m - 1]! + d + (leap && m > 2 ? 1 : 0);
}
