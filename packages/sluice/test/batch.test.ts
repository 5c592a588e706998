import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, EventTime, encode } from '@sluice/forward';
import { EventBatch } from '../src/core/batch.ts';
import { BatchBuilder } from '../src/core/batch-builder.ts';

test('EventTime round-trips through msgpack as ext type 0 with 8 bytes', () => {
  const t = new EventTime(1682675863, 291989606);
  const bytes = encode(t);
  assert.deepEqual([...bytes.subarray(0, 2)], [0xd7, 0x00]);
  assert.equal(bytes.readUInt32BE(2), 1682675863);
  assert.equal(bytes.readUInt32BE(6), 291989606);
  const back = decode(bytes) as EventTime;
  assert.ok(back instanceof EventTime);
  assert.ok(back.equals(t));
});

test('a batch built from raw record bytes decodes to the same entries', () => {
  const b = new BatchBuilder(16);
  for (let i = 0; i < 100; i++) b.addRaw(1000 + i, i, encode({ message: `line ${i}`, n: i }));
  const batch = b.take('app.log');
  assert.equal(batch.count, 100);
  const entries = batch.entries();
  assert.equal(entries.length, 100);
  assert.equal(entries[42]!.time.sec, 1042);
  assert.equal(entries[42]!.time.nsec, 42);
  assert.deepEqual(entries[42]!.record, { message: 'line 42', n: 42 });
  assert.equal(b.count, 0, 'take() resets the builder');
});

test('fromPacked counts entries of a PackedForward payload and rejects non-map records', () => {
  const good = Buffer.concat([encode([1, { a: 1 }]), encode([new EventTime(2, 5), { b: 2 }])]);
  const batch = EventBatch.fromPacked('t', good);
  assert.equal(batch.count, 2);
  assert.equal(batch.entries()[0]!.time.sec, 1);
  const bad = Buffer.concat([encode([1, 'not a map'])]);
  assert.throws(() => EventBatch.fromPacked('t', bad), /not a map/);
});

test('undefined values encode as nil, and records with more than 65,535 keys round-trip', () => {
  const bytes = encode({ a: undefined, b: 1 });
  assert.deepEqual(decode(bytes), { a: null, b: 1 });
  const big: Record<string, number> = {};
  for (let i = 0; i < 70_000; i++) big[`k${i}`] = i;
  const back = decode(encode(big)) as Record<string, number>;
  assert.equal(Object.keys(back).length, 70_000);
  assert.equal(back.k69999, 69999);
});

test('64-bit integers keep their precision through decode/encode and JSON output; bin renders as a string', async () => {
  const { recordJson } = await import('../src/codec/json.ts');
  const max = 18446744073709551615n;
  const rec = decode(
    encode({ big: max, neg: -9223372036854775808n, small: 42, bin: Buffer.from('héllo') }),
  ) as Record<string, unknown>;
  assert.equal(rec.big, max);
  assert.equal(rec.small, 42);
  assert.deepEqual(decode(encode(rec)), rec, 're-encoding keeps the exact value');
  assert.equal(
    recordJson(rec),
    '{"big":18446744073709551615,"neg":-9223372036854775808,"small":42,"bin":"héllo"}',
  );
  assert.equal(recordJson({ a: 1, s: 'x' }), '{"a":1,"s":"x"}');
});
