import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeEntries } from '../../src/core/batch.ts';
import { BufferOverflowError, ConfigError } from '../../src/core/errors.ts';
import { testContext } from '../../src/testing/context.ts';
import { batch, build, FakeOutput, outputElement, tempDir } from './helpers.ts';

describe('buffered output (memory)', () => {
  it('keys chunks by tag and delivers every event on flushAll', async () => {
    const { bo, out } = await build('<buffer tag>\n</buffer>');
    await bo.start();
    await bo.emit(batch('app.web', 3));
    await bo.emit(batch('app.db', 2, 100));
    await bo.emit(batch('app.web', 1, 3));
    assert.equal(bo.metrics().stagedChunks, 2);
    await bo.flushAll();
    assert.equal(out.written.length, 2);
    const web = out.written.find((w) => w.keys.tag === 'app.web')!;
    assert.deepEqual(
      web.records.map((r) => r.n),
      [0, 1, 2, 3],
    );
    assert.equal(web.chunk.expand('/api/${tag[1]}/${tag[-1]}/${tag}'), '/api/web/web/app.web');
    await bo.stop();
  });

  it('chunk_limit_records 1 with flush_mode immediate writes each event alone', async () => {
    const { bo, out } = await build(
      '<buffer tag>\nflush_mode immediate\nchunk_limit_records 1\nflush_thread_count 4\n</buffer>',
    );
    await bo.start();
    await bo.emit(batch('a', 5));
    await out.waitFor(5);
    assert.equal(out.written.length, 5);
    assert.ok(out.written.every((w) => w.count === 1));
    await bo.stop();
  });

  it('splits a batch larger than chunk_limit_size across chunks, keeping order', async () => {
    const { bo, out } = await build('<buffer>\nchunk_limit_size 1k\nflush_mode immediate\n</buffer>');
    await bo.start();
    await bo.emit(batch('a', 100, 0, 1_700_000_000, 40));
    await out.waitFor(100);
    assert.ok(out.written.length > 3);
    assert.ok(out.written.every((w) => w.chunk.bytes.length <= 1024));
    assert.deepEqual(
      out.records().map((r) => r.n),
      Array.from({ length: 100 }, (_, i) => i),
    );
    await bo.stop();
  });

  it('drops (and counts) a record larger than chunk_limit_size, keeps the rest', async () => {
    const { bo, out } = await build('<buffer>\nchunk_limit_size 200\nflush_mode immediate\n</buffer>');
    await bo.start();
    const b = batch('a', 3, 0, 1_700_000_000, 10);
    await bo.emit(b);
    await bo.emit(batch('a', 1, 9, 1_700_000_000, 500));
    await out.waitFor(3);
    await bo.flushAll();
    assert.deepEqual(
      out.records().map((r) => r.n),
      [0, 1, 2],
    );
    assert.equal(bo.metrics().dropCount, 1);
    await bo.stop();
  });

  it('keys by time (timekey) and expands strftime placeholders in the timekey zone', async () => {
    const { bo, out } = await build('<buffer time>\ntimekey 1h\ntimekey_use_utc true\n</buffer>');
    await bo.start();
    const t0 = Date.UTC(2026, 10, 21, 10, 15) / 1000;
    await bo.emit(batch('a', 2, 0, t0));
    await bo.emit(batch('a', 1, 2, t0 + 3600));
    await bo.flushAll();
    const paths = out.written.map((w) => w.chunk.expand('/logs/%Y/%m/%d/%H.log')).sort();
    assert.deepEqual(paths, ['/logs/2026/11/21/10.log', '/logs/2026/11/21/11.log']);
    assert.equal(out.written.find((w) => w.chunk.expand('%H') === '10')!.count, 2);
    await bo.stop();
  });

  it('aligns timekeys to the configured zone, as Fluentd does', async () => {
    const { bo, out } = await build('<buffer time>\ntimekey 1d\ntimekey_zone +09:00\n</buffer>');
    await bo.start();
    // 2026-11-21 23:30 UTC is 2026-11-22 08:30 in +09:00
    await bo.emit(batch('a', 1, 0, Date.UTC(2026, 10, 21, 23, 30) / 1000));
    await bo.flushAll();
    assert.equal(out.written[0]!.chunk.expand('%Y%m%d'), '20261122');
    assert.equal(out.written[0]!.keys.time, Date.UTC(2026, 10, 21, 15, 0) / 1000);
    await bo.stop();
  });

  it('keys by record values, nested ones too', async () => {
    const { bo, out } = await build('<buffer level, $.k8s.ns>\n</buffer>');
    await bo.start();
    const { EventBatch } = await import('../../src/core/batch.ts');
    const { EventTime } = await import('@sluice/forward');
    const t = new EventTime(1, 0);
    await bo.emit(
      EventBatch.fromEntries('x', [
        { time: t, record: { level: 'info', k8s: { ns: 'a' } } },
        { time: t, record: { level: 'warn', k8s: { ns: 'a' } } },
        { time: t, record: { level: 'info', k8s: { ns: 'a' } } },
      ]),
    );
    await bo.flushAll();
    const got = out.written.map((w) => `${w.chunk.expand('${level}/${$.k8s.ns}')}:${w.count}`).sort();
    assert.deepEqual(got, ['info/a:2', 'warn/a:1']);
    await bo.stop();
  });

  it('refuses placeholders whose key is not a chunk key, at configure time', async () => {
    await assert.rejects(
      build('<buffer>\n</buffer>', {
        outputElement: outputElement('<match x>\n@type fake\nendpoint http://h/${tag[1]}\n</match>'),
      }),
      (e: Error) =>
        e instanceof ConfigError &&
        /chunk key 'tag' is not configured/.test(e.message) &&
        /test\.conf:3/.test(e.message),
    );
    await assert.rejects(
      build('<buffer tag>\n</buffer>', {
        outputElement: outputElement('<match x>\n@type fake\npath /l/%Y\n</match>'),
      }),
      /chunk key 'time' is not configured/,
    );
    await assert.rejects(
      build('<buffer tag>\n</buffer>', {
        outputElement: outputElement('<match x>\n@type fake\npath /l/${host}\n</match>'),
      }),
      /keys host that are not chunk keys/,
    );
    await build('<buffer tag, host>\n</buffer>', {
      outputElement: outputElement('<match x>\n@type fake\npath /l/${tag}/${host}\n</match>'),
    });
  });

  it("leaves a per-event strftime format alone (the official DaemonSet's logstash_dateformat)", async () => {
    // fluentd-kubernetes-daemonset debian-elasticsearch7 fluent.conf, with the variable unset:
    //   logstash_dateformat "#{ENV['FLUENT_ELASTICSEARCH_LOGSTASH_DATEFORMAT'] || '%Y.%m.%d'}"
    // Each event's own time picks its index; Fluentd checks no placeholder there.
    const { descriptor } = await import('./helpers.ts');
    const withFormat = {
      ...descriptor,
      schema: {
        params: {
          logstash_dateformat: {
            type: 'string' as const,
            default: '%Y.%m.%d',
            eventTimeFormat: true,
            description: 'index date of each event',
          },
        },
      },
    };
    const conf = `<match **>\n@type fake\nlogstash_dateformat "#{ENV['FLUENT_ELASTICSEARCH_LOGSTASH_DATEFORMAT'] || '%Y.%m.%d'}"\n</match>`;
    const { bo } = await build('<buffer>\n</buffer>', {
      descriptor: withFormat,
      outputElement: outputElement(conf),
    });
    await bo.stop();
    // Unmarked, the same value is still taken for a placeholder and refused without `time`.
    await assert.rejects(
      build('<buffer>\n</buffer>', { outputElement: outputElement(conf) }),
      /'logstash_dateformat' \("%Y\.%m\.%d"\) has timestamp placeholders/,
    );
  });

  it('rejects unknown and invalid buffer parameters with location and hint', async () => {
    await assert.rejects(
      build('<buffer>\nchunk_limit_szie 1m\n</buffer>'),
      (e: Error) =>
        e instanceof ConfigError &&
        /did you mean 'chunk_limit_size'/.test(e.message) &&
        /test\.conf:3/.test(e.message),
    );
    await assert.rejects(build('<buffer time>\n</buffer>'), /timekey/);
    await assert.rejects(
      build('<buffer>\n@type nosuch\n</buffer>'),
      /buffer plugin 'nosuch' is not built in Sluice/,
    );
    await assert.rejects(build('<buffer>\ncompress gzip\n</buffer>'), /not built/);
    await assert.rejects(build('<buffer>\n@type file\n</buffer>'), /needs 'path'/);
  });

  it('uses the output default chunk keys and a 1d timekey (out_file style)', async () => {
    const { descriptor } = await import('./helpers.ts');
    const { bo } = await build(undefined, {
      descriptor: { ...descriptor, bufferDefaults: { chunkKeys: ['time'] } },
    });
    assert.equal(bo.config.timekey, 86400);
    assert.equal(bo.config.flushMode, 'lazy');
  });
});

describe('buffered output: overflow', () => {
  it('throw_exception rejects the emit with BufferOverflowError when total_limit_size is reached', async () => {
    const out = new FakeOutput();
    out.next = ['hang'];
    const { bo } = await build(
      '<buffer>\nchunk_limit_size 1k\ntotal_limit_size 2k\nflush_mode immediate\n</buffer>',
      { output: out },
    );
    await bo.start();
    let refused: unknown;
    let accepted = 0;
    for (let i = 0; i < 10 && !refused; i++) {
      await bo.emit(batch('a', 4, 0, 1, 100)).then(
        () => void accepted++,
        (e) => {
          refused = e;
        },
      );
    }
    assert.ok(refused instanceof BufferOverflowError, String(refused));
    assert.ok(accepted >= 3);
    assert.ok(bo.metrics().queuedBytes + bo.metrics().stagedBytes <= 2048);
  });

  it('block makes emit wait until a write frees space', async () => {
    const out = new FakeOutput();
    let release!: (r: { status: 'ok' }) => void;
    out.next = [new Promise((r) => (release = r))];
    const { bo } = await build(
      '<buffer>\nchunk_limit_size 1k\ntotal_limit_size 2k\nflush_mode immediate\noverflow_action block\n</buffer>',
      { output: out },
    );
    await bo.start();
    let accepted = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 8; i++) all.push(bo.emit(batch('a', 4, i * 4, 1, 150)).then(() => void accepted++));
    await Promise.all(all.slice(0, 2));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.ok(accepted < 8, `emits wait while the buffer is full (accepted ${accepted})`);
    assert.ok(bo.metrics().queuedBytes + bo.metrics().stagedBytes <= 2048);
    release({ status: 'ok' });
    await Promise.all(all);
    await bo.flushAll();
    assert.deepEqual(
      out
        .records()
        .map((r) => r.n)
        .sort((a, b) => (a as number) - (b as number)),
      Array.from({ length: 32 }, (_, i) => i),
    );
    await bo.stop();
  });

  it('drop_oldest_chunk drops queued chunks and counts them', async () => {
    const out = new FakeOutput();
    out.next = ['hang'];
    const { bo } = await build(
      '<buffer>\nchunk_limit_size 1k\ntotal_limit_size 3k\nflush_mode immediate\noverflow_action drop_oldest_chunk\n</buffer>',
      { output: out },
    );
    await bo.start();
    for (let i = 0; i < 10; i++) await bo.emit(batch('a', 4, i * 4, 1, 150));
    const m = bo.metrics();
    assert.ok(m.dropCount >= 20, `dropped ${m.dropCount}`);
    assert.ok(m.queuedBytes + m.stagedBytes <= 3 * 1024);
  });

  it('a stopped buffer refuses emits', async () => {
    const { bo } = await build('<buffer>\n</buffer>');
    await bo.start();
    await bo.stop();
    await assert.rejects(bo.emit(batch('a', 1)), /stopped/);
  });
});

describe('buffered output: retries, secondary, backup', () => {
  it('retries a failed write and delivers after the output recovers', async () => {
    const out = new FakeOutput();
    out.next = [
      { status: 'retry', error: new Error('503') },
      new Error('ECONNREFUSED'),
      { status: 'retry', error: new Error('503') },
    ];
    const { bo } = await build(
      '<buffer>\nflush_mode immediate\nretry_wait 0.01\nretry_randomize false\n</buffer>',
      { output: out },
    );
    await bo.start();
    await bo.emit(batch('a', 3));
    await out.waitFor(3);
    await bo.flushAll();
    const m = bo.metrics();
    assert.equal(m.retryCount, 3);
    assert.equal(m.writeCount, 1);
    assert.equal(m.nextRetryAt, undefined);
    assert.match(m.lastError!, /503/);
    await bo.stop();
  });

  it('a retry delay asked by the output is honoured', async () => {
    let t = 1_000_000;
    const out = new FakeOutput();
    out.next = [{ status: 'retry', error: new Error('429'), delayMs: 30_000 }];
    const { bo } = await build(
      '<buffer>\nflush_mode immediate\nretry_wait 1\nretry_randomize false\n</buffer>',
      { output: out, now: () => t },
    );
    await bo.start();
    await bo.emit(batch('a', 1));
    await out.waitFor(1, 'attempts');
    await new Promise((r) => setImmediate(r));
    assert.equal(bo.metrics().nextRetryAt, t + 30_000);
    t += 30_000;
    await bo.stop();
  });

  it('gives up after retry_max_times and backs the chunk up under root_dir/backup', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const out = new FakeOutput();
      out.next = Array.from({ length: 10 }, () => ({ status: 'retry' as const, error: new Error('down') }));
      const ctx = testContext({ id: 'out1' });
      ctx.stateDir = dir;
      const { bo } = await build(
        '<buffer>\nflush_mode immediate\nretry_wait 0.005\nretry_max_times 2\nretry_randomize false\n</buffer>',
        { output: out, ctx },
      );
      await bo.start();
      await bo.emit(batch('a', 3));
      await out.waitFor(3, 'attempts');
      await bo.flushAll();
      await bo.stop();
      const files = await readdir(join(dir, 'backup', 'worker0', 'out1'));
      assert.equal(files.length, 1);
      const entries = decodeEntries(await readFile(join(dir, 'backup', 'worker0', 'out1', files[0]!)));
      assert.deepEqual(
        entries.map((e) => e.record.n),
        [0, 1, 2],
      );
      assert.equal(bo.metrics().dropCount, 3);
      assert.equal(bo.metrics().backupCount, 1);
    } finally {
      await cleanup();
    }
  });

  it('a fatal result backs the chunk up at once (unless disable_chunk_backup)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const disable of [false, true]) {
        const out = new FakeOutput();
        out.next = [{ status: 'fatal', error: new Error('400 bad request') }];
        const ctx = testContext({ id: `fatal${disable}` });
        ctx.stateDir = dir;
        const { bo } = await build(
          `<buffer>\nflush_mode immediate\ndisable_chunk_backup ${disable}\n</buffer>`,
          { output: out, ctx },
        );
        await bo.start();
        await bo.emit(batch('a', 2));
        await bo.flushAll();
        await bo.stop();
        assert.equal(out.attempts, 1);
        assert.equal(bo.metrics().dropCount, 2);
        const has = await readdir(join(dir, 'backup', 'worker0', `fatal${disable}`)).then(
          (f) => f.length,
          () => 0,
        );
        assert.equal(has, disable ? 0 : 1);
      }
    } finally {
      await cleanup();
    }
  });

  it('moves to <secondary> after retry_secondary_threshold of the retry time', async () => {
    const out = new FakeOutput();
    out.next = Array.from({ length: 50 }, () => ({ status: 'retry' as const, error: new Error('down') }));
    const secondary = new FakeOutput();
    // transition at 0.1 x 1s: attempts at 0, 0.05, 0.1 (secondary)
    const { bo } = await build(
      '<buffer>\nflush_mode immediate\nretry_wait 0.05\nretry_timeout 1\nretry_secondary_threshold 0.1\nretry_randomize false\n</buffer>',
      { output: out, secondary },
    );
    await bo.start();
    await bo.emit(batch('a', 2));
    await secondary.waitFor(2);
    await bo.flushAll();
    assert.ok(out.attempts >= 2);
    assert.equal(bo.metrics().secondaryCount, 1);
    await bo.stop();
  });

  it('delayed_commit_timeout: a write that never settles is retried', async () => {
    const out = new FakeOutput();
    out.next = ['hang'];
    const { bo } = await build(
      '<buffer>\nflush_mode immediate\ndelayed_commit_timeout 0.05\nretry_wait 0.01\n</buffer>',
      { output: out },
    );
    await bo.start();
    await bo.emit(batch('a', 1));
    await out.waitFor(1);
    assert.equal(out.attempts, 2);
    assert.match(bo.metrics().lastError!, /delayed_commit_timeout/);
    await bo.stop();
  });

  it('flushes everything at stop (memory default flush_at_shutdown true)', async () => {
    const { bo, out } = await build('<buffer>\nflush_interval 1h\n</buffer>');
    await bo.start();
    await bo.emit(batch('a', 4));
    assert.equal(out.written.length, 0);
    await bo.stop();
    assert.equal(out.records().length, 4);
  });

  it('interval mode enqueues a chunk flush_interval after it was created', async () => {
    const { bo, out } = await build('<buffer>\nflush_interval 0.05\n</buffer>');
    await bo.start();
    await bo.emit(batch('a', 2));
    assert.equal(out.written.length, 0);
    await out.waitFor(2);
    await bo.stop();
  });

  it("flush_when_caught_up: an input's caught-up hint sends that tag's staged chunk without waiting for flush_interval", async () => {
    const { bo, out } = await build('<buffer tag>\nflush_interval 1h\nflush_when_caught_up true\n</buffer>');
    await bo.start();
    await bo.emit(batch('a', 2));
    await bo.emit(batch('b', 1, 2));
    assert.equal(bo.metrics().stagedChunks, 2);
    bo.caughtUp('a');
    assert.equal(bo.metrics().stagedChunks, 1, "only a's chunk left the stage");
    await out.waitFor(2);
    assert.deepEqual(
      out.written.map((w) => w.keys.tag),
      ['a'],
    );
    await bo.stop();
  });

  it('without flush_when_caught_up, a caught-up hint changes nothing (Fluentd behaviour)', async () => {
    const { bo, out } = await build('<buffer tag>\nflush_interval 1h\n</buffer>');
    await bo.start();
    await bo.emit(batch('a', 2));
    bo.caughtUp('a');
    assert.equal(bo.metrics().stagedChunks, 1);
    assert.equal(bo.metrics().queuedChunks, 0);
    assert.equal(out.written.length, 0);
    await bo.stop();
  });

  it('flush_when_caught_up is refused outside flush_mode interval', async () => {
    await assert.rejects(
      build('<buffer time>\ntimekey 1h\nflush_when_caught_up true\n</buffer>'),
      (e: Error) =>
        e instanceof ConfigError &&
        /flush_when_caught_up' needs flush_mode interval \(this buffer's is lazy\)/.test(e.message),
    );
  });
});
