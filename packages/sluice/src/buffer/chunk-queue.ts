// Where a buffered output's chunks are: staged (one per chunk-key string, filling up),
// queued (waiting for a write), or flushing (being written). Owns the byte accounting,
// cutting event groups at chunk limits, and the timers that make staged chunks due.

import { scanEntries } from '../codec/msgpack-scan.ts';
import { SluiceError } from '../core/errors.ts';
import type { PluginContext } from '../core/plugin.ts';
import type { Group } from './chunk-keys.ts';
import type { BufferCounters } from './metrics.ts';
import type { BufferConfig } from './params.ts';
import type { ChunkStore, StoredChunk } from './store.ts';

export interface LiveChunk extends StoredChunk {
  timer?: NodeJS.Timeout;
}

export class ChunkQueue {
  readonly staged = new Map<string, LiveChunk>();
  readonly queue: LiveChunk[] = [];
  readonly flushing = new Set<LiveChunk>();
  stagedBytes = 0;
  queuedBytes = 0;
  /** set at stop: timers no longer enqueue */
  private stopped = false;

  constructor(
    private readonly config: BufferConfig,
    private readonly store: ChunkStore,
    private readonly ctx: PluginContext,
    private readonly counters: BufferCounters,
    private readonly now: () => number,
    /** a chunk was queued: try to write it */
    private readonly onEnqueue: () => void,
  ) {}

  /** Bytes held, staged or queued (chunks being written count as queued until purged). */
  get bytes(): number {
    return this.stagedBytes + this.queuedBytes;
  }

  /** Chunks left by a previous run: a second one for a key (or a queued one) goes to the queue. */
  resume(chunks: StoredChunk[]): void {
    for (const c of chunks as LiveChunk[]) {
      if (c.state === 'queued' || this.staged.has(c.keyString)) {
        this.queuedBytes += c.bytes;
        c.state = 'queued';
        this.queue.push(c);
      } else {
        this.stagedBytes += c.bytes;
        this.staged.set(c.keyString, c);
        this.armTimer(c);
      }
    }
  }

  /**
   * Appends the groups of one batch. The accounting is done before the first await (so
   * space reserved by the caller can be released at once); resolves when the store has
   * the bytes.
   */
  async add(groups: Group[]): Promise<void> {
    const writes: Promise<void>[] = [];
    const touched: LiveChunk[] = [];
    for (const g of groups) this.append(g, writes, touched);
    if (writes.length > 0) {
      try {
        await Promise.all(writes);
      } catch (e) {
        throw new SluiceError(
          'BUFFER_STORE_FAILED',
          `output ${this.ctx.id}: buffer could not store the batch: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    if (this.config.flushMode === 'immediate') {
      for (const c of touched) if (this.isStaged(c)) this.enqueue(c);
    }
  }

  private isStaged(c: LiveChunk): boolean {
    return this.staged.get(c.keyString) === c;
  }

  private append(g: Group, writes: Promise<void>[], touched: LiveChunk[]): void {
    const cfg = this.config;
    let c = this.stagedFor(g);
    const limRec = cfg.chunkLimitRecords;
    if (
      c.bytes + g.bytes.length <= cfg.chunkLimitSize &&
      (limRec === undefined || c.count + g.count <= limRec)
    ) {
      this.put(c, g.bytes, g.count, writes, touched);
      return;
    }
    // Does not fit: cut the group at entry boundaries, filling chunks up to their limits.
    const starts = g.starts ?? [];
    if (!g.starts) scanEntries(g.bytes, starts);
    let from = 0;
    let n = 0;
    let size = 0;
    const flushPart = (to: number) => {
      if (n > 0) this.put(c, g.bytes.subarray(from, to), n, writes, touched);
      from = to;
      n = 0;
      size = 0;
    };
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i]!;
      const e = i + 1 < starts.length ? starts[i + 1]! : g.bytes.length;
      const len = e - s;
      if (len > cfg.chunkLimitSize) {
        flushPart(s);
        from = e;
        this.counters.dropCount++;
        this.ctx.logger.error(
          {
            code: 'BUFFER_RECORD_TOO_LARGE',
            output: this.ctx.id,
            tag: g.keys.tag,
            bytes: len,
            chunk_limit_size: cfg.chunkLimitSize,
          },
          'record larger than chunk_limit_size dropped',
        );
        continue;
      }
      if (c.bytes + size + len > cfg.chunkLimitSize || (limRec !== undefined && c.count + n + 1 > limRec)) {
        flushPart(s);
        if (c.count > 0 && this.isStaged(c)) this.enqueue(c);
        c = this.stagedFor(g);
      }
      size += len;
      n++;
    }
    flushPart(g.bytes.length);
  }

  private stagedFor(g: Group): LiveChunk {
    let c = this.staged.get(g.keyString);
    if (!c) {
      c = this.store.create(g.keys, g.keyString) as LiveChunk;
      this.staged.set(g.keyString, c);
      this.armTimer(c);
    }
    return c;
  }

  private put(
    c: LiveChunk,
    bytes: Buffer,
    count: number,
    writes: Promise<void>[],
    touched: LiveChunk[],
  ): void {
    c.bytes += bytes.length;
    c.count += count;
    this.stagedBytes += bytes.length;
    const w = this.store.append(c, bytes);
    if (w) {
      writes.push(
        w.catch((e: Error) => {
          // The store cut the file back: un-count what was not stored, and stop using the chunk.
          c.bytes -= bytes.length;
          c.count -= count;
          if (c.state === 'staged') this.stagedBytes -= bytes.length;
          else this.queuedBytes -= bytes.length;
          if (this.isStaged(c)) this.enqueue(c);
          throw e;
        }),
      );
    }
    if (!touched.includes(c)) touched.push(c);
    const cfg = this.config;
    const full =
      c.bytes >= cfg.chunkLimitSize * cfg.chunkFullThreshold ||
      (cfg.chunkLimitRecords !== undefined && c.count >= cfg.chunkLimitRecords * cfg.chunkFullThreshold);
    if (full && this.isStaged(c)) this.enqueue(c);
  }

  /** When a staged chunk becomes due: flush_interval after creation, or its timekey's end + timekey_wait. */
  private armTimer(c: LiveChunk): void {
    const cfg = this.config;
    let due: number | undefined;
    if (cfg.flushMode === 'interval') due = c.createdAt + cfg.flushInterval * 1000;
    if (cfg.flushMode !== 'immediate' && cfg.keys.time && c.keys.time !== undefined && cfg.timekey) {
      const t = (c.keys.time + cfg.timekey + cfg.timekeyWait) * 1000;
      due = due === undefined ? t : Math.min(due, t);
    }
    if (due === undefined) return;
    // setTimeout holds at most ~24.8 days; a later due time re-arms on expiry.
    const delay = Math.min(Math.max(0, due - this.now()), 2 ** 31 - 1);
    c.timer = setTimeout(() => {
      c.timer = undefined;
      if (!this.isStaged(c) || this.stopped) return;
      if (this.now() + 5 < due!) this.armTimer(c);
      else this.enqueue(c);
    }, delay);
    c.timer.unref();
  }

  /** Stops the staged chunks' timers for good (shutdown). */
  stopTimers(): void {
    this.stopped = true;
    for (const c of this.staged.values()) if (c.timer) clearTimeout(c.timer);
  }

  private unstage(c: LiveChunk): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    this.staged.delete(c.keyString);
    this.stagedBytes -= c.bytes;
  }

  enqueue(c: LiveChunk): void {
    this.unstage(c);
    c.state = 'queued';
    this.queuedBytes += c.bytes;
    this.queue.push(c);
    const p = this.store.markQueued(c);
    p?.catch((e: Error) =>
      this.ctx.logger.error(
        { code: 'BUFFER_IO_FAILED', output: this.ctx.id, chunk: c.id, err: e },
        'could not mark buffer chunk queued',
      ),
    );
    this.onEnqueue();
  }

  /** Enqueues the staged chunks that hold events of `tag` (all of them when tag is not a chunk key). */
  enqueueTag(tag: string): void {
    for (const c of [...this.staged.values()])
      if (c.count > 0 && (c.keys.tag === undefined || c.keys.tag === tag)) this.enqueue(c);
  }

  enqueueAll(): void {
    for (const c of [...this.staged.values()]) if (c.count > 0) this.enqueue(c);
  }

  /** Moves the next queued chunk to the writers. */
  take(): LiveChunk {
    const c = this.queue.shift()!;
    this.flushing.add(c);
    return c;
  }

  /** The write of a taken chunk ended, whatever its result. */
  finished(c: LiveChunk): void {
    this.flushing.delete(c);
  }

  /** A write failed: back to the head of the queue (order is kept across retries). */
  requeue(c: LiveChunk): void {
    this.queue.unshift(c);
  }

  /** A queued chunk is delivered, given up or dropped: its space is free. */
  release(c: LiveChunk): void {
    this.queuedBytes -= c.bytes;
  }

  /**
   * For drop_oldest_chunk: the head of the queue, else the oldest staged chunk (chunks being
   * written are never taken). Counted as queued until it is released.
   */
  takeOldest(): LiveChunk | undefined {
    const queued = this.queue.shift();
    if (queued) return queued;
    let oldest: LiveChunk | undefined;
    for (const c of this.staged.values()) if (!oldest || c.createdAt < oldest.createdAt) oldest = c;
    if (oldest) {
      this.unstage(oldest);
      this.queuedBytes += oldest.bytes;
    }
    return oldest;
  }

  get writing(): boolean {
    return this.flushing.size > 0;
  }

  /** Nothing queued or being written. */
  get empty(): boolean {
    return this.queue.length === 0 && this.flushing.size === 0;
  }

  /** Every chunk not delivered yet. */
  all(): LiveChunk[] {
    return [...this.queue, ...this.staged.values(), ...this.flushing];
  }

  oldestCreatedAt(): number | undefined {
    let oldest: number | undefined;
    for (const c of this.all()) if (oldest === undefined || c.createdAt < oldest) oldest = c.createdAt;
    return oldest;
  }
}
