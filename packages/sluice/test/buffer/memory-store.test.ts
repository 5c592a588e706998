import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/buffer/memory-store.ts';
import type { StoredChunk } from '../../src/buffer/store.ts';
import type { Chunk, WriteResult } from '../../src/core/plugin.ts';
import { batch, build, FakeOutput } from './helpers.ts';

const keys = { tag: 't', vars: {} };

function add(store: MemoryStore, c: StoredChunk, data: Buffer): void {
  c.bytes += data.length; // the engine counts before it appends
  store.append(c, data);
}

describe('memory buffer store', () => {
  it('copies appended bytes: the batch behind them can be reused at once', async () => {
    const store = new MemoryStore();
    const c = store.create(keys, 't');
    const src = Buffer.from('abc');
    add(store, c, src);
    src.fill(0x7a);
    add(store, c, Buffer.from('def'));
    assert.equal((await store.read(c)).toString(), 'abcdef');
  });

  it('keeps every byte across many appends as the chunk grows', async () => {
    const store = new MemoryStore();
    const c = store.create(keys, 't');
    const want: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const part = Buffer.from(`${i}:${'x'.repeat(i % 97)};`);
      want.push(part);
      add(store, c, part);
    }
    assert.deepEqual(await store.read(c), Buffer.concat(want));
  });

  it('reuses the memory of a purged chunk for the next one', async () => {
    const store = new MemoryStore();
    const a = store.create(keys, 't');
    add(store, a, Buffer.alloc(1000, 1));
    const memory = (await store.read(a)).buffer;
    await store.purge(a);
    const b = store.create(keys, 't');
    add(store, b, Buffer.alloc(10, 2));
    const read = await store.read(b);
    assert.equal(read.buffer, memory);
    assert.deepEqual(read, Buffer.alloc(10, 2));
    await store.close();
  });

  it('never reuses the memory of a chunk whose write() was abandoned', async () => {
    const store = new MemoryStore();
    const a = store.create(keys, 't');
    add(store, a, Buffer.alloc(1000, 1));
    const memory = (await store.read(a)).buffer;
    a.writeAbandoned = true;
    await store.purge(a);
    const b = store.create(keys, 't');
    add(store, b, Buffer.alloc(10, 2));
    assert.notEqual((await store.read(b)).buffer, memory);
    await store.close();
  });

  it('bytes handed to a write() that timed out are not overwritten by later chunks', async () => {
    // The first write hangs past delayed_commit_timeout and keeps its chunk's bytes (as a
    // socket write still in progress would); the retry and later chunks succeed.
    class Hanging extends FakeOutput {
      held: Buffer | undefined;
      heldCopy: Buffer | undefined;
      override async write(chunk: Chunk): Promise<WriteResult> {
        if (!this.held) {
          this.held = chunk.bytes;
          this.heldCopy = Buffer.from(chunk.bytes);
          this.attempts++;
          return new Promise(() => {});
        }
        return super.write(chunk);
      }
    }
    const out = new Hanging();
    const { bo } = await build(
      '<buffer>\nflush_mode immediate\ndelayed_commit_timeout 0.05\nretry_wait 0.01\n</buffer>',
      { output: out },
    );
    await bo.start();
    await bo.emit(batch('a', 50, 0, 1_700_000_000, 100));
    await out.waitFor(50);
    for (let i = 1; i <= 20; i++) await bo.emit(batch('a', 50, i * 50, 1_700_000_000, 100));
    await out.waitFor(21 * 50);
    assert.deepEqual(out.held, out.heldCopy);
    await bo.stop();
  });
});
