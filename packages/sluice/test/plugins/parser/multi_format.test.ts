// fluent-plugin-multi-format-parser: its README examples and tests, as Sluice's multi_format.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadPlugin } from '../../../src/engine/registry.ts';
import multiFormat from '../../../src/plugins/parser/multi_format.ts';
import type { SluiceParser } from '../../../src/shared/parse/common.ts';
import { build } from './helpers.ts';

before(async () => {
  for (const p of ['apache', 'json', 'none', 'regexp']) await loadPlugin('parser', p);
});

const README = `
<pattern>
  format apache
</pattern>
<pattern>
  format json
  time_key timestamp
</pattern>
<pattern>
  format none
</pattern>`;

test('README: apache, then json (time_key timestamp), then none; the first match wins', () => {
  const p = build(multiFormat, README) as SluiceParser;
  assert.deepEqual(p.parse('{"k":"v"}')!.record, { k: 'v' });
  assert.deepEqual(p.parse('hello')!.record, { message: 'hello' });
  const j = p.parse('{"k":"v","timestamp":1602288600.5}')!;
  assert.equal(j.time!.sec, Date.UTC(2020, 9, 10, 0, 10, 0) / 1000);
  assert.deepEqual(j.record, { k: 'v' });
  const a = p.parse('192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777')!;
  assert.equal(a.record.host, '192.168.0.1');
  assert.equal(a.record.path, '/');
});

test("README: format_key with format_name, else 'FORMAT#INDEX'", () => {
  const p = build(
    multiFormat,
    `format_key 'format'
<pattern>
  format json
  format_name 'json'
</pattern>
<pattern>
  format regexp
  format_name 'MyRegex'
  expression /^(?<a>\\d+) (?<b>\\w+)$/
</pattern>
<pattern>
  format none
</pattern>`,
  ) as SluiceParser;
  assert.deepEqual(p.parse('{"x":1}')!.record, { x: 1, format: 'json' });
  assert.deepEqual(p.parse('12 ab')!.record, { a: '12', b: 'ab', format: 'MyRegex' });
  assert.deepEqual(p.parse('other')!.record, { message: 'other', format: 'none#2' });
});

test('format /regexp/ in a <pattern> is a regexp parser (the v0.12 spelling)', () => {
  const p = build(multiFormat, '<pattern>\nformat /^(?<word>\\w+)$/\n</pattern>') as SluiceParser;
  assert.deepEqual(p.parse('abc')!.record, { word: 'abc' });
  assert.equal(p.parse('a b'), undefined);
  assert.match(p.lastError!, /no <pattern> matched/);
});

test('a <pattern> without format, or no <pattern>, is a configuration error', () => {
  assert.throws(() => build(multiFormat, '<pattern>\nkeys a\n</pattern>'), /<pattern> needs format/);
  assert.throws(() => build(multiFormat, ''), /at least one <pattern>/);
});

test('in a tail <parse>: each line by the first pattern that reads it', async (t) => {
  const { startTail, tempDir, until } = await import('../../tail/helpers.ts');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  await loadPlugin('parser', 'multi_format');
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, '{"a":1}\nplain text\n');
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\n<parse>\n@type multi_format\n<pattern>\nformat json\n</pattern>\n<pattern>\nformat none\n</pattern>\n</parse>`,
    { t },
  );
  await until(() => tl.records().length === 2, 'both lines');
  assert.deepEqual(tl.records(), [{ a: 1 }, { message: 'plain text' }]);
});
