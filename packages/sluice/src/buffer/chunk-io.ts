// File operations of the file buffer's chunks.
//
// Metadata operations (open, close, rename, unlink) run synchronously while they are fast.
// On a local disk each costs a fraction of a round trip through libuv's thread pool, and at
// about ten per chunk the round trips were a large share of the agent's CPU in file_to_tcp
// (bench/buffer/fs-ops.ts; measured in bench/RESULTS.md, "Issue 7, fourth pass"). The same
// trade the tail makes for its reads, and Fluent Bit makes for its filesystem storage.
//
// A directory on a slow filesystem (NFS, an overloaded disk) must not stall the event loop:
// after a few slow operations the store goes through the thread pool for good, and says so.
// Appends and reads of up to SYNC_DATA_MAX bytes run synchronously under the same watch: on
// a CPU-bound machine a thread-pool round trip per batch cost more than the copy itself
// (bench/RESULTS.md, "Issue 7, sixth pass"). Larger data and fsync always go
// through the thread pool: a large write can wait on the kernel's dirty-page throttling.
import {
  close,
  closeSync,
  fdatasync,
  ftruncate,
  open,
  openSync,
  read,
  readSync,
  rename,
  renameSync,
  unlink,
  unlinkSync,
  writev,
  writevSync,
} from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/**
 * An operation slower than this counts as slow (ms). Above a scheduler time slice: on a
 * CPU-bound machine a thread preempted during a fast operation can wait a few ms (5 ms, the
 * first choice, flipped busy file_to_tcp runs to the thread pool: bench/RESULTS.md, "Issue 7,
 * sixth pass"), while a filesystem that should not be on the event loop takes tens of ms.
 */
export const SLOW_OP_MS = 20;
/**
 * Appends and reads back up to this size run synchronously too, while the store is fast: a
 * tail batch or a flushed chunk is a copy to or from the page cache, cheaper on the loop than
 * the thread pool round trip. Larger ones (file chunks may be 256 MiB) always go through the
 * thread pool.
 */
export const SYNC_DATA_MAX = 4 * 1024 * 1024;
/** This many slow operations switch a store to the thread pool. */
const SLOW_LIMIT = 3;

type Cb<T> = (err: NodeJS.ErrnoException | null, v: T) => void;

/** A callback-style fs call as a promise (cheaper than fs/promises' FileHandle machinery). */
function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export class ChunkIo {
  private sync = true;
  private slow = 0;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly slowMs = SLOW_OP_MS,
  ) {}

  /** Whether operations still run synchronously (for tests and logs). */
  get synchronous(): boolean {
    return this.sync;
  }

  /** Opens a chunk file for appending and reading back (created if missing). */
  open(path: string): Promise<number> {
    if (this.sync) return this.timed('open', () => openSync(path, 'a+'));
    return call<number>((cb) => open(path, 'a+', cb));
  }

  close(fd: number): Promise<void> {
    if (this.sync) return this.timed('close', () => closeSync(fd));
    return call<void>((cb) => close(fd, (e) => cb(e, undefined)));
  }

  rename(from: string, to: string): Promise<void> {
    if (this.sync) return this.timed('rename', () => renameSync(from, to));
    return call<void>((cb) => rename(from, to, (e) => cb(e, undefined)));
  }

  /** Removes a file; one already gone is fine. */
  async unlinkIfThere(path: string): Promise<void> {
    try {
      if (this.sync) await this.timed('unlink', () => unlinkSync(path));
      else await call<void>((cb) => unlink(path, (e) => cb(e, undefined)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /** Appends `bufs` (`total` bytes together) at `position`. */
  writev(fd: number, bufs: Buffer[], position: number, total: number): Promise<number> {
    if (this.sync && total <= SYNC_DATA_MAX)
      return this.timed('append', () => writevSync(fd, bufs, position));
    return call<number>((cb) => writev(fd, bufs, position, cb));
  }

  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (this.sync && length <= SYNC_DATA_MAX)
      return this.timed('read', () => readSync(fd, buf, offset, length, position));
    return call<number>((cb) => read(fd, buf, offset, length, position, cb));
  }

  datasync(fd: number): Promise<void> {
    return call<void>((cb) => fdatasync(fd, (e) => cb(e, undefined)));
  }

  truncate(fd: number, length: number): Promise<void> {
    return call<void>((cb) => ftruncate(fd, length, (e) => cb(e, undefined)));
  }

  /** Runs a synchronous operation as a promise (errors reject) and watches how long it took. */
  private timed<T>(what: string, op: () => T): Promise<T> {
    const t0 = performance.now();
    let v: T;
    try {
      v = op();
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.took(what, performance.now() - t0);
    }
    return Promise.resolve(v);
  }

  private took(what: string, ms: number): void {
    if (ms < this.slowMs || !this.sync) return;
    if (++this.slow < SLOW_LIMIT) return;
    this.sync = false;
    this.logger.warn(
      { code: 'BUFFER_SLOW_FS', path: this.dir, operation: what, ms: Math.round(ms) },
      `file buffer: ${SLOW_LIMIT} file operations took over ${this.slowMs} ms (a network or overloaded filesystem?); ` +
        'its chunk files are now handled off the event loop, which costs more CPU per chunk',
    );
  }
}
