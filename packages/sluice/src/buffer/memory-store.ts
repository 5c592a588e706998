import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChunkKeys } from '../core/plugin.ts';
import { type ChunkStore, newChunkId, type StoredChunk } from './store.ts';

interface MemChunk extends StoredChunk {
  parts: Buffer[];
}

/** Chunks as lists of Buffers (the batches' own bytes: appending copies nothing). */
export class MemoryStore implements ChunkStore {
  readonly kind = 'memory';
  readonly defaults = {
    chunkLimitSize: 8 * 1024 * 1024,
    totalLimitSize: 512 * 1024 * 1024,
    flushAtShutdown: true,
  };

  async open(): Promise<StoredChunk[]> {
    return [];
  }

  create(keys: ChunkKeys, keyString: string): StoredChunk {
    const c: MemChunk = {
      id: newChunkId(),
      keys,
      keyString,
      createdAt: Date.now(),
      bytes: 0,
      count: 0,
      state: 'staged',
      parts: [],
    };
    return c;
  }

  append(chunk: StoredChunk, data: Buffer): undefined {
    (chunk as MemChunk).parts.push(data);
    return undefined;
  }

  markQueued(chunk: StoredChunk): undefined {
    const c = chunk as MemChunk;
    // One contiguous buffer per queued chunk: write() gets it as is, possibly many times.
    if (c.parts.length > 1) c.parts = [Buffer.concat(c.parts)];
    return undefined;
  }

  async read(chunk: StoredChunk): Promise<Buffer> {
    const c = chunk as MemChunk;
    return c.parts.length === 1 ? c.parts[0]! : Buffer.concat(c.parts);
  }

  async purge(chunk: StoredChunk): Promise<void> {
    (chunk as MemChunk).parts = [];
  }

  async backup(chunk: StoredChunk, file: string): Promise<void> {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await this.read(chunk));
  }

  async close(): Promise<void> {}
}
