import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEntries, decodeMultiple, EventTime, FrameDecoder, parseEventFrame } from '../src/index.ts';
import {
  array16,
  array32,
  bin8,
  bin32,
  bytes,
  eventTime,
  eventTimeExt8,
  fixarray,
  fixmap,
  fixstr,
  float32,
  float64,
  fluentBitEntry,
  fluentBitOptions,
  int16,
  int32,
  int64,
  map16,
  map32,
  str8,
  str16,
  str32,
  uint8,
  uint16,
  uint32,
  uint64,
} from './msgpack-bytes.ts';

const rec = bytes(fixmap(1), fixstr('a'), [0x01]); // {a: 1}
const now = () => ({ sec: 42, nsec: 7 });

describe('every valid msgpack encoding of an entry and of the options map', () => {
  it('Fluent Bit: array32 entries and a map32 options map, in a PackedForward frame', () => {
    const entries = bytes(fluentBitEntry(1700000000, 5, rec), fluentBitEntry(1700000001, 6, rec));
    const frame = bytes(fixarray(3), fixstr('fb.tag'), bin32(entries), fluentBitOptions('Y2h1bmstaWQ=', 2));
    const f = parseEventFrame(frame, { now });
    assert.equal(f.mode, 'packed');
    assert.equal(f.count, 2);
    assert.deepEqual(f.option, { chunk: 'Y2h1bmstaWQ=', size: 2, fluent_signal: 0 });
    // normalised to fixarray + fixext8, the record bytes as sent
    assert.deepEqual(
      f.entries,
      bytes([0x92], eventTime(1700000000, 5), rec, [0x92], eventTime(1700000001, 6), rec),
    );
    assert.deepEqual(decodeMultiple(f.entries), [
      [new EventTime(1700000000, 5), { a: 1 }],
      [new EventTime(1700000001, 6), { a: 1 }],
    ]);
  });

  it('array16 headers, map16/map32 records, str8/16/32 keys and values', () => {
    const record = bytes(map16(2), str8('k'), str16('v'), str32('n'), map32(1), fixstr('x'), str8('y'));
    const entry = bytes(array16(2), eventTime(10, 1), record);
    const r = checkEntries(entry, { now });
    assert.equal(r.count, 1);
    assert.deepEqual(r.bytes, bytes([0x92], eventTime(10, 1), record));
    assert.deepEqual(decodeMultiple(r.bytes), [[new EventTime(10, 1), { k: 'v', n: { x: 'y' } }]]);
  });

  it('a time as an integer of any width or a float is accepted and kept as sent', () => {
    const times = [
      [0x7f],
      uint8(200),
      uint16(1000),
      uint32(1700000000),
      uint64(1700000000),
      int16(300),
      int32(1700000000),
      int64(1700000000),
      float32(1.5),
      float64(1700000000.25),
    ];
    const entries = bytes(...times.map((t) => bytes([0x92], t, rec)));
    const r = checkEntries(entries, { now });
    assert.equal(r.count, times.length);
    // the common, canonical header: checked in place, not copied
    assert.equal(r.bytes, entries);
    assert.deepEqual(
      decodeMultiple(r.bytes).map((e) => Number((e as [number | bigint])[0])),
      [127, 200, 1000, 1700000000, 1700000000, 300, 1700000000, 1700000000, 1.5, 1700000000.25],
    );
  });

  it('EventTime as ext8 becomes fixext8; an array32 entry holding one too', () => {
    const r = checkEntries(bytes([0x92], eventTimeExt8(99, 3), rec, array32(2), eventTimeExt8(100, 4), rec), {
      now,
    });
    assert.equal(r.count, 2);
    assert.deepEqual(r.bytes, bytes([0x92], eventTime(99, 3), rec, [0x92], eventTime(100, 4), rec));
  });

  it('a zero time in any integer width (or a float below 1) becomes now, as Fluentd does (time.to_i == 0)', () => {
    for (const zero of [[0x00], uint8(0), uint16(0), uint32(0), uint64(0), int64(0), float64(0.5)]) {
      const r = checkEntries(bytes(array32(2), zero, rec), { now });
      assert.deepEqual(
        decodeMultiple(r.bytes),
        [[new EventTime(42, 7), { a: 1 }]],
        `time ${zero.toString('hex')}`,
      );
    }
  });

  it('array32 frame header, str8/str32 tag, Forward and Message modes, map32 options', () => {
    const options = bytes(map32(1), fixstr('chunk'), str8('abc'));
    const forward = bytes(
      array32(3),
      str8('t.fwd'),
      array32(2),
      fluentBitEntry(1, 0, rec),
      bytes(array16(2), uint64(2), rec),
      options,
    );
    const fwd = parseEventFrame(forward, { now });
    assert.equal(fwd.mode, 'forward');
    assert.equal(fwd.tag, 't.fwd');
    assert.equal(fwd.count, 2);
    assert.equal(fwd.option?.chunk, 'abc');
    assert.deepEqual(fwd.entries, bytes([0x92], eventTime(1, 0), rec, [0x92], uint64(2), rec));

    const message = bytes(
      array16(4),
      str32('t.msg'),
      float64(1700000000.5),
      map16(1),
      fixstr('a'),
      [0x01],
      options,
    );
    const msg = parseEventFrame(message, { now });
    assert.equal(msg.mode, 'message');
    assert.equal(msg.tag, 't.msg');
    assert.equal(msg.count, 1);
    assert.equal(msg.option?.chunk, 'abc');
    assert.deepEqual(decodeMultiple(msg.entries), [[1700000000.5, { a: 1 }]]);

    const packed = bytes(fixarray(3), str16('t.pk'), bin8(bytes([0x92], eventTimeExt8(5, 6), rec)), options);
    const pk = parseEventFrame(packed, { now });
    assert.equal(pk.mode, 'packed');
    assert.deepEqual(pk.entries, bytes([0x92], eventTime(5, 6), rec));
  });

  it('the stream decoder splits frames with array16/array32 headers', () => {
    const a = bytes(array32(3), fixstr('a'), bin32(fluentBitEntry(1, 0, rec)), fluentBitOptions('c1', 1));
    const b = bytes(array16(2), fixstr('b'), bin8(bytes([0x92], eventTime(2, 0), rec)));
    const d = new FrameDecoder({ maxFrameSize: 1 << 20 });
    const stream = bytes(a, b);
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      d.push(stream.subarray(i, i + 1));
      for (let f = d.next(); f; f = d.next()) frames.push(Buffer.from(f));
    }
    assert.deepEqual(frames, [a, b]);
  });
});
