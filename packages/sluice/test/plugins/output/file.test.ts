process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { EventTime } from '@sluice/forward';
import { createBufferedOutput } from '../../../src/buffer/buffered-output.ts';
import { parseConfigText } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import { EventBatch } from '../../../src/core/batch.ts';
import type { OutputPlugin } from '../../../src/core/plugin.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import fileOut from '../../../src/plugins/output/file/index.ts';
import { assertInside, escapePathValue } from '../../../src/shared/file-out/path-template.ts';
import { testContext } from '../../../src/testing/context.ts';
import { tempDir } from '../../buffer/helpers.ts';

const T = Date.UTC(2026, 10, 21, 10, 15, 30) / 1000;

async function make(conf: string) {
  const el = parseConfigText(conf, { file: 'test.conf' }).elements[0]!;
  const ctx = testContext({ id: 'file1', type: 'file' });
  const plugin = fileOut.create(
    resolve(
      {
        params: fileOut.schema.params,
        sections: { ...fileOut.schema.sections, buffer: { plugin: 'buffer', description: 'b' } },
      },
      el,
      'test',
    ),
    ctx,
  ) as OutputPlugin;
  const bo = await createBufferedOutput({
    descriptor: fileOut,
    output: plugin,
    bufferElement: el.elements.find((e) => e.name === 'buffer'),
    ctx,
    outputElement: el,
    loadStore: (type, at) => loadPlugin('buffer', type, at),
  });
  await bo.start();
  return bo;
}

function events(tag: string, recs: Record<string, unknown>[], sec = T): EventBatch {
  return EventBatch.fromEntries(
    tag,
    recs.map((record, i) => ({ time: new EventTime(sec, i), record })),
  );
}

describe('out_file', () => {
  it('<inject> adds the tag and the time to each written record', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/app\nappend true\n<inject>\ntag_key tag\ntime_key time\ntime_type unixtime\n</inject>\n<buffer>\n@type memory\n</buffer>\n</match>`,
      );
      await bo.emit(events('app.web', [{ msg: 'hello' }]));
      await bo.flushAll();
      await bo.stop();
      const text = await readFile(join(dir, 'app.20261121.log'), 'utf8');
      assert.equal(text, `2026-11-21T10:15:30+00:00\tapp.web\t{"msg":"hello","tag":"app.web","time":${T}}\n`);
    } finally {
      await cleanup();
    }
  });

  it('writes Fluentd out_file lines to <path>.<%Y%m%d>_<N>.log per chunk', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/app\n<buffer>\n@type memory\n</buffer>\n</match>`,
      );
      await bo.emit(events('app.web', [{ msg: 'hello', n: 1 }]));
      await bo.emit(events('app.db', [{ msg: 'x' }]));
      await bo.flushAll();
      await bo.stop();
      const files = (await readdir(dir)).sort();
      assert.deepEqual(files, ['app.20261121_0.log', 'app.20261121_1.log']);
      const all = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8'))))
        .join('')
        .split('\n')
        .filter(Boolean)
        .sort();
      assert.deepEqual(all, [
        '2026-11-21T10:15:30+00:00\tapp.db\t{"msg":"x"}',
        '2026-11-21T10:15:30+00:00\tapp.web\t{"msg":"hello","n":1}',
      ]);
    } finally {
      await cleanup();
    }
  });

  it("append with '*' and an hourly timekey appends every chunk to one file", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/app.*.log\nappend true\n<buffer time>\n@type memory\ntimekey 1h\n</buffer>\n</match>`,
      );
      await bo.emit(events('a', [{ n: 1 }]));
      await bo.flushAll();
      await bo.emit(events('a', [{ n: 2 }]));
      await bo.emit(events('a', [{ n: 3 }], T + 3600));
      await bo.flushAll();
      await bo.stop();
      assert.deepEqual((await readdir(dir)).sort(), ['app.2026112110.log', 'app.2026112111.log']);
      const lines = (await readFile(join(dir, 'app.2026112110.log'), 'utf8')).trim().split('\n');
      assert.equal(lines.length, 2);
    } finally {
      await cleanup();
    }
  });

  it('formats path timestamps in the zone the buffer keys by (timekey_use_utc yes wins over timekey_zone)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/app\n<buffer time>\n@type memory\ntimekey 1h\ntimekey_zone +09:00\ntimekey_use_utc yes\n</buffer>\n</match>`,
      );
      await bo.emit(events('a', [{ n: 1 }]));
      await bo.flushAll();
      await bo.stop();
      assert.deepEqual(await readdir(dir), ['app.2026112110_0.log']);
    } finally {
      await cleanup();
    }
  });

  it('keeps paths built from tags and record values inside the configured directory', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/out/\${tag[1]}/\${where}\nappend true\n<buffer tag, where>\n@type memory\n</buffer>\n</match>`,
      );
      await bo.emit(
        events('x.ok', [
          { where: '../../../etc/passwd' },
          { where: '/abs' },
          { where: 'a\u0000b' },
          { where: '..' },
        ]),
      );
      await bo.emit(events('x....', [{ where: 'y' }]));
      await bo.flushAll();
      await bo.stop();
      const okFiles = (await readdir(join(dir, 'out', 'ok'))).sort();
      assert.deepEqual(okFiles, ['.._.._.._etc_passwd.log', '__.log', '_abs.log', 'a_b.log']);
      assert.deepEqual(await readdir(dir), ['out']);
      assert.equal(escapePathValue('..'), '__');
      assert.throws(() => assertInside('/data/logs', '/data/logs/../x'), /outside/);
      assert.throws(() => assertInside('/data/logs', '/etc/passwd'), /outside/);
      assert.equal(assertInside('/data/logs', '/data/logs/a/b.log'), '/data/logs/a/b.log');
    } finally {
      await cleanup();
    }
  });

  it('compress gzip writes .gz files that decompress to the lines', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/z\ncompress gzip\nappend true\n<buffer>\n@type memory\n</buffer>\n</match>`,
      );
      await bo.emit(events('t', [{ n: 1 }]));
      await bo.flushAll();
      await bo.emit(events('t', [{ n: 2 }]));
      await bo.flushAll();
      await bo.stop();
      const [f] = await readdir(dir);
      assert.equal(f, 'z.20261121.log.gz');
      const text = gunzipSync(await readFile(join(dir, f!))).toString();
      assert.equal(text.trim().split('\n').length, 2);
    } finally {
      await cleanup();
    }
  });

  it('rotate_size renames the live file to .1, .2 and keeps rotate_backups of them; symlink_path follows', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const bo = await make(
        `<match **>\n@type file\npath ${dir}/p2l\nadd_path_suffix false\nappend true\nrotate_size 300\nrotate_backups 2\nsymlink_path ${dir}/current\n<buffer tag>\n@type memory\n</buffer>\n</match>`,
      );
      for (let i = 0; i < 8; i++) {
        await bo.emit(events('t', [{ n: i, pad: 'x'.repeat(120) }]));
        await bo.flushAll();
      }
      await bo.stop();
      assert.deepEqual((await readdir(dir)).sort(), ['current', 'p2l', 'p2l.1', 'p2l.2']);
      for (const f of ['p2l', 'p2l.1', 'p2l.2']) assert.ok((await readFile(join(dir, f))).length <= 300);
      const live = (await readFile(join(dir, 'p2l'), 'utf8')).trim().split('\n');
      assert.match(live.at(-1)!, /"n":7/);
      assert.equal(await readlink(join(dir, 'current')), join(dir, 'p2l'));
    } finally {
      await cleanup();
    }
  });

  it('configuration errors are reported at configure time', async () => {
    await assert.rejects(
      make('<match **>\n@type file\npath /tmp/x.*\n<buffer tag>\n</buffer>\n</match>'),
      /needs the buffer chunk key 'time'/,
    );
    await assert.rejects(
      make('<match **>\n@type file\npath /tmp/x\nrotate_size 1m\n</match>'),
      /rotate_size needs append true/,
    );
    await assert.rejects(
      make('<match **>\n@type file\npath /tmp/${tag}/x\n</match>'),
      /chunk key 'tag' is not configured/,
    );
    await assert.rejects(
      make('<match **>\n@type file\npath /tmp/x/%Y%m\n</match>'),
      /insufficient timestamp placeholders/,
    );
  });
});
