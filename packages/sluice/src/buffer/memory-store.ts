import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BufferPool, MIN_POOLED } from '../core/buffer-pool.ts';
import type { ChunkKeys } from '../core/plugin.ts';
import { type ChunkStore, newStagedChunk, type StoredChunk } from './store.ts';

interface MemChunk extends StoredChunk {
  /** the chunk's bytes are data[0, len) */
  data: Buffer;
  len: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Chunks as one growable Buffer each. append() copies: keeping the batches' own bytes
 * (views into socket reads and frame buffers) would keep those larger buffers alive as
 * long as the chunk. The memory of delivered chunks is reused (see BufferPool), so a
 * steady stream allocates almost no chunk memory.
 */
export class MemoryStore implements ChunkStore {
  readonly kind = 'memory';
  readonly defaults = {
    chunkLimitSize: 8 * 1024 * 1024,
    totalLimitSize: 512 * 1024 * 1024,
    flushAtShutdown: true,
  };
  private readonly pool = new BufferPool(4);
  private limit = Number.MAX_SAFE_INTEGER;

  chunkLimit(bytes: number): void {
    this.limit = bytes;
  }

  async open(): Promise<StoredChunk[]> {
    return [];
  }

  create(keys: ChunkKeys, keyString: string): StoredChunk {
    const c: MemChunk = { ...newStagedChunk(keys, keyString), data: EMPTY, len: 0 };
    return c;
  }

  append(chunk: StoredChunk, data: Buffer): undefined {
    const c = chunk as MemChunk;
    const end = c.len + data.length;
    if (end > c.data.length) c.data = this.grow(c.data, c.len, end);
    data.copy(c.data, c.len);
    c.len = end;
    return undefined;
  }

  /**
   * Capacity doubles, so a chunk filled by many small appends is copied O(log n) times, but
   * never past chunk_limit_size: doubling past it made buffers that a chunk taking them from
   * the pool outgrew again, nearly every chunk in the agent (traced in bench/RESULTS.md,
   * "Issue 7, seventh pass"), while buffers of the limit's size fit every chunk.
   */
  private grow(old: Buffer, used: number, need: number): Buffer {
    const size = Math.max(need, Math.min(Math.max(old.length * 2, MIN_POOLED), this.limit));
    const next = this.pool.take(size) ?? Buffer.allocUnsafeSlow(size);
    old.copy(next, 0, 0, used);
    this.pool.give(old);
    return next;
  }

  markQueued(): undefined {
    return undefined;
  }

  async read(chunk: StoredChunk): Promise<Buffer> {
    const c = chunk as MemChunk;
    return c.data.subarray(0, c.len);
  }

  async purge(chunk: StoredChunk): Promise<void> {
    const c = chunk as MemChunk;
    // Every write() of the chunk has ended (see OutputPlugin.write), unless one timed out
    // and may still be sending these bytes: never reuse them then.
    if (!c.writeAbandoned) this.pool.give(c.data);
    c.data = EMPTY;
    c.len = 0;
  }

  async backup(chunk: StoredChunk, file: string): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await this.read(chunk));
  }

  async close(): Promise<void> {
    this.pool.clear();
  }
}
