import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import type { EventBatch } from '../../src/core/batch.ts';
import { Engine } from '../../src/engine/engine.ts';
import { openTarget, targetHost, tempDir, until } from './helpers.ts';

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `line ${from + i}\n`).join('');

/** A target reading one real file, with a host that records emits and caught-up hints. */
function setUp(path: string) {
  const events: string[] = [];
  let emitted = 0;
  const host = targetHost(
    async (b: EventBatch) => {
      emitted += b.count;
      events.push(`emit ${b.count}`);
    },
    (tag: string) => {
      events.push(`caught up ${tag} at ${emitted}`);
    },
  );
  const { target, close } = openTarget(path, 'app', host);
  return { target, events, close };
}

test('the tail hints "caught up" after reading a backlog to the end of the file, not after a trickle', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'app.log');
  writeFileSync(path, lines(0, 2500));
  const { target, events, close } = setUp(path);
  t.after(close);

  // A backlog of 2,500 lines (more than read_lines_limit): one hint once all are read.
  await target.kick();
  assert.deepEqual(events, ['emit 1000', 'emit 1000', 'emit 500', 'caught up app at 2500']);

  // Three new lines: emitted, no hint (each trickle would otherwise be a chunk of its own).
  events.length = 0;
  appendFileSync(path, lines(2500, 3));
  await target.kick();
  assert.deepEqual(events, ['emit 3']);

  // Nothing new: no emit, no hint.
  events.length = 0;
  await target.kick();
  assert.deepEqual(events, []);

  // Exactly read_lines_limit lines, ending at the end of a read: the hint still comes
  // (from the empty read that finds the end of the file).
  appendFileSync(path, lines(2503, 1000));
  await target.kick();
  assert.deepEqual(events, ['emit 1000', 'caught up app at 3503']);
});

test('in_tail -> buffer with flush_when_caught_up: a backlog is written out without waiting for flush_interval (1h)', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, lines(0, 2500));
  const out = join(dir, 'out');
  const engine = await Engine.fromText(
    `<source>\n@type tail\npath ${log}\ntag app\nread_from_head true\n<parse>\n@type none\n</parse>\n</source>\n` +
      `<match app>\n@type file\npath ${out}/\${tag}\nappend true\n<format>\n@type single_value\n</format>\n` +
      `<buffer tag>\nflush_mode interval\nflush_interval 1h\nflush_when_caught_up true\n</buffer>\n</match>\n`,
    { logger: pino({ level: 'silent' }) },
  );
  await engine.start();
  t.after(() => engine.stop());
  const written = () => {
    try {
      // Files only: out_file's default buffer is a directory at its path (as in Fluentd).
      return readdirSync(out, { withFileTypes: true })
        .filter((f) => f.isFile())
        .map((f) => readFileSync(join(out, f.name), 'utf8'))
        .join('');
    } catch {
      return '';
    }
  };
  await until(() => written() === lines(0, 2500), 'all 2,500 lines in the output file');
});
