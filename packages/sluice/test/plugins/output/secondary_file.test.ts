// out_secondary_file in <secondary>: the chunks a primary gave up on land in dump files,
// as the chunk's msgpack [time, record] entries, one new file per chunk (or appended), with
// the tag placeholders of the primary's chunk keys, gzip, and refusals as Fluentd's.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decodeMultiple } from '@sluice/forward';
import { parseConfigText } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import type { Chunk, OutputPlugin, WriteResult } from '../../../src/core/plugin.ts';
import secondaryFile from '../../../src/plugins/output/secondary_file.ts';
import { batch, build, FakeOutput, tempDir } from '../../buffer/helpers.ts';

function secondary(conf: string): OutputPlugin {
  const el = parseConfigText(`<match **>\n${conf}\n</match>`, { file: 's.conf' }).elements[0]!.elements[0]!;
  return secondaryFile.create(resolve(secondaryFile.schema, el, '<secondary>'), {} as never) as OutputPlugin;
}

/** Runs chunks through a primary that always fails, into `sec`; resolves after `n` dumps. */
async function dumpThrough(sec: OutputPlugin, emits: [string, number][], n: number): Promise<void> {
  const out = new FakeOutput();
  out.next = Array.from({ length: 100 }, () => ({ status: 'retry' as const, error: new Error('down') }));
  let left = n;
  let done!: () => void;
  // The timer bounds the wait and keeps the event loop alive (the buffer's timers are unref'd).
  let timer: NodeJS.Timeout | undefined;
  const dumped = new Promise<void>((res, rej) => {
    done = res;
    timer = setTimeout(() => rej(new Error(`timed out waiting for ${n} dumps`)), 30_000);
  }).finally(() => clearTimeout(timer));
  const counting: OutputPlugin = {
    async write(c: Chunk): Promise<WriteResult> {
      const r = await sec.write!(c);
      if (r.status === 'ok' && --left === 0) done();
      return r;
    },
  };
  const { bo } = await build(
    '<buffer tag>\nflush_mode immediate\nretry_wait 0.01\nretry_timeout 1\nretry_secondary_threshold 0.01\nretry_randomize false\n</buffer>',
    { output: out, secondary: counting },
  );
  await bo.start();
  for (const [tag, count] of emits) await bo.emit(batch(tag, count));
  await dumped;
  await bo.stop();
}

describe('secondary_file', () => {
  test('each chunk goes to a new <basename>.<N> file, as msgpack [time, record] entries, with ${tag}', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const sec = secondary(
        `<secondary>\n@type secondary_file\ndirectory ${dir}/\${tag}\nbasename dump.bin\n</secondary>`,
      );
      await dumpThrough(
        sec,
        [
          ['app.a', 3],
          ['app.a', 2],
          ['app.b', 1],
        ],
        3,
      );
      assert.deepEqual((await readdir(join(dir, 'app.a'))).sort(), ['dump.bin.0', 'dump.bin.1']);
      assert.deepEqual(await readdir(join(dir, 'app.b')), ['dump.bin.0']);
      const entries = decodeMultiple(await readFile(join(dir, 'app.b', 'dump.bin.0'))) as unknown[][];
      assert.equal(entries.length, 1);
      assert.deepEqual(entries[0]![1], { n: 0 });
    } finally {
      await cleanup();
    }
  });

  test('append true and compress gzip: one file, a gzip member per chunk', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const sec = secondary(
        `<secondary>\n@type secondary_file\ndirectory ${dir}\nbasename all\nappend true\ncompress gzip\n</secondary>`,
      );
      await dumpThrough(
        sec,
        [
          ['a', 2],
          ['b', 3],
        ],
        2,
      );
      assert.deepEqual(await readdir(dir), ['all.gz']);
      const entries = decodeMultiple(gunzipSync(await readFile(join(dir, 'all.gz')))) as unknown[][];
      assert.equal(entries.length, 5);
    } finally {
      await cleanup();
    }
  });

  test('refused outside <secondary>, and with a / in basename', () => {
    const el = parseConfigText('<match **>\n@type secondary_file\ndirectory /tmp/x\n</match>', {
      file: 'm.conf',
    }).elements[0]!;
    assert.throws(
      () => secondaryFile.create(resolve(secondaryFile.schema, el, 'm'), {} as never),
      /can only be used in the <secondary> section/,
    );
    assert.throws(
      () => secondary('<secondary>\n@type secondary_file\ndirectory /tmp/x\nbasename a/b\n</secondary>'),
      /basename should not include/,
    );
  });
});
