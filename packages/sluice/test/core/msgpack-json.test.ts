import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMultiple, EventTime, packr } from '@sluice/forward';
import { recordJson } from '../../src/codec/json.ts';
import { recordsJson } from '../../src/codec/msgpack-json.ts';

const T = new EventTime(1795000000, 5);

/** What the decode-then-stringify path gave for the same bytes: the reference. */
function reference(bytes: Buffer, sep: string): string {
  return (decodeMultiple(bytes) as [unknown, unknown][]).map((e) => recordJson(e[1]) + sep).join('');
}

function chunkOf(records: unknown[]): Buffer {
  return Buffer.concat(records.map((r) => packr.pack([T, r])));
}

/** A raw entry: fixarray(2), EventTime ext, then the record's bytes as given. */
function rawEntry(record: number[]): Buffer {
  return Buffer.concat([Buffer.from([0x92]), packr.pack(T), Buffer.from(record)]);
}

test('records become the JSON recordJson gives for the decoded record', () => {
  const records: unknown[] = [
    {},
    { message: 'hello', level: 'info', n: 1, ok: true, no: false, none: null },
    {
      ints: [0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2 ** 53 - 1],
      negs: [-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -(2 ** 53 - 1)],
    },
    { f: [1.5, -0.25, 1e21, 1e-7, 0.1 + 0.2, -0, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY] },
    { esc: 'a"b\\c/d\n\t\r\b\f\u0000\u0001\u001f\u007f', utf8: '日本語 é 😀', sep: '\u2028\u2029' },
    { long: 'x'.repeat(70000), [`k${'y'.repeat(40)}`]: 'z'.repeat(300) },
    { nested: { a: { b: { c: [[[]], {}, [1, { d: 'e' }]] } } } },
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
    { big: 2n ** 63n - 1n, small: -(2n ** 63n), ubig: 2n ** 64n - 1n },
    { bin: Buffer.from('binary text') },
    'a bare string',
    [1, 2, 3],
  ];
  const bytes = chunkOf(records);
  assert.equal(recordsJson(bytes, 0x0a).toString(), reference(bytes, '\n'));
  assert.equal(recordsJson(bytes, 0x2c).toString(), reference(bytes, ','));
  // every line is JSON a reader parses back
  for (const line of recordsJson(bytes, 0x0a).toString().trimEnd().split('\n')) JSON.parse(line);
});

test('what the walker leaves alone still comes out as the decoder path writes it', () => {
  const entries = [
    // float32 1.1 in {"f": ...}
    rawEntry([0x81, 0xa1, 0x66, 0xca, 0x3f, 0x8c, 0xcc, 0xcd]),
    // an ext value (EventTime) inside the record
    Buffer.concat([Buffer.from([0x92]), packr.pack(T), Buffer.from([0x81, 0xa1, 0x74]), packr.pack(T)]),
    // an integer map key
    rawEntry([0x81, 0x01, 0xa1, 0x78]),
    // invalid UTF-8 in a string value
    rawEntry([0x81, 0xa1, 0x73, 0xa2, 0xc3, 0x28]),
    // invalid UTF-8 in a key
    rawEntry([0x81, 0xa2, 0xff, 0xfe, 0x01]),
    // a plain one after them
    rawEntry([0x81, 0xa1, 0x6f, 0xc3]),
  ];
  const bytes = Buffer.concat(entries);
  assert.equal(recordsJson(bytes, 0x0a).toString(), reference(bytes, '\n'));
});

test('an empty chunk gives an empty body; a torn one is an error naming the byte', () => {
  assert.equal(recordsJson(Buffer.alloc(0), 0x0a).length, 0);
  const bytes = chunkOf([{ a: 1 }, { b: 'two' }]);
  assert.throws(
    () => recordsJson(bytes.subarray(0, bytes.length - 2), 0x0a),
    /broken msgpack entry at byte \d+/,
  );
});
