// The file buffer. Per chunk one file, `buffer.<b|q><id>.log` (or the name pattern of a
// Fluentd-style `path .../app.*.log`, the `*` standing for `<b|q><id>`): a msgpack map holding the
// chunk keys and creation time (the header), then the concatenated msgpack [time, record]
// entries, appended and never rewritten. The header goes out with the first append, in the
// same write. The state letter (b = staged, q = queued) is in the name, changed by rename.
// The file is the truth for count and size: on start it is scanned, and a torn last entry
// cut off.
//
// Earlier builds kept the keys in a second file, `<name>.meta` (JSON). Creating, renaming
// and deleting it was a noticeable share of sluice agent's CPU in file_to_tcp (measured in
// bench/RESULTS.md, "Issue 7, seventh pass" and "eighth pass"); chunks written that way are
// still resumed (head 0, `v1Meta`), so an upgrade loses nothing.
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { packr, unpackr } from '@sluice/forward';
import type { Logger } from 'pino';
import { INCOMPLETE, INVALID, scanEntries, skipValue } from '../codec/msgpack-scan.ts';
import { BufferPool, MIN_POOLED } from '../core/buffer-pool.ts';
import { SluiceError } from '../core/errors.ts';
import type { ChunkKeys } from '../core/plugin.ts';
import { ChunkIo } from './chunk-io.ts';
import { acquireLock } from './lock.ts';
import { type ChunkStore, keyStringOf, newStagedChunk, type StoredChunk } from './store.ts';

interface FileChunk extends StoredChunk {
  /**
   * The state in the file names. `state` changes synchronously when the engine enqueues;
   * the files are renamed later, in this chunk's op chain, so ops must use this one.
   */
  onDisk: 'staged' | 'queued';
  /** length of the header before the entries (0 for a chunk with a .meta file) */
  head: number;
  /** the header, until the first append has written it */
  unwrittenHead?: Buffer;
  /** a chunk written before headers: its keys are in `<data file>.meta` */
  v1Meta?: boolean;
  /** entry bytes known to be in the data file, after the header */
  durable: number;
  /**
   * The data file's descriptor, open for appending and reading back: it stays open from
   * creation to purge (a rename does not affect an open descriptor), which saves the open,
   * stat and close of reading the file by name for delivery.
   */
  fd?: number;
  /** what read() gave out, until readDone() */
  readBuf?: Buffer;
  /** serialises this chunk's file operations */
  chain: Promise<void>;
  pending: Buffer[];
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
  drainQueued: boolean;
  /** an append failed: the file was cut back; further appends are refused */
  broken?: Error;
}

/** Read buffers up to this size are reused. */
const MAX_POOLED_READ = 16 * 1024 * 1024;

/** Chunk file names: `<prefix><b|q><id><suffix>`. */
export interface ChunkNames {
  prefix: string;
  suffix: string;
}
const DEFAULT_NAMES: ChunkNames = { prefix: 'buffer.', suffix: '.log' };

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
/** The header's format mark; its other fields are `created` (ms) and `keys`. */
const HEADER_MARK = 'sluice_chunk';
const HEADER_VERSION = 2;

interface ChunkHeader {
  created: number;
  keys: ChunkKeys;
}

export interface FileStoreOptions {
  dir: string;
  logger: Logger;
  /** fdatasync after each append (durable across power loss, slower) */
  fsync: boolean;
  /** what counts as a slow file operation (see ChunkIo); tests set 0 */
  slowOpMs?: number;
  /**
   * Chunk file names (default `buffer.*.log`). Stores with different prefixes may share a
   * directory, as Fluentd's `path /var/log/app.*.log` buffers of several outputs do.
   */
  names?: ChunkNames;
}

export class FileStore implements ChunkStore {
  readonly kind = 'file';
  readonly defaults = {
    chunkLimitSize: 256 * 1024 * 1024,
    totalLimitSize: 64 * 1024 ** 3,
    flushAtShutdown: false,
  };
  private release: (() => Promise<void>) | undefined;
  private readonly live = new Set<FileChunk>();
  /** memory for reading chunks back, reused from delivered chunks (as the memory store does) */
  private readonly pool = new BufferPool(2);

  private readonly io: ChunkIo;
  private readonly names: ChunkNames;
  private readonly nameRe: RegExp;

  constructor(private readonly o: FileStoreOptions) {
    this.io = new ChunkIo(o.dir, o.logger, o.slowOpMs);
    this.names = o.names ?? DEFAULT_NAMES;
    this.nameRe = new RegExp(
      `^${escapeRe(this.names.prefix)}([bq])([0-9a-f]{32})${escapeRe(this.names.suffix)}$`,
    );
  }

  private fileName(letter: 'b' | 'q', id: string): string {
    return `${this.names.prefix}${letter}${id}${this.names.suffix}`;
  }

  /** Whether chunk file operations run synchronously (see ChunkIo). */
  get synchronousIo(): boolean {
    return this.io.synchronous;
  }

  private path(c: FileChunk, state = c.onDisk): string {
    return join(this.o.dir, this.fileName(state === 'staged' ? 'b' : 'q', c.id));
  }

  async open(): Promise<StoredChunk[]> {
    await mkdir(this.o.dir, { recursive: true });
    this.release = await acquireLock(this.o.dir, this.o.names ? `${this.names.prefix}lock` : undefined);
    try {
      return await this.resume();
    } catch (e) {
      // A directory we cannot even list is an operator problem; anything about single
      // chunks is handled inside resume(). Either way the lock must not leak.
      await this.close();
      throw e;
    }
  }

  private async resume(): Promise<StoredChunk[]> {
    const names = await readdir(this.o.dir);
    // Only this store's: other outputs' chunks may share the directory.
    const metas = new Set(names.filter((n) => n.endsWith('.meta') && this.nameRe.test(n.slice(0, -5))));
    const out: FileChunk[] = [];
    // Oldest first: ids start with the creation time, after the prefix and the state letter.
    const at = this.names.prefix.length + 1;
    for (const name of names.sort((a, b) => a.slice(at).localeCompare(b.slice(at)))) {
      const m = this.nameRe.exec(name);
      if (!m) continue;
      const id = m[2]!;
      const state = m[1] === 'b' ? 'staged' : 'queued';
      const file = join(this.o.dir, name);
      const staged = `${this.fileName('b', id)}.meta`;
      const queued = `${this.fileName('q', id)}.meta`;
      const metaName = metas.has(staged) ? staged : metas.has(queued) ? queued : undefined;
      metas.delete(staged);
      metas.delete(queued);
      try {
        const c = await this.resumeOne(id, state, file, metaName);
        if (c) out.push(c);
      } catch (e) {
        await this.moveAside(id, [name, metaName], `cannot be resumed: ${(e as Error).message}`);
      }
    }
    // Meta files without data: the process died between creating a chunk and its first
    // append. Nothing was accepted into them.
    for (const meta of metas) await rm(join(this.o.dir, meta), { force: true });
    return out;
  }

  private async resumeOne(
    id: string,
    state: 'staged' | 'queued',
    file: string,
    metaName: string | undefined,
  ): Promise<FileChunk | undefined> {
    const data = await readFile(file);
    let header: ChunkHeader;
    let head = 0;
    if (metaName) header = await this.readV1Meta(metaName);
    else {
      const h = readHeader(data);
      if (h === undefined) {
        // Empty, or its first write cut short: nothing was accepted into it.
        await rm(file, { force: true });
        return undefined;
      }
      ({ header, head } = h);
    }
    const entries = data.subarray(head);
    const scan = scanEntries(entries);
    if (scan.problem) {
      const rest = entries.subarray(scan.validEnd);
      const zeros = rest.every((b) => b === 0);
      if (scan.problem === 'torn' || zeros) {
        this.o.logger.warn(
          { code: 'BUFFER_CHUNK_TORN', chunk: id, file, kept: scan.count, cutBytes: rest.length },
          'buffer chunk had a torn last entry (the process stopped mid-write); cut back to the last whole entry',
        );
      } else {
        await mkdir(join(this.o.dir, 'corrupt'), { recursive: true });
        await writeFile(join(this.o.dir, 'corrupt', `${this.names.prefix}${id}${this.names.suffix}`), data);
        this.o.logger.error(
          {
            code: 'BUFFER_CHUNK_CORRUPT',
            chunk: id,
            file,
            kept: scan.count,
            badBytes: rest.length,
            copy: join(this.o.dir, 'corrupt'),
          },
          'buffer chunk has bytes that are not msgpack entries; kept the entries before them, the original file was copied aside',
        );
      }
      await truncate(file, head + scan.validEnd);
    }
    if (scan.count === 0) {
      await rm(file, { force: true });
      if (metaName) await rm(join(this.o.dir, metaName), { force: true });
      return undefined;
    }
    if (metaName) {
      // Keep the meta name in step with the data file's state.
      const wantMeta = `${file.slice(this.o.dir.length + 1)}.meta`;
      if (metaName !== wantMeta) await rename(join(this.o.dir, metaName), join(this.o.dir, wantMeta));
    }
    const c: FileChunk = {
      id,
      keys: header.keys,
      keyString: keyStringOf(header.keys),
      createdAt: header.created,
      bytes: scan.validEnd,
      count: scan.count,
      state,
      onDisk: state,
      head,
      v1Meta: metaName !== undefined,
      durable: scan.validEnd,
      chain: Promise.resolve(),
      pending: [],
      waiters: [],
      drainQueued: false,
    };
    this.live.add(c);
    return c;
  }

  /** The keys of a chunk written before headers, from its JSON .meta file. */
  private async readV1Meta(metaName: string): Promise<ChunkHeader> {
    const meta = JSON.parse(await readFile(join(this.o.dir, metaName), 'utf8')) as {
      v: number;
      created: number;
      keys: ChunkKeys;
    };
    if (meta.v !== 1 || typeof meta.keys !== 'object' || meta.keys === null)
      throw new SluiceError('BUFFER_CHUNK_CORRUPT', `unknown meta format in ${metaName}`);
    meta.keys.vars ??= {};
    return { created: meta.created, keys: meta.keys };
  }

  private async moveAside(id: string, names: (string | undefined)[], why: string): Promise<void> {
    const dest = join(this.o.dir, 'corrupt');
    try {
      await mkdir(dest, { recursive: true });
      for (const n of names) if (n) await rename(join(this.o.dir, n), join(dest, n));
      this.o.logger.error(
        { code: 'BUFFER_CHUNK_CORRUPT', chunk: id, movedTo: dest },
        `buffer chunk ${why}; moved aside`,
      );
    } catch (e) {
      this.o.logger.error(
        { code: 'BUFFER_IO_FAILED', chunk: id, err: e },
        `buffer chunk ${why}; could not move it aside either, ignoring it`,
      );
    }
  }

  create(keys: ChunkKeys, keyString: string): StoredChunk {
    const c: FileChunk = {
      ...newStagedChunk(keys, keyString),
      onDisk: 'staged',
      head: 0,
      durable: 0,
      chain: Promise.resolve(),
      pending: [],
      waiters: [],
      drainQueued: false,
    };
    // Copied: msgpackr's result shares memory with its later results.
    c.unwrittenHead = Buffer.from(packr.pack({ [HEADER_MARK]: HEADER_VERSION, created: c.createdAt, keys }));
    c.head = c.unwrittenHead.length;
    this.live.add(c);
    this.run(c, async () => {
      c.fd = await this.io.open(this.path(c));
    });
    return c;
  }

  private async closeFd(c: FileChunk): Promise<void> {
    const fd = c.fd;
    c.fd = undefined;
    if (fd !== undefined) await this.io.close(fd);
  }

  private run(c: FileChunk, op: () => Promise<void>): Promise<void> {
    const p = c.chain.then(op);
    // The chain itself never rejects, so one failed op does not poison later ones.
    c.chain = p.catch(() => {});
    return p;
  }

  append(chunk: StoredChunk, data: Buffer): Promise<void> {
    const c = chunk as FileChunk;
    if (c.broken) return Promise.reject(c.broken);
    return new Promise<void>((resolve, reject) => {
      c.pending.push(data);
      c.waiters.push({ resolve, reject });
      if (!c.drainQueued) {
        c.drainQueued = true;
        void this.run(c, () => this.drain(c));
      }
    });
  }

  /** Group commit: everything appended since the last write goes out in one writev. */
  private async drain(c: FileChunk): Promise<void> {
    c.drainQueued = false;
    const bufs = c.pending;
    const waiters = c.waiters;
    c.pending = [];
    c.waiters = [];
    if (bufs.length === 0) return;
    try {
      if (c.broken) throw c.broken;
      // Resumed staged chunks are opened on their first new append.
      c.fd ??= await this.io.open(this.path(c));
      // The header goes out with the first entries: no write of its own.
      const head = c.unwrittenHead;
      if (head) bufs.unshift(head);
      const at = head ? 0 : c.head + c.durable;
      let total = 0;
      for (const b of bufs) total += b.length;
      let written = 0;
      let rest = bufs;
      while (written < total) {
        written += await this.io.writev(c.fd, rest, at + written, total - written);
        if (written < total) rest = remaining(bufs, written);
      }
      if (this.o.fsync) await this.io.datasync(c.fd);
      c.unwrittenHead = undefined;
      c.durable += total - (head?.length ?? 0);
      for (const w of waiters) w.resolve();
    } catch (e) {
      const err = e as Error;
      c.broken ??= err;
      // Cut a partial write back so the file stays a sequence of whole entries.
      if (c.fd !== undefined)
        await this.io.truncate(c.fd, c.unwrittenHead ? 0 : c.head + c.durable).catch(() => {});
      for (const w of waiters) w.reject(err);
    }
  }

  markQueued(chunk: StoredChunk): Promise<void> {
    const c = chunk as FileChunk;
    return this.run(c, async () => {
      const from = this.path(c, 'staged');
      const to = this.path(c, 'queued');
      await this.io.rename(from, to);
      if (c.v1Meta) await this.io.rename(`${from}.meta`, `${to}.meta`);
      c.onDisk = 'queued';
    });
  }

  /**
   * The chunk's bytes as written (`durable`: a failed append may have been counted into
   * `bytes`, the file is what gets delivered), read through the chunk's descriptor into
   * reused memory. A retry reads the file again: what is delivered is always what is on disk.
   */
  read(chunk: StoredChunk): Promise<Buffer> {
    const c = chunk as FileChunk;
    let data: Buffer | undefined;
    return this.run(c, async () => {
      // Resumed chunks are opened on their first read.
      c.fd ??= await this.io.open(this.path(c));
      const size = c.durable;
      // A new buffer each time unless the last one was handed back: the bytes of an
      // abandoned write() may still be being sent.
      const buf = this.pool.take(size) ?? Buffer.allocUnsafeSlow(Math.max(size, MIN_POOLED));
      c.readBuf = buf;
      let got = 0;
      while (got < size) {
        const n = await this.io.read(c.fd, buf, got, size - got, c.head + got);
        if (n === 0)
          throw new SluiceError(
            'BUFFER_IO_FAILED',
            `buffer chunk file ${this.path(c)} is shorter than its ${size} bytes`,
          );
        got += n;
      }
      data = buf.subarray(0, size);
    }).then(() => data!);
  }

  purge(chunk: StoredChunk): Promise<void> {
    const c = chunk as FileChunk;
    this.live.delete(c);
    return this.run(c, async () => {
      await this.closeFd(c);
      await this.io.unlinkIfThere(this.path(c));
      if (c.v1Meta) await this.io.unlinkIfThere(`${this.path(c)}.meta`);
    });
  }

  readDone(chunk: StoredChunk): void {
    const c = chunk as FileChunk;
    // Small enough to keep: a steady stream reuses the same memory, while one huge
    // chunk (file chunks may be 256 MiB) is not held after its delivery.
    if (c.readBuf !== undefined && c.readBuf.length <= MAX_POOLED_READ) this.pool.give(c.readBuf);
    c.readBuf = undefined;
  }

  backup(chunk: StoredChunk, file: string): Promise<void> {
    const c = chunk as FileChunk;
    return this.run(c, async () => {
      await mkdir(dirname(file), { recursive: true });
      // The entries only: a backup is a plain msgpack stream of [time, record].
      if (c.head === 0) await copyFile(this.path(c), file);
      else {
        const all = await readFile(this.path(c));
        await writeFile(file, all.subarray(c.head, c.head + c.durable));
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.live) {
      await this.run(c, () => this.closeFd(c));
    }
    this.live.clear();
    this.pool.clear();
    const r = this.release;
    this.release = undefined;
    await r?.();
  }

  /** For tests and metrics: the directory holding the chunk files. */
  get dir(): string {
    return this.o.dir;
  }

  static async exists(path: string): Promise<boolean> {
    return stat(path).then(
      () => true,
      () => false,
    );
  }
}

function remaining(bufs: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/**
 * The header at the start of a chunk file; undefined when the file is empty or its header
 * is cut short (the first write never completed); throws when the file does not start with one.
 */
function readHeader(data: Buffer): { header: ChunkHeader; head: number } | undefined {
  if (data.length === 0) return undefined;
  const first = data[0]!;
  const isMap = (first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf;
  if (!isMap) throw new SluiceError('BUFFER_CHUNK_CORRUPT', 'it has no chunk header and no .meta file');
  const head = skipValue(data, 0);
  if (head === INCOMPLETE) return undefined;
  if (head === INVALID)
    throw new SluiceError('BUFFER_CHUNK_CORRUPT', 'its chunk header is not valid msgpack');
  const h = unpackr.unpack(data.subarray(0, head)) as Record<string, unknown>;
  const keys = h.keys as ChunkKeys | undefined;
  if (
    h[HEADER_MARK] !== HEADER_VERSION ||
    typeof h.created !== 'number' ||
    typeof keys !== 'object' ||
    keys === null
  )
    throw new SluiceError('BUFFER_CHUNK_CORRUPT', `unknown chunk header ${JSON.stringify(h)}`);
  keys.vars ??= {};
  return { header: { created: h.created, keys }, head };
}
