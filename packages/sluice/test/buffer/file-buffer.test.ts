import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeMultiple } from '@sluice/forward';
import pino from 'pino';
import { BufferLockedError } from '../../src/buffer/lock.ts';
import { testContext } from '../../src/testing/context.ts';
import { batch, build, FakeOutput, pastAHangingWrite, tempDir } from './helpers.ts';

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

async function chunkFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^buffer\.[bq][0-9a-f]{32}\.log$/.test(n)).sort();
}

describe('file buffer', () => {
  it('an accepted event is in the chunk file when emit resolves, and is resumed by the next run', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = `<buffer tag>\n@type file\npath ${dir}\nflush_interval 1h\n</buffer>`;
      const first = await build(cfg);
      await first.bo.start();
      await first.bo.emit(batch('app.a', 3));
      await first.bo.emit(batch('app.b', 2, 10));
      const files = await chunkFiles(dir);
      assert.equal(files.length, 2);
      assert.ok(files.every((f) => f.startsWith('buffer.b')));
      // One file per chunk: its keys are in a msgpack header before the entries.
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.endsWith('.meta')),
        [],
      );
      const tags = [];
      for (const f of files)
        tags.push((decodeMultiple(await readFile(join(dir, f)))[0] as { keys: { tag: string } }).keys.tag);
      assert.deepEqual(tags.sort(), ['app.a', 'app.b']);
      await first.bo.stop(); // file buffer: flush_at_shutdown false by default -> kept on disk
      assert.equal(first.out.written.length, 0);
      assert.equal((await chunkFiles(dir)).length, 2);

      const second = await build(cfg);
      await second.bo.start();
      assert.equal(second.bo.metrics().stagedChunks, 2);
      await second.bo.emit(batch('app.a', 1, 3));
      await second.bo.flushAll();
      const a = second.out.written.find((w) => w.keys.tag === 'app.a')!;
      assert.deepEqual(
        a.records.map((r) => r.n),
        [0, 1, 2, 3],
      );
      assert.equal(second.out.records().length, 6);
      await second.bo.stop();
      assert.deepEqual(await chunkFiles(dir), []);
    } finally {
      await cleanup();
    }
  });

  it('queued chunks are renamed b -> q and resumed as queued', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const out = new FakeOutput();
      out.next = ['hang'];
      const cfg = `<buffer>\n@type file\npath ${dir}\nflush_mode immediate\n</buffer>`;
      const first = await build(cfg, { output: out, stopTimeoutMs: 50 });
      await first.bo.start();
      await first.bo.emit(batch('t', 2));
      await out.waitFor(1, 'attempts');
      await first.bo.stop();
      const files = await chunkFiles(dir);
      assert.equal(files.length, 1);
      assert.ok(files[0]!.startsWith('buffer.q'));
      const second = await build(cfg);
      await second.bo.start();
      await second.out.waitFor(2);
      await second.bo.stop();
    } finally {
      await cleanup();
    }
  });

  it('chunks enqueued as soon as they are created (chunk_limit_records 1, immediate) keep their files in step', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = `<buffer tag>\n@type file\npath ${dir}\nflush_mode immediate\nchunk_limit_records 1\nflush_thread_count 4\n</buffer>`;
      // a staged chunk from a previous run, then appended to and enqueued at once
      const first = await build(`<buffer tag>\n@type file\npath ${dir}\n</buffer>`);
      await first.bo.start();
      await first.bo.emit(batch('t', 1, 100));
      await first.bo.stop();
      const { logger, lines } = logCapture();
      const ctx = testContext({ id: 'out1' });
      ctx.logger = logger;
      const second = await build(cfg, { ctx });
      await second.bo.start();
      await second.bo.emit(batch('t', 5));
      await second.bo.emit(batch('u', 1, 50));
      await second.out.waitFor(7);
      await second.bo.flushAll();
      await second.bo.stop();
      assert.deepEqual(
        lines.filter((l) => (l.level as number) >= 40),
        [],
      );
      assert.deepEqual(
        second.out
          .records()
          .map((r) => r.n)
          .sort((a, b) => (a as number) - (b as number)),
        [0, 1, 2, 3, 4, 50, 100],
      );
      assert.deepEqual(await chunkFiles(dir), []);
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.endsWith('.meta')),
        [],
      );
    } finally {
      await cleanup();
    }
  });

  it('cuts a torn last entry back to the last whole entry and logs it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = `<buffer>\n@type file\npath ${dir}\n</buffer>`;
      const first = await build(cfg);
      await first.bo.start();
      await first.bo.emit(batch('t', 5));
      await first.bo.stop();
      const [file] = await chunkFiles(dir);
      const whole = batch('t', 1, 99).bytes;
      await appendFile(join(dir, file!), whole.subarray(0, whole.length - 4)); // a write cut by a crash
      const { logger, lines } = logCapture();
      const ctx = testContext({ id: 'out1' });
      ctx.logger = logger;
      const second = await build(cfg, { ctx });
      await second.bo.start();
      assert.ok(lines.some((l) => /torn last entry/.test(String(l.msg)) && l.kept === 5));
      await second.bo.flushAll();
      assert.deepEqual(
        second.out.records().map((r) => r.n),
        [0, 1, 2, 3, 4],
      );
      await second.bo.stop();
    } finally {
      await cleanup();
    }
  });

  it('moves a chunk without a header aside, keeps the valid part of a garbled one, and still starts', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = `<buffer tag>\n@type file\npath ${dir}\n</buffer>`;
      const first = await build(cfg);
      await first.bo.start();
      await first.bo.emit(batch('a', 2));
      await first.bo.emit(batch('b', 3, 10));
      await first.bo.stop();
      const [f1, f2] = await chunkFiles(dir);
      // f1 loses its header: the file starts with its first entry.
      const whole = await readFile(join(dir, f1!));
      await writeFile(join(dir, f1!), whole.subarray(whole.indexOf(0x92)));
      await appendFile(join(dir, f2!), Buffer.from('not msgpack at all'));
      await writeFile(join(dir, 'buffer.b0123456789abcdef0123456789abcdef.log.meta'), 'garbage');
      const { logger, lines } = logCapture();
      const ctx = testContext({ id: 'out1' });
      ctx.logger = logger;
      const second = await build(cfg, { ctx });
      await second.bo.start();
      await second.bo.flushAll();
      assert.equal(second.out.written.length, 1);
      assert.equal(second.out.written[0]!.count, 3);
      const aside = await readdir(join(dir, 'corrupt'));
      assert.ok(aside.includes(f1!), 'chunk without a header moved aside');
      assert.ok(
        aside.some((n) => n.endsWith('.log') && n !== f1),
        'garbled original copied aside',
      );
      assert.equal(lines.filter((l) => l.level === 50).length, 2);
      await second.bo.stop();
    } finally {
      await cleanup();
    }
  });

  it('resumes chunks written with a .meta file (before chunk headers), staged and queued, and deletes both files after delivery', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // What Sluice 0.1 left on disk: entries only in the data file, the keys in JSON beside it.
      const staged = '0000018f000000010000000000000001';
      const queued = '0000018f000000010000000000000002';
      const meta = (id: string, tag: string) =>
        JSON.stringify({ v: 1, id, created: 1_700_000_000_000, keys: { tag, vars: {} } });
      await writeFile(join(dir, `buffer.b${staged}.log`), batch('old.staged', 2).bytes);
      await writeFile(join(dir, `buffer.b${staged}.log.meta`), meta(staged, 'old.staged'));
      await writeFile(join(dir, `buffer.q${queued}.log`), batch('old.queued', 3, 10).bytes);
      await writeFile(join(dir, `buffer.q${queued}.log.meta`), meta(queued, 'old.queued'));
      const cfg = `<buffer tag>\n@type file\npath ${dir}\nflush_interval 1h\n</buffer>`;
      const b = await build(cfg);
      await b.bo.start();
      assert.equal(b.bo.metrics().stagedChunks, 1);
      // The old staged chunk takes new events with its keys, after its entries.
      await b.bo.emit(batch('old.staged', 1, 2));
      await b.bo.flushAll();
      const byTag = (tag: string) =>
        b.out.written.filter((w) => w.keys.tag === tag).flatMap((w) => w.records.map((r) => r.n));
      assert.deepEqual(byTag('old.staged'), [0, 1, 2]);
      assert.deepEqual(byTag('old.queued'), [10, 11, 12]);
      await b.bo.stop();
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.startsWith('buffer.') && n !== 'buffer.lock'),
        [],
      );
    } finally {
      await cleanup();
    }
  });

  it('deletes a chunk file whose header was cut short (the first write never completed: nothing was accepted)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = `<buffer>\n@type file\npath ${dir}\n</buffer>`;
      const first = await build(cfg);
      await first.bo.start();
      await first.bo.emit(batch('t', 2));
      await first.bo.stop();
      const [file] = await chunkFiles(dir);
      const whole = await readFile(join(dir, file!));
      await writeFile(join(dir, file!), whole.subarray(0, 6));
      await writeFile(join(dir, 'buffer.b0123456789abcdef0123456789abcdef.log'), '');
      const { logger, lines } = logCapture();
      const ctx = testContext({ id: 'out1' });
      ctx.logger = logger;
      const second = await build(cfg, { ctx });
      await second.bo.start();
      assert.equal(second.bo.metrics().stagedChunks, 0);
      assert.deepEqual(await chunkFiles(dir), []);
      assert.deepEqual(
        lines.filter((l) => (l.level as number) >= 40),
        [],
      );
      await second.bo.stop();
    } finally {
      await cleanup();
    }
  });

  it('backs a chunk up as its entries only (a plain msgpack stream, without the chunk header)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const out = new FakeOutput();
      out.next = Array.from({ length: 5 }, () => ({ status: 'retry' as const, error: new Error('down') }));
      const ctx = testContext({ id: 'out1' });
      ctx.stateDir = dir;
      const cfg = `<buffer>\n@type file\npath ${join(dir, 'buf')}\nflush_mode immediate\nretry_wait 0.005\nretry_max_times 1\nretry_randomize false\n</buffer>`;
      const { bo } = await build(cfg, { output: out, ctx });
      await bo.start();
      await bo.emit(batch('a', 3));
      await out.waitFor(2, 'attempts');
      await bo.flushAll();
      await bo.stop();
      const at = join(dir, 'backup', 'worker0', 'out1');
      const files = await readdir(at);
      assert.equal(files.length, 1);
      assert.deepEqual(
        decodeMultiple(await readFile(join(at, files[0]!))).map((e) => (e as [unknown, { n: number }])[1].n),
        [0, 1, 2],
      );
    } finally {
      await cleanup();
    }
  });

  it('refuses a second user of the same path (same process, or another live process)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = `<buffer>\n@type file\npath ${dir}\n</buffer>`;
      const first = await build(cfg);
      await first.bo.start();
      const second = await build(cfg);
      await assert.rejects(second.bo.start(), BufferLockedError);
      await first.bo.stop();
      // a lock left by a live process (our parent) is refused; a stale one is taken over
      await writeFile(join(dir, 'buffer.lock'), `${process.ppid}\n`);
      const third = await build(cfg);
      await assert.rejects(third.bo.start(), /locked by running process/);
      await writeFile(join(dir, 'buffer.lock'), '999999999\n');
      const fourth = await build(cfg);
      await fourth.bo.start();
      assert.equal((await readFile(join(dir, 'buffer.lock'), 'utf8')).trim(), String(process.pid));
      await fourth.bo.stop();
    } finally {
      await cleanup();
    }
  });

  it('uses a worker<N> subdirectory with several workers, and root_dir when path is absent', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const ctx = testContext({ id: 'myout' });
      ctx.workers = 2;
      ctx.workerId = 1;
      ctx.stateDir = dir;
      const { bo } = await build('<buffer>\n@type file\n</buffer>', { ctx });
      await bo.start();
      await bo.emit(batch('t', 1));
      assert.equal((await chunkFiles(join(dir, 'buffer', 'myout', 'worker1'))).length, 1);
      await bo.stop();
      await mkdir(join(dir, 'x'));
    } finally {
      await cleanup();
    }
  });

  it('reads chunks back into reused memory, but never into bytes a timed-out write() still holds', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const out = await pastAHangingWrite(`@type file\npath ${dir}\n`);
      assert.deepEqual(out.held, out.heldCopy);
      assert.deepEqual(
        out.records().map((r) => r.n),
        Array.from({ length: 21 * 50 }, (_, i) => i),
      );
      // 22 reads: the held one, and the rest mostly in reused memory.
      assert.ok(out.memories.size <= 4, `${out.memories.size} buffers for 22 reads`);
    } finally {
      await cleanup();
    }
  });

  it('a Fluentd path pattern (app.*.log) names the chunk files; two outputs share a directory and each resumes only its own', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cfg = (name: string) =>
        `<buffer tag>\n@type file\npath ${join(dir, name)}\nflush_interval 1h\n</buffer>`;
      const app = await build(cfg('app.*.log'), { ctx: testContext({ id: 'app' }) });
      const debug = await build(cfg('debug.*'), { ctx: testContext({ id: 'debug' }) });
      await app.bo.start();
      await debug.bo.start();
      await app.bo.emit(batch('app.a', 3));
      await debug.bo.emit(batch('debug.a', 2));
      const names = (await readdir(dir)).sort();
      assert.equal(names.filter((n) => /^app\.b[0-9a-f]{32}\.log$/.test(n)).length, 1, names.join(' '));
      // A final '*' gets Fluentd's .log suffix.
      assert.equal(names.filter((n) => /^debug\.b[0-9a-f]{32}\.log$/.test(n)).length, 1, names.join(' '));
      assert.ok(names.includes('app.lock') && names.includes('debug.lock'), names.join(' '));
      await app.bo.stop();
      await debug.bo.stop();

      const again = await build(cfg('app.*.log'), { ctx: testContext({ id: 'app' }) });
      await again.bo.start();
      assert.equal(again.bo.metrics().stagedChunks, 1);
      await again.bo.flushAll();
      assert.deepEqual(
        again.out.records().map((r) => r.n),
        [0, 1, 2],
      );
      await again.bo.stop();
      // The other output's chunk is untouched.
      assert.equal((await readdir(dir)).filter((n) => n.startsWith('debug.b')).length, 1);
    } finally {
      await cleanup();
    }
  });
});
