import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '@sluice/forward';
import { BatchBuilder, strBytes } from '../../src/core/batch-builder.ts';
import { JsonTranscoder } from '../../src/shared/lines/json-msgpack.ts';

function transcode(json: string, extra?: Buffer, watch?: string): unknown {
  const tc = new JsonTranscoder(Buffer.from('time'), watch ? Buffer.from(watch) : undefined);
  const w = new BatchBuilder(16);
  const src = Buffer.from(`xx${json}yy`); // offsets inside a larger buffer, as in the reader
  if (!tc.transcode(w, src, 2, src.length - 2, extra)) return 'REJECTED';
  return decode(w.buf.subarray(0, w.len));
}

test('JSON objects become the same record JSON.parse gives', () => {
  const cases = [
    '{}',
    '{"a":1}',
    ' { "a" : [ 1 , -2 , 3.5 , -0.25e2 , 1E3 , true , false , null , "s" , { } , [ ] ] } ',
    '{"int":[0,127,128,255,256,65535,65536,4294967295,4294967296,-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740991]}',
    '{"esc":"a\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00","utf8":"日本語 é"}',
    `{"long":"${'x'.repeat(70000)}","k${'y'.repeat(40)}":"${'z'.repeat(300)}"}`,
    `{"many":[${Array.from({ length: 70 }, (_, i) => i).join(',')}],${Array.from({ length: 20 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
    '{"nested":{"a":{"b":{"c":[[[]]]}}}}',
    '{"dup":1,"dup":2}',
  ];
  for (const c of cases) assert.deepEqual(transcode(c), JSON.parse(c), c.slice(0, 80));
});

test('invalid JSON, non-objects and the time key are rejected (the slow path reports them)', () => {
  for (const c of [
    '',
    '[1]',
    '"s"',
    '1',
    '{',
    '{"a":}',
    '{"a":1,}',
    '{"a" 1}',
    '{"a":01}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":-}',
    '{"a":1e}',
    '{"a":tru}',
    '{"a":"\u0001"}',
    '{"a":"x}',
    '{"a":1} x',
    '{"time":1}',
    '{"ti\\u006de":1}',
    "{'a':1}",
  ]) {
    assert.equal(transcode(c), 'REJECTED', JSON.stringify(c));
  }
  // the time key only matters at the top level
  assert.deepEqual(transcode('{"a":{"time":1}}'), { a: { time: 1 } });
});

test('an extra pair (path_key) is appended unless the object already has that key', () => {
  const pair = Buffer.concat([strBytes('path'), strBytes('/var/log/x.log')]);
  assert.deepEqual(transcode('{"a":1}', pair, 'path'), { a: 1, path: '/var/log/x.log' });
  assert.deepEqual(transcode('{}', pair, 'path'), { path: '/var/log/x.log' });
  assert.deepEqual(transcode('{"path":"mine"}', pair, 'path'), { path: 'mine' });
});
