// Splits a batch by chunk keys. Chunks are always separated by tag as well, configured or
// not: chunk entries are [time, record] without a tag, and outputs that print the tag per
// event (out_file, stdout formats) read it from the chunk. Tag-only (or no) keys never look inside the bytes; a time
// key reads only each entry's time in place; record keys decode the records (and still
// slice the original entry bytes rather than re-encoding them).

import { entrySeconds, scanEntries } from '../codec/msgpack-scan.ts';
import type { EventBatch } from '../core/batch.ts';
import { withCode } from '../core/errors.ts';
import type { ChunkKeySpec } from '../core/placeholders.ts';
import type { ChunkKeys } from '../core/plugin.ts';
import { createRecordAccessor, type RecordAccessor } from '../core/record-accessor.ts';
import type { Zone } from '../time/time-zone.ts';
import { keyStringOf } from './store.ts';

export interface Group {
  keys: ChunkKeys;
  keyString: string;
  bytes: Buffer;
  count: number;
  /** entry start offsets within bytes, when already known */
  starts?: number[];
}

export class ChunkKeyer {
  private readonly needsScan: boolean;
  /** record-key accessors, parsed once here rather than per record */
  private readonly accessors: RecordAccessor[];

  constructor(
    private readonly spec: ChunkKeySpec,
    private readonly timekey: number | undefined,
    private readonly zone: Zone,
  ) {
    this.needsScan = spec.time || spec.keys.length > 0;
    this.accessors = spec.keys.map((k) => createRecordAccessor(k));
  }

  /** Fluentd's calculate_timekey: aligned to the zone's midnight, not UTC's. */
  timekeyOf(sec: number): number {
    const tk = this.timekey!;
    const offset = this.zone.fixed ?? this.zone.offsetAt(sec);
    return sec - ((((sec + offset) % tk) + tk) % tk);
  }

  split(batch: EventBatch): Group[] {
    if (!this.needsScan) {
      const keys: ChunkKeys = { tag: batch.tag, vars: {} };
      return [{ keys, keyString: keyStringOf(keys), bytes: batch.bytes, count: batch.count }];
    }
    const b = batch.bytes;
    const starts: number[] = [];
    const scan = scanEntries(b, starts);
    if (scan.problem)
      // Inputs write whole entries: a malformed one is a bug (INTERNAL).
      throw withCode(
        new TypeError(
          `batch for tag '${batch.tag}' holds malformed msgpack entries (${scan.problem} at byte ${scan.validEnd})`,
        ),
        'INTERNAL',
      );
    const records = this.spec.keys.length > 0 ? batch.entries() : undefined;
    const groups = new Map<string, { keys: ChunkKeys; ranges: number[]; count: number }>();
    for (let i = 0; i < starts.length; i++) {
      const keys: ChunkKeys = { tag: batch.tag, vars: {} };
      if (this.spec.time) keys.time = this.timekeyOf(entrySeconds(b, starts[i]!));
      if (records) {
        const rec = records[i]!.record;
        for (const a of this.accessors) keys.vars[a.source] = stringify(a.get(rec));
      }
      const ks = keyStringOf(keys);
      let g = groups.get(ks);
      if (!g) {
        g = { keys, ranges: [], count: 0 };
        groups.set(ks, g);
      }
      const end = i + 1 < starts.length ? starts[i + 1]! : scan.validEnd;
      const last = g.ranges.length;
      // Adjacent entries of one group stay one range: the common case is one range.
      if (last > 0 && g.ranges[last - 1] === starts[i]) g.ranges[last - 1] = end;
      else g.ranges.push(starts[i]!, end);
      g.count++;
    }
    const out: Group[] = [];
    for (const [keyString, g] of groups) {
      const whole = g.ranges.length === 2 && g.ranges[0] === 0 && g.ranges[1] === b.length;
      let bytes: Buffer;
      if (whole) bytes = b;
      else {
        const parts: Buffer[] = [];
        for (let j = 0; j < g.ranges.length; j += 2) parts.push(b.subarray(g.ranges[j], g.ranges[j + 1]));
        bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      }
      out.push({ keys: g.keys, keyString, bytes, count: g.count, starts: whole ? starts : undefined });
    }
    return out;
  }
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
