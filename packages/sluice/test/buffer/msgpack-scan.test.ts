import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import {
  array16,
  array32,
  bytes,
  eventTime,
  eventTimeExt8,
  fixmap,
  fixstr,
  float32,
  int16,
  map32,
  str8,
  uint8,
  uint16,
  uint64,
} from '../../../forward/test/msgpack-bytes.ts';
import { entrySeconds, INCOMPLETE, scanEntries, skipValue } from '../../src/codec/msgpack-scan.ts';
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

  it('accepts every valid encoding of an entry: array16/array32 headers, map32 records, any time width', () => {
    const rec = bytes(map32(1), str8('a'), [0x01]);
    const entries = [
      bytes(array32(2), eventTime(1700000000, 1), rec), // Fluent Bit: dd 00 00 00 02
      bytes(array16(2), eventTimeExt8(1700000001, 2), rec),
      bytes([0x92], uint64(1700000002), fixmap(0)),
      bytes([0x92], int16(-2), rec),
      bytes([0x92], [0xfe], rec), // negative fixint
      bytes([0x92], uint16(1000), rec),
      bytes([0x92], uint8(200), rec),
      bytes([0x92], float32(3.5), rec),
      bytes(array32(2), [0xd0, 0x05], bytes(fixmap(1), fixstr('b'), [0x02])),
    ];
    const all = bytes(...entries);
    const starts: number[] = [];
    assert.deepEqual(scanEntries(all, starts), { validEnd: all.length, count: entries.length });
    assert.deepEqual(
      starts.map((o) => entrySeconds(all, o)),
      [1700000000, 1700000001, 1700000002, -2, -2, 1000, 200, 3, 5],
    );
    // an array32/16 of another length is no entry; a header cut short is a torn write
    assert.equal(scanEntries(bytes(array32(3), [1, 2, 3])).problem, 'invalid');
    assert.equal(scanEntries(bytes(array16(1), [1])).problem, 'invalid');
    assert.deepEqual(scanEntries(bytes(entries[0]!, [0xdd, 0, 0])), {
      validEnd: entries[0]!.length,
      count: 1,
      problem: 'torn',
    });
  });
});
