import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/buffer/memory-store.ts';
import type { StoredChunk } from '../../src/buffer/store.ts';
import { pastAHangingWrite } from './helpers.ts';

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

  it('grows a chunk no larger than chunk_limit_size, and the next chunk reuses that memory without growing', async () => {
    const limit = 1024 * 1024;
    const store = new MemoryStore();
    store.chunkLimit(limit);
    const batch = Buffer.alloc(175_560, 3); // the agent's batch of 1,000 lines
    const fill = (c: StoredChunk) => {
      while (c.bytes + batch.length <= limit) add(store, c, batch);
    };
    const a = store.create(keys, 't');
    fill(a);
    const memory = (await store.read(a)).buffer;
    assert.ok(memory.byteLength <= limit, `chunk memory ${memory.byteLength} > limit ${limit}`);
    await store.purge(a);
    const b = store.create(keys, 't');
    fill(b);
    const read = await store.read(b);
    assert.equal(read.buffer, memory);
    assert.equal(read.length, 5 * batch.length);
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
    const out = await pastAHangingWrite('');
    assert.deepEqual(out.held, out.heldCopy);
  });
});
