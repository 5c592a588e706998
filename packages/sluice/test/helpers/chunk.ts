// The chunk an output's write() receives from the buffer engine, built from records for the
// output tests that call write() directly (the one builder the output test helpers share).
import { EventTime } from '@sluice/forward';
import { newChunkId } from '../../src/buffer/store.ts';
import { EventBatch, type EventRecord } from '../../src/core/batch.ts';
import { expandPlaceholders } from '../../src/core/placeholders.ts';
import type { Chunk } from '../../src/core/plugin.ts';
import { UTC } from '../../src/time/time-zone.ts';

export interface ChunkOptions {
  /** Every event's time, or the i-th event's; 1700000000.123456789 unless given. */
  time?: EventTime | ((i: number) => EventTime);
  /** A fresh Sluice chunk id (32 hex digits) unless given. */
  id?: string;
  /** The chunk key `time` (a timekey); the chunk has no time key unless given. */
  timekey?: number;
  vars?: Record<string, string>;
}

/** A chunk keyed by `tag` (and `timekey`, `vars` when given); placeholders expand in UTC. */
export function chunkOf(tag: string, records: EventRecord[], opts: ChunkOptions = {}): Chunk {
  const { time } = opts;
  const fixed = time === undefined ? new EventTime(1700000000, 123456789) : time;
  const batch = EventBatch.fromEntries(
    tag,
    records.map((record, i) => ({ time: typeof fixed === 'function' ? fixed(i) : fixed, record })),
  );
  const vars = opts.vars ?? {};
  const keys = opts.timekey === undefined ? { tag, vars } : { tag, time: opts.timekey, vars };
  return {
    id: opts.id ?? newChunkId(),
    keys,
    bytes: batch.bytes,
    count: batch.count,
    entries: () => batch.entries(),
    expand: (t: string, esc?: (value: string) => string) =>
      expandPlaceholders(t, keys, { zone: UTC, escape: esc }),
  };
}
