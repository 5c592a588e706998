import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchBuilder, strBytes } from '../../src/core/batch-builder.ts';
import { type EncoderOptions, NoneEncoder } from '../../src/shared/lines/line-encoder.ts';

const opts = (pathKey?: string): EncoderOptions => ({
  pathKey,
  emitUnmatchedLines: false,
  unmatched: () => assert.fail('none has no unmatched lines'),
  warn: () => {},
});
const source = (path: string) => ({ path, tag: 't', pathStr: strBytes(path) });

// Lines around every msgpack str size class, empty lines, CRLF, a lone CR, multi-byte UTF-8.
const LINES = [
  'plain',
  '',
  'crlf\r',
  '\r',
  'x'.repeat(31),
  'x'.repeat(32),
  'y'.repeat(255),
  'y'.repeat(256),
  'z'.repeat(65535),
  'z'.repeat(65536),
  '日本語 é ✓',
];

/** What the per-line path writes: the reference the tail's loop must match byte for byte. */
function perLine(
  enc: NoneEncoder,
  buf: Buffer,
  src: ReturnType<typeof source>,
  sec = 1795000000,
  nsec = 123456789,
): Buffer {
  const w = new BatchBuilder(16);
  let s = 0;
  for (;;) {
    const nl = buf.indexOf(10, s);
    if (nl < 0) break;
    enc.line(w, buf, s, nl, src, sec, nsec);
    s = nl + 1;
  }
  return Buffer.from(w.buf.subarray(0, w.len));
}

for (const pathKey of [undefined, 'file']) {
  test(`none: the tail's loop writes the same entries as the per-line path (path_key ${pathKey ?? 'unset'})`, () => {
    const enc = new NoneEncoder('log', opts(pathKey));
    const src = source('/var/log/app.log');
    // Offsets inside a larger buffer, as in the reader; a partial last line stays unread.
    const buf = Buffer.concat([Buffer.from('garbage'), Buffer.from(`${LINES.join('\n')}\npartial`)]);
    const body = buf.subarray(7);
    const w = new BatchBuilder(16);
    const end = enc.lines(w, body, 0, body.length, src, 1795000000, 123456789, 1000, 1 << 30, undefined);
    assert.equal(enc.encoded, LINES.length);
    assert.equal(w.count, LINES.length);
    assert.equal(body.subarray(end).toString(), 'partial');
    assert.deepEqual(Buffer.from(w.buf.subarray(0, w.len)), perLine(enc, body, src));
  });
}

test('none: thousands of lines in one call (more than the loop first makes room for)', () => {
  const enc = new NoneEncoder('message', opts('path'));
  const src = source('/b');
  const body = Buffer.from(
    Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? '' : `line ${i}`)).join('\n') + '\n',
  );
  const w = new BatchBuilder(16);
  const end = enc.lines(w, body, 0, body.length, src, 1795000000, 123456789, 5000, 1 << 30, undefined);
  assert.equal(end, body.length);
  assert.equal(enc.encoded, 3000);
  assert.deepEqual(Buffer.from(w.buf.subarray(0, w.len)), perLine(enc, body, src));
});

test('none: the loop stops at the line limit, at the byte limit, and before a line over max_line_size', () => {
  const enc = new NoneEncoder('message', opts());
  const src = source('/a');
  const body = Buffer.from('a\nbb\nccc\nlong-long-long\ndd\n');
  const w = new BatchBuilder(16);
  let s = enc.lines(w, body, 0, body.length, src, 1, 0, 2, 1 << 30, undefined);
  assert.equal(enc.encoded, 2);
  assert.equal(body.subarray(s, s + 4).toString(), 'ccc\n');
  // The byte limit is checked before each line: the line that crosses it is still written whole.
  s = enc.lines(w, body, s, body.length, src, 1, 0, 1000, w.len + 1, undefined);
  assert.equal(enc.encoded, 1);
  s = enc.lines(w, body, s, body.length, src, 1, 0, 1000, 1 << 30, 5);
  assert.equal(enc.encoded, 0, 'stops before the long line (the caller skips it with a warning)');
  assert.equal(body.subarray(s).toString(), 'long-long-long\ndd\n');
  assert.equal(w.count, 3);
  // A new time gives new entry prefixes.
  const a = new BatchBuilder(16);
  const b = new BatchBuilder(16);
  enc.lines(a, body, 0, 2, src, 1, 0, 1, 1 << 30, undefined);
  enc.lines(b, body, 0, 2, src, 2, 5, 1, 1 << 30, undefined);
  assert.notDeepEqual(a.buf.subarray(0, a.len), b.buf.subarray(0, b.len));
  assert.deepEqual(Buffer.from(a.buf.subarray(0, a.len)), perLine(enc, body.subarray(0, 2), src, 1, 0));
  assert.deepEqual(Buffer.from(b.buf.subarray(0, b.len)), perLine(enc, body.subarray(0, 2), src, 2, 5));
});
