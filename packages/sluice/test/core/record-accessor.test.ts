import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/core/errors.ts';
import { createRecordAccessor, parseAccessorPath } from '../../src/core/record-accessor.ts';

describe('record accessor', () => {
  test("parses Fluentd's plain, dot and bracket notations", () => {
    assert.deepEqual(parseAccessorPath('key1'), ['key1']);
    assert.deepEqual(parseAccessorPath('a.b'), ['a.b'], 'without $. a dotted key is one key');
    assert.deepEqual(parseAccessorPath('$.key1'), ['key1']);
    assert.deepEqual(parseAccessorPath('$.key1.key2'), ['key1', 'key2']);
    assert.deepEqual(parseAccessorPath('$.key1[0].key2'), ['key1', 0, 'key2']);
    assert.deepEqual(parseAccessorPath('$.key1[0][1]'), ['key1', 0, 1]);
    assert.deepEqual(parseAccessorPath("$['key1']"), ['key1']);
    assert.deepEqual(parseAccessorPath("$['key1'][0]['ke y2']"), ['key1', 0, 'ke y2']);
    assert.deepEqual(parseAccessorPath('$["key1"]["key.2"]'), ['key1', 'key.2']);
    assert.deepEqual(parseAccessorPath('$.a[-1]'), ['a', -1]);
  });

  test('rejects invalid syntax with Fluentd-worded errors', () => {
    for (const [p, re] of [
      ['$.key 1', /whitespace character is not allowed/],
      ["$['key1'", /Incomplete bracket/],
      ['$[\'key1"]', /Mismatched quotes/],
      ['$[0', /'\[' found but '\]' not found/],
      ["$['a']x", /found more characters after '\]'/],
      ['$.a[x]', /invalid array index/],
      ['$.', /empty keys in dot notation/],
    ] as const) {
      assert.throws(
        () => parseAccessorPath(p),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
        p,
      );
    }
  });

  test('get digs through hashes and arrays like Ruby dig; anything else is undefined', () => {
    const r = { a: { b: [{ c: 1 }, { c: 2 }] }, s: 'str', 'x.y': 3 };
    assert.equal(createRecordAccessor('$.a.b[1].c').get(r), 2);
    assert.equal(createRecordAccessor('$.a.b[-1].c').get(r), 2);
    assert.equal(createRecordAccessor("$['x.y']").get(r), 3);
    assert.equal(createRecordAccessor('x.y').get(r), 3);
    assert.equal(createRecordAccessor('$.a.missing.c').get(r), undefined);
    assert.equal(createRecordAccessor('$.s.t').get(r), undefined);
    assert.equal(createRecordAccessor('$.a.b.c').get(r), undefined, 'a string key on an array');
    assert.equal(createRecordAccessor('$.a[0]').get(r), undefined, 'an index on a hash');
    assert.equal(createRecordAccessor('toString').get(r), undefined, 'no prototype keys');
  });

  test('delete removes nested keys and array items without touching shared nested objects', () => {
    const shared = { secret: 1, keep: 2, list: [1, 2, 3] };
    const original = { meta: shared, top: 1 };
    const copy = { ...original };
    createRecordAccessor('$.meta.secret').delete(copy);
    createRecordAccessor('$.meta.list[0]').delete(copy);
    createRecordAccessor('top').delete(copy);
    assert.deepEqual(copy, { meta: { keep: 2, list: [2, 3] } });
    assert.deepEqual(original, { meta: { secret: 1, keep: 2, list: [1, 2, 3] }, top: 1 });
    createRecordAccessor('$.nothing.here').delete(copy);
    assert.deepEqual(copy, { meta: { keep: 2, list: [2, 3] } });
  });

  test('set writes existing paths and never creates intermediate objects', () => {
    const r: Record<string, unknown> = { a: { b: 1 } };
    createRecordAccessor('$.a.b').set(r, 2);
    createRecordAccessor('$.x.y').set(r, 3);
    createRecordAccessor('z').set(r, 4);
    assert.deepEqual(r, { a: { b: 2 }, z: 4 });
  });
});
