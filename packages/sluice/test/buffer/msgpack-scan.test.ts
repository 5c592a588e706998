import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import { entrySeconds, INCOMPLETE, scanEntries, skipValue } from '../../src/buffer/msgpack-scan.ts';
import { EventBatch } from '../../src/core/batch.ts';

describe('msgpack scanning', () => {
  const values: unknown[] = [
    0,
    -1,
    127,
    300,
    -40000,
    2 ** 40,
    1.5,
    'x',
    'y'.repeat(300),
    'z'.repeat(70000),
    null,
    true,
    false,
    [1, [2, [3]]],
    { a: { b: [1, 2, { c: 'd' }] } },
    Buffer.alloc(300),
    new Array(20).fill(1),
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  ];
  it('skips every kind of value exactly', () => {
    for (const v of values) {
      const b = encode(v);
      assert.equal(skipValue(b, 0), b.length, JSON.stringify(v)?.slice(0, 40));
      for (let cut = 0; cut < b.length; cut += Math.max(1, Math.floor(b.length / 17))) {
        assert.equal(skipValue(b.subarray(0, cut), 0), INCOMPLETE);
      }
    }
  });

  it('finds entry boundaries, and reports a torn tail', () => {
    const batch = EventBatch.fromEntries('t', [
      { time: new EventTime(100, 1), record: { a: 1 } },
      { time: new EventTime(200, 2), record: { b: 'x'.repeat(50) } },
    ]);
    const starts: number[] = [];
    const s = scanEntries(batch.bytes, starts);
    assert.deepEqual(s, { validEnd: batch.bytes.length, count: 2 });
    assert.equal(entrySeconds(batch.bytes, starts[0]!), 100);
    assert.equal(entrySeconds(batch.bytes, starts[1]!), 200);
    const torn = scanEntries(batch.bytes.subarray(0, batch.bytes.length - 3));
    assert.deepEqual(torn, { validEnd: starts[1], count: 1, problem: 'torn' });
    const garbage = Buffer.concat([batch.bytes, Buffer.from([0x01, 0x02])]);
    assert.equal(scanEntries(garbage).problem, 'invalid');
  });

  it('reads integer and float entry times', () => {
    assert.equal(entrySeconds(encode([1700000000, {}]), 0), 1700000000);
    assert.equal(entrySeconds(encode([1700000000.5, {}]), 0), 1700000000);
  });
});
