// The object key of a chunk: fluent-plugin-s3's s3_object_key_format, with every placeholder
// made from the chunk itself, so a chunk uploaded again (a retry, or a file-buffer chunk
// resumed after kill -9: same id, same keys) gets the same key and overwrites its own object,
// and two chunks never get the same key without a HEAD request (the chunk id is 48 bits of
// creation time, a 16-bit sequence and 64 random bits, whatever the thread, worker or host).
import { hostname } from 'node:os';
import { EventTime } from '@sluice/forward';
import { ConfigError, type SourceLocation } from '../../../core/errors.ts';
import type { Chunk } from '../../../core/plugin.ts';
import { compileStrftime } from '../../../time/time-format.ts';
import type { Zone } from '../../../time/time-zone.ts';

/** Placeholders fluent-plugin-s3 removed: refused at check time as the Ruby plugin does. */
const REMOVED = ['%{uuid}', '%{uuid:random}', '%{uuid:hostname}', '%{uuid:timestamp}'];

/** Placeholders that make a key unique per chunk. */
export const UNIQUE = ['%{index}', '${chunk_id}', '%{uuid_flush}', '%{hex_random}'];

const PLACEHOLDER = /%\{[^}]+\}|\$\{chunk_id\}/g;

export interface KeyOptions {
  format: string;
  path: string;
  extension: string;
  /** strftime format of %{time_slice} ('' without a time chunk key) */
  timeSliceFormat: string;
  zone: Zone;
  hexRandomLength: number;
  where: SourceLocation;
}

/** The timekey's strftime format fluent-plugin-s3 v1 uses when time_slice_format is not set. */
export function timekeyFormat(timekey: number | undefined): string {
  if (timekey === undefined) return '';
  if (timekey < 60) return '%Y%m%d%H%M%S';
  if (timekey < 3600) return '%Y%m%d%H%M';
  if (timekey < 86400) return '%Y%m%d%H';
  return '%Y%m%d';
}

/** The chunk id (32 hex digits) as a UUID's 8-4-4-4-12 groups. */
export function uuidOf(id: string): string {
  const h = id.padEnd(32, '0').slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The ms of the chunk's creation, the first 12 hex digits of a Sluice chunk id. */
export function createdMs(id: string): number | undefined {
  const ms = Number.parseInt(id.slice(0, 12), 16);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether a key format makes a key unique per chunk (no HEAD request needed). */
export function uniqueFormat(format: string): boolean {
  return UNIQUE.some((p) => format.includes(p));
}

/**
 * Compiles the key format. The %{...} placeholders are replaced by markers before the chunk-key
 * placeholders are resolved (so the strftime of a time chunk key does not read them), then by
 * their values: fluent-plugin-s3's order (%{path} first, so the path's own placeholders are
 * resolved too).
 */
export function compileKey(o: KeyOptions): (chunk: Chunk) => string {
  for (const r of REMOVED)
    if (o.format.includes(r))
      throw new ConfigError(
        `S3_KEY_FORMAT: the ${r} placeholder in s3_object_key_format was removed from fluent-plugin-s3 (use %{uuid_flush} or %{index})`,
        o.where,
      );
  const withPath = o.format.replaceAll('%{path}', o.path);
  const names: string[] = [];
  const template = withPath.replace(PLACEHOLDER, (m) => {
    names.push(m);
    return `\u0000${names.length - 1}\u0000`;
  });
  const slice = o.timeSliceFormat ? compileStrftime(o.timeSliceFormat, { timezone: o.zone.name }) : undefined;
  const hms = compileStrftime('%H%M%S', { timezone: o.zone.name });
  const host = hostname();
  const value = (name: string, chunk: Chunk): string => {
    switch (name) {
      case '%{time_slice}':
      case '%{date_slice}':
        return chunk.keys.time !== undefined && slice ? slice(new EventTime(chunk.keys.time, 0)) : '';
      case '%{index}':
      case '${chunk_id}':
        return chunk.id;
      case '%{uuid_flush}':
        return uuidOf(chunk.id);
      case '%{hex_random}':
        return [...chunk.id].reverse().join('').slice(0, o.hexRandomLength);
      case '%{hms_slice}': {
        const ms = createdMs(chunk.id) ?? Date.now();
        return hms(new EventTime(Math.floor(ms / 1000), 0));
      }
      case '%{file_extension}':
        return o.extension;
      case '%{hostname}':
        return host;
      default:
        // an unknown placeholder stays as written, as in fluent-plugin-s3
        return name;
    }
  };
  return (chunk) => {
    const expanded = chunk.expand(template);
    if (names.length === 0) return expanded;
    return expanded.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => value(names[Number(i)]!, chunk));
  };
}
