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
