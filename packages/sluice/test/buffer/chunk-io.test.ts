import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import pino from 'pino';
import { SYNC_DATA_MAX } from '../../src/buffer/chunk-io.ts';
import { FileStore } from '../../src/buffer/file-store.ts';
import { tempDir } from './helpers.ts';

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** chunk files (not the lock) */
async function chunkFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^buffer\.[bq]/.test(n));
}

/** A chunk's whole life in the store: create, two appends, queue, read back, purge. */
async function lifecycle(store: FileStore, dir: string): Promise<Buffer> {
  const c = store.create({ tag: 't', vars: {} }, 't');
  const a = Buffer.from([0x92, 0x01, 0x80]); // [1, {}]
  const b = Buffer.from([0x92, 0x02, 0x80]);
  for (const d of [a, b]) {
    c.bytes += d.length;
    c.count++;
    await store.append(c, d);
  }
  c.state = 'queued';
  await store.markQueued(c);
  assert.deepEqual(
    (await chunkFiles(dir)).map((n) => n[7]),
    ['q'],
  );
  const bytes = Buffer.from(await store.read(c));
  store.readDone(c);
  await store.purge(c);
  assert.deepEqual(await chunkFiles(dir), []);
  return bytes;
}

describe('file buffer chunk file operations', () => {
  it('run synchronously on a fast disk', async () => {
    const { dir, cleanup } = await tempDir();
    const { logger, lines } = logCapture();
    const store = new FileStore({ dir, logger, fsync: false });
    try {
      await store.open();
      for (let i = 0; i < 5; i++)
        assert.deepEqual(await lifecycle(store, dir), Buffer.from([0x92, 1, 0x80, 0x92, 2, 0x80]));
      assert.equal(store.synchronousIo, true);
      assert.equal(lines.length, 0);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('move off the event loop after slow operations, with a warning, and go on working', async () => {
    const { dir, cleanup } = await tempDir();
    const { logger, lines } = logCapture();
    // Every operation counts as slow: the store switches after the third.
    const store = new FileStore({ dir, logger, fsync: false, slowOpMs: 0 });
    try {
      await store.open();
      for (let i = 0; i < 5; i++)
        assert.deepEqual(await lifecycle(store, dir), Buffer.from([0x92, 1, 0x80, 0x92, 2, 0x80]));
      assert.equal(store.synchronousIo, false);
      const warned = lines.filter((l) => String(l.msg).includes('file operations took over'));
      assert.equal(warned.length, 1);
      assert.equal(warned[0]!.path, dir);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('keeps small and large appends in order, and reads a chunk larger than the synchronous limit whole', async () => {
    const { dir, cleanup } = await tempDir();
    const store = new FileStore({ dir, logger: pino({ level: 'silent' }), fsync: false });
    try {
      await store.open();
      const c = store.create({ tag: 't', vars: {} }, 't');
      // bin32 entries of distinct fill bytes: small ones go synchronously, the large one
      // (over SYNC_DATA_MAX) through the thread pool, all into the same file.
      const entry = (len: number, fill: number) => {
        const b = Buffer.alloc(5 + len, fill);
        b[0] = 0xc6;
        b.writeUInt32BE(len, 1);
        return b;
      };
      const parts = [entry(1000, 1), entry(SYNC_DATA_MAX + 1024, 2), entry(2000, 3)];
      for (const d of parts) {
        c.bytes += d.length;
        c.count++;
        await store.append(c, d);
      }
      const back = Buffer.from(await store.read(c));
      store.readDone(c);
      assert.equal(back.length, c.bytes);
      assert.ok(back.equals(Buffer.concat(parts)));
      assert.equal(store.synchronousIo, true);
      await store.purge(c);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('reports a failed operation as an error of the chunk, in either mode', async () => {
    for (const slowOpMs of [undefined, 0]) {
      const { dir, cleanup } = await tempDir();
      const store = new FileStore({ dir, logger: pino({ level: 'silent' }), fsync: false, slowOpMs });
      try {
        await store.open();
        const c = store.create({ tag: 't', vars: {} }, 't');
        await store.append(c, Buffer.from([0x92, 1, 0x80]));
        await cleanup(); // the directory is gone: the rename cannot happen
        await assert.rejects(Promise.resolve(store.markQueued(c)), /ENOENT/);
      } finally {
        await store.close();
        await cleanup();
      }
    }
  });
});
