import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, decodeMultiple, EventTime, packr } from '@sluice/forward';
import type { EventBatch } from '../../src/core/batch.ts';
import { BatchBuilder } from '../../src/core/batch-builder.ts';

function viaRecord(rec: Record<string, unknown>): { bytes: Buffer; value: unknown } {
  const w = new BatchBuilder(8); // tiny on purpose: every write has to grow the buffer
  w.record(rec);
  const bytes = Buffer.from(w.buf.subarray(0, w.len));
  return { bytes, value: decode(bytes) };
}

test('record(): parser records decode to the same values msgpackr gives, in the same key order', () => {
  const cases: Record<string, unknown>[] = [
    {},
    { host: '203.0.113.7', user: null, method: 'GET', path: '/a?b=c', code: 200, size: 5120 },
    {
      ints: 0,
      a: 127,
      b: 128,
      c: 255,
      d: 256,
      e: 65535,
      f: 65536,
      g: 4294967295,
      h: 4294967296,
      i: Number.MAX_SAFE_INTEGER,
      j: -1,
      k: -32,
      l: -33,
      m: -128,
      n: -129,
      o: -32768,
      p: -32769,
      q: -2147483648,
      r: -2147483649,
      s: Number.MIN_SAFE_INTEGER,
    },
    { f: 1.5, neg: -0.25, big: 2 ** 60, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, z: -0 },
    { t: true, f: false, u: undefined, n: null },
    { utf8: '日本語 é', emoji: '😀 ok' }, // lone surrogates: msgpackr writes invalid UTF-8, see below
    {
      s31: 'x'.repeat(31),
      s32: 'x'.repeat(32),
      j11: 'é'.repeat(11),
      s255: 'y'.repeat(255),
      s256: 'y'.repeat(256),
    },
    { s65535: 'z'.repeat(65535), s65536: 'z'.repeat(65536), wide: '日'.repeat(30000) },
    { nested: { a: [1, 'two', { three: 3 }] }, list: [1, 2, 3], bin: Buffer.from([1, 2, 3]) },
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  ];
  for (const rec of cases) {
    const { value } = viaRecord(rec);
    const expected = decode(packr.pack(rec));
    assert.deepEqual(value, expected, JSON.stringify(Object.keys(rec)));
    assert.deepEqual(Object.keys(value as object), Object.keys(expected as object));
  }
});

test('record(): lone surrogates become U+FFFD as Buffer#write makes them', () => {
  const { value } = viaRecord({ a: 'a\ud800b', b: `${'x'.repeat(70)}\udfff` });
  assert.deepEqual(value, { a: 'a\ufffdb', b: `${'x'.repeat(70)}\ufffd` });
});

test('record(): strings use the smallest str header (fixstr, str8, str16, str32)', () => {
  const header = (s: string) => viaRecord({ k: s }).bytes[3];
  assert.equal(header('x'.repeat(31)), 0xa0 | 31);
  assert.equal(header('x'.repeat(32)), 0xd9);
  assert.equal(header('é'.repeat(15)), 0xa0 | 30); // 15 chars, 30 bytes: still a fixstr
  assert.equal(header('é'.repeat(16)), 0xd9);
  assert.equal(header('x'.repeat(255)), 0xd9);
  assert.equal(header('x'.repeat(256)), 0xda);
  assert.equal(header('x'.repeat(65536)), 0xdb);
});

test('record() entries after beginEntry() form a batch msgpackr reads back', () => {
  const w = new BatchBuilder(4);
  for (let i = 0; i < 100; i++) {
    w.beginEntry(1795000000 + i, i);
    w.record({ i, s: `line ${i}` });
  }
  const entries = decodeMultiple(w.take('t').bytes) as [unknown, Record<string, unknown>][];
  assert.equal(entries.length, 100);
  assert.deepEqual(entries[42]![1], { i: 42, s: 'line 42' });
});

test('lend(): the batch keeps its bytes while the builder writes on; reclaim() gives its memory to a later batch', () => {
  const w = new BatchBuilder();
  const entry = (s: string) => w.add(new EventTime(1, 0), { message: s });
  const messages = (b: EventBatch) => b.entries().map((e) => e.record.message);
  entry('first');
  const lent = w.lend('t');
  assert.equal(lent.count, 1);
  entry('second');
  entry('third');
  assert.deepEqual(messages(lent), ['first'], 'the lent batch is not overwritten by later writes');
  // Given back: the builder goes on in the first batch's memory after the next lend.
  w.reclaim(lent);
  const next = w.lend('t');
  assert.notEqual(next.bytes.buffer, lent.bytes.buffer);
  entry('fourth');
  const after = w.lend('t');
  assert.equal(after.bytes.buffer, lent.bytes.buffer, 'the reclaimed memory is used again');
  assert.deepEqual(messages(next), ['second', 'third']);
  assert.deepEqual(messages(after), ['fourth']);
});

test("reclaim() keeps no memory the builder did not own whole (a slice of Node's shared pool)", () => {
  const w = new BatchBuilder(16); // small: allocated from Node's shared pool
  assert.notEqual(w.buf.length, w.buf.buffer.byteLength);
  w.add(new EventTime(1, 0), { message: 'x' });
  const lent = w.lend('t');
  w.reclaim(lent);
  w.add(new EventTime(1, 0), { message: 'y' });
  w.lend('t');
  // Had the builder taken the pool's whole memory as a spare, it would write over other slices.
  assert.notEqual(
    w.buf.length,
    w.buf.buffer.byteLength,
    'the builder did not take the shared pool as its own',
  );
});
