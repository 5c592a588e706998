import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigFile, parseConfigText } from '../../src/config/parser.ts';
import { params, throwsAt } from './helpers.ts';

let dir: string;

async function put(rel: string, text: string): Promise<string> {
  const p = join(dir, rel);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, text);
  return p;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-include-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('@include', () => {
  test('a relative path is relative to the including file, also from an included file', async () => {
    await put('main/conf.d/b.conf', '<match b>\n  @type null\n</match>\n@include ../sub/c.conf\n');
    await put('main/sub/c.conf', '<match c>\n  @type null\n</match>\n');
    await put('main/conf.d/a.conf', '<match a>\n  @type null\n</match>\n');
    await put('main/conf.d/skip.txt', '<match skipped>\n</match>\n');
    const main = await put(
      'main/fluent.conf',
      '<source>\n  @type sample\n</source>\n@include conf.d/*.conf\ninclude sub/c.conf\n',
    );
    const root = parseConfigFile(main);
    assert.deepEqual(
      root.elements.map((e) => e.arg || e.name),
      ['source', 'a', 'b', 'c', 'c'],
      'glob results sorted, the nested include spliced where it stands',
    );
    assert.deepEqual(root.elements[1]!.location, {
      file: join(dir, 'main/conf.d/a.conf'),
      line: 1,
      column: 1,
    });
    assert.deepEqual(root.elements[3]!.location, { file: join(dir, 'main/sub/c.conf'), line: 1, column: 1 });
  });

  test('@include inside a section adds its params and sections there', async () => {
    await put(
      'sect/buffer.conf',
      '# shared buffer settings\nflush_interval 5s\n<secondary>\n  @type null\n</secondary>\n',
    );
    const main = await put(
      'sect/fluent.conf',
      '<match **>\n  @type stdout\n  <buffer>\n    @include buffer.conf\n    chunk_limit_size 1m\n  </buffer>\n</match>\n',
    );
    const buffer = parseConfigFile(main).elements[0]!.elements[0]!;
    assert.deepEqual(params(buffer), { flush_interval: '5s', chunk_limit_size: '1m' });
    assert.equal(buffer.elements[0]!.name, 'secondary');
    assert.deepEqual(buffer.params[0]!.location, { file: join(dir, 'sect/buffer.conf'), line: 2, column: 1 });
  });

  test('absolute paths, brace alternatives and a glob that matches nothing', async () => {
    const x = await put('abs/x.conf', '<match x>\n</match>\n');
    await put('abs/y.conf', '<match y>\n</match>\n');
    const root = parseConfigText(
      `@include ${x}\n@include ${join(dir, 'abs/{y,z}.conf')}\n@include ${join(dir, 'abs/none-*.conf')}\n`,
      {
        file: join(dir, 'abs/main.conf'),
      },
    );
    assert.deepEqual(
      root.elements.map((e) => e.arg),
      ['x', 'y'],
    );
  });

  test('a missing file is an error at the @include line', async () => {
    const main = await put(
      'missing/fluent.conf',
      '<source>\n  @type sample\n</source>\n  @include nope.conf\n',
    );
    throwsAt(() => parseConfigFile(main), main, 4, 3, /@include: file not found: .*nope\.conf/);
  });

  test('an error inside an included file names that file', async () => {
    const bad = await put('bad/inc.conf', '<match a>\n  @type null\n');
    const main = await put('bad/fluent.conf', '@include inc.conf\n');
    throwsAt(() => parseConfigFile(main), bad, 1, 1, /<match a> is never closed/);
  });

  test('an include cycle is an error, not a hang', async () => {
    const a = await put('cycle/a.conf', '@include b.conf\n');
    await put('cycle/b.conf', '@include a.conf\n');
    throwsAt(() => parseConfigFile(a), join(dir, 'cycle/b.conf'), 1, 1, /@include cycle/);
    await symlink(a, join(dir, 'cycle/link.conf'));
    const self = await put('cycle/self.conf', '@include link.conf\n');
    throwsAt(() => parseConfigFile(self), join(dir, 'cycle/b.conf'), 1, 1, /@include cycle/);
  });

  test('a URL include is refused with a clear message', () => {
    throwsAt(
      () => parseConfigText('@include http://example.com/a.conf\n', { file: 'u.conf' }),
      'u.conf',
      1,
      1,
      /URL is not supported/,
    );
  });

  test('@include without a path', () => {
    throwsAt(
      () => parseConfigText('<source>\n  @include\n</source>\n', { file: 'u.conf' }),
      'u.conf',
      2,
      3,
      /needs a file path/,
    );
  });

  test('a YAML file may be included from a .conf file', async () => {
    await put('mixed/more.yaml', 'config:\n  - match:\n      $tag: y.**\n      $type: null\n');
    const main = await put('mixed/fluent.conf', '@include more.yaml\n');
    const root = parseConfigFile(main);
    assert.deepEqual(
      [root.elements[0]!.name, root.elements[0]!.arg, params(root.elements[0])],
      ['match', 'y.**', { '@type': 'null' }],
    );
  });

  test('parseConfigFile on a missing file says which file', () => {
    assert.throws(
      () => parseConfigFile(join(dir, 'does-not-exist.conf')),
      /cannot read config file .*does-not-exist\.conf/,
    );
  });
});
