// What the buffer engine needs from a backend (memory or file). The engine owns the
// accounting (bytes, count, state); a store owns where the bytes live.
import { randomBytes } from 'node:crypto';
import type { ChunkKeys } from '../core/plugin.ts';
import type { BackendDefaults } from './params.ts';

export interface StoredChunk {
  readonly id: string;
  readonly keys: ChunkKeys;
  /** chunk keys folded into one string: chunks with equal keyString share a stage */
  readonly keyString: string;
  /** ms since the epoch */
  readonly createdAt: number;
  bytes: number;
  count: number;
  state: 'staged' | 'queued';
  /** a write() of this chunk timed out and may still be reading its bytes */
  writeAbandoned?: boolean;
}

export interface ChunkStore {
  readonly kind: string;
  readonly defaults: BackendDefaults;
  /** Takes ownership of the storage (file: lock) and returns chunks left by a previous run. */
  open(): Promise<StoredChunk[]>;
  create(keys: ChunkKeys, keyString: string): StoredChunk;
  /**
   * The output's chunk_limit_size, told once the buffer's parameters are resolved: no chunk
   * will hold more (a store that grows chunk memory stops there).
   */
  chunkLimit?(bytes: number): void;
  /** Resolves once the bytes are stored (file: written to the chunk file). */
  append(chunk: StoredChunk, data: Buffer): Promise<void> | undefined;
  /** Records the staged -> queued transition (file: renames b -> q). */
  markQueued(chunk: StoredChunk): Promise<void> | undefined;
  read(chunk: StoredChunk): Promise<Buffer>;
  /**
   * The bytes read() gave are no longer used (the write() they went to has settled), so a
   * store may reuse their memory. Not called after a write() that was abandoned.
   */
  readDone?(chunk: StoredChunk): void;
  purge(chunk: StoredChunk): Promise<void>;
  /** Copies the chunk's bytes to `file` (for chunks that cannot be delivered). */
  backup(chunk: StoredChunk, file: string): Promise<void>;
  close(): Promise<void>;
}

/** The fields of a new, empty staged chunk (a store adds its own). */
export function newStagedChunk(keys: ChunkKeys, keyString: string): StoredChunk {
  return { id: newChunkId(), keys, keyString, createdAt: Date.now(), bytes: 0, count: 0, state: 'staged' };
}

/** Where undeliverable chunks go when no <system> root_dir is set. */
export function defaultRootDir(): string {
  return `${process.env.TMPDIR ?? '/tmp'}/sluice`;
}

export function keyStringOf(keys: ChunkKeys): string {
  let s = `${keys.tag ?? ''}\u0000${keys.time ?? ''}`;
  for (const k in keys.vars) s += `\u0000${keys.vars[k]}`;
  return s;
}

let lastMs = 0;
let seq = 0;
/**
 * 32 hex digits like Fluentd's unique ids, time-ordered (ms + sequence first) so a
 * directory listing sorts chunks by creation.
 */
export function newChunkId(now = Date.now()): string {
  if (now === lastMs) seq++;
  else {
    lastMs = now;
    seq = 0;
  }
  return (
    now.toString(16).padStart(12, '0') +
    (seq & 0xffff).toString(16).padStart(4, '0') +
    randomBytes(8).toString('hex')
  );
}
