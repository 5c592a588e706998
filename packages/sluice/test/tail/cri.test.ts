// in_tail with <parse> @type cri: P partial lines are joined per file and stream up to
// their F line, and the position is never committed past a partial still held.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPlugin } from '../../src/engine/registry.ts';
import { startTail, tempDir, until } from './helpers.ts';

const cri = '<parse>\n@type cri\n</parse>';

test('partials are joined per stream up to the F line; stdout and stderr interleave', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  writeFileSync(
    log,
    [
      '2026-12-06T10:00:00.000000001Z stdout P first ',
      '2026-12-06T10:00:00.000000002Z stderr F an error',
      '2026-12-06T10:00:00.000000003Z stdout P part, ',
      '2026-12-06T10:00:00.000000004Z stderr P two ',
      '2026-12-06T10:00:00.000000005Z stdout F last part',
      '2026-12-06T10:00:00.000000006Z stderr F parts',
      '2026-12-06T10:00:00.000000007Z stdout F single',
      '',
    ].join('\n'),
  );
  const tl = await startTail(`path ${log}\ntag k8s\nread_from_head true\n${cri}`, { t });
  await until(() => tl.records().length === 4, 'four logical lines');
  assert.deepEqual(tl.records(), [
    { stream: 'stderr', logtag: 'F', message: 'an error', time: '2026-12-06T10:00:00.000000002Z' },
    {
      stream: 'stdout',
      logtag: 'F',
      message: 'first part, last part',
      time: '2026-12-06T10:00:00.000000001Z',
    },
    { stream: 'stderr', logtag: 'F', message: 'two parts', time: '2026-12-06T10:00:00.000000004Z' },
    { stream: 'stdout', logtag: 'F', message: 'single', time: '2026-12-06T10:00:00.000000007Z' },
  ]);
  // The joined line has the time of its first part.
  const times = tl.ctx.emitted.flatMap((b) => b.entries().map((e) => e.time.nsec));
  assert.deepEqual(times, [2, 1, 4, 7]);
});

test('a JSON message split into partials is parsed whole by the nested <parse>', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  writeFileSync(
    log,
    '2026-12-06T10:00:00Z stdout P {"msg":"he\n2026-12-06T10:00:00Z stdout P llo","n"\n2026-12-06T10:00:01Z stdout F :1}\n',
  );
  const tl = await startTail(
    `path ${log}\ntag k8s\nread_from_head true\n<parse>\n@type cri\n<parse>\n@type json\n</parse>\n</parse>`,
    { t },
  );
  await until(() => tl.records().length === 1, 'the joined line');
  assert.deepEqual(tl.records(), [{ msg: 'hello', n: 1, stream: 'stdout', logtag: 'F' }]);
});

test('the position stays before a held partial; after a restart the line is joined whole', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  const pos = join(dir, 'pos');
  const done = '2026-12-06T10:00:00Z stderr F done\n';
  const part = '2026-12-06T10:00:01Z stdout P held ';
  writeFileSync(log, `${done}${part}\n`);
  const conf = `path ${log}\ntag k8s\npos_file ${pos}\nread_from_head true\n${cri}`;
  const first = await startTail(conf);
  await until(() => first.records().length === 1, 'the stderr line');
  const committed = () => Number.parseInt(readFileSync(pos, 'utf8').split('\t')[1]!, 16);
  await until(() => committed() === done.length, 'the commit of the stderr line');
  await first.stop();
  assert.equal(committed(), done.length, 'not past the held partial, also after stop');
  assert.deepEqual(
    first.records().map((r) => r.message),
    ['done'],
    'the held partial is not emitted at shutdown',
  );
  appendFileSync(log, '2026-12-06T10:00:02Z stdout F and finished\n');
  const second = await startTail(conf, { t });
  await until(() => second.records().length === 1, 'the joined line');
  assert.equal(second.records()[0]!.message, 'held and finished');
  await until(() => committed() === readFileSync(log).length, 'the commit past the F line');
});

test('join_partials false emits each part, as Fluentd does', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  writeFileSync(log, '2026-12-06T10:00:00Z stdout P a\n2026-12-06T10:00:00Z stdout F b\n');
  const tl = await startTail(
    `path ${log}\ntag k8s\nread_from_head true\n<parse>\n@type cri\njoin_partials false\n</parse>`,
    { t },
  );
  await until(() => tl.records().length === 2, 'both parts');
  assert.deepEqual(
    tl.records().map((r) => [r.logtag, r.message]),
    [
      ['P', 'a'],
      ['F', 'b'],
    ],
  );
});

test('a line whose parts straddle a rotation (P in the renamed file, F in the new one) is joined whole', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  writeFileSync(log, '2026-12-06T10:00:00Z stderr F before\n2026-12-06T10:00:01Z stdout P first half, \n');
  const tl = await startTail(`path ${log}\ntag k8s\nread_from_head true\nrotate_wait 0.2s\n${cri}`, { t });
  await until(() => tl.records().length === 1, 'the stderr line');
  // The kubelet renames the file; containerd reopens it and writes the rest of the line.
  renameSync(log, `${log}.20261206-100002`);
  writeFileSync(log, '2026-12-06T10:00:02Z stdout F second half\n2026-12-06T10:00:03Z stdout F next\n');
  await until(() => tl.records().length === 3, 'the joined line and the next');
  assert.deepEqual(
    tl.records().map((r) => [r.logtag, r.message, r.time]),
    [
      ['F', 'before', '2026-12-06T10:00:00Z'],
      ['F', 'first half, second half', '2026-12-06T10:00:01Z'],
      ['F', 'next', '2026-12-06T10:00:03Z'],
    ],
  );
});

test('parts still held when their rotated file is let go are emitted as they are (logtag P), not lost', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  writeFileSync(log, '2026-12-06T10:00:00Z stderr F before\n2026-12-06T10:00:01Z stdout P orphaned part\n');
  const tl = await startTail(`path ${log}\ntag k8s\nread_from_head true\nrotate_wait 0.1s\n${cri}`, { t });
  await until(() => tl.records().length === 1, 'the stderr line');
  renameSync(log, `${log}.1`);
  writeFileSync(log, '2026-12-06T10:00:02Z stderr F after\n');
  await until(() => tl.records().length === 3, 'the part, when the old file is let go');
  assert.deepEqual(
    tl
      .records()
      .map((r) => [r.logtag, r.message])
      .sort(),
    [
      ['F', 'after'],
      ['F', 'before'],
      ['P', 'orphaned part'],
    ],
  );
});

test('max_line_size bounds a joined line: one longer is skipped (with a warning), the next is read', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  const part = 'x'.repeat(60);
  writeFileSync(
    log,
    [
      `2026-12-06T10:00:00Z stdout P ${part}`,
      `2026-12-06T10:00:00Z stdout P ${part}`,
      `2026-12-06T10:00:00Z stdout P ${part}`,
      `2026-12-06T10:00:00Z stdout F end`,
      `2026-12-06T10:00:01Z stdout P short `,
      `2026-12-06T10:00:01Z stdout F line`,
      '',
    ].join('\n'),
  );
  const tl = await startTail(`path ${log}\ntag k8s\nread_from_head true\nmax_line_size 150\n${cri}`, { t });
  await until(() => tl.records().length === 1, 'the short line');
  assert.deepEqual(
    tl.records().map((r) => r.message),
    ['short line'],
  );
});

test('multiline_flush_interval emits parts held that long as they are (logtag P); the F then comes alone', async (t) => {
  await loadPlugin('parser', 'cri');
  const dir = await tempDir(t);
  const log = join(dir, '0.log');
  writeFileSync(log, '2026-12-06T10:00:00Z stdout P waited for\n');
  const tl = await startTail(
    `path ${log}\ntag k8s\nread_from_head true\nmultiline_flush_interval 0.2s\n${cri}`,
    { t },
  );
  await until(() => tl.records().length === 1, 'the held part, after the flush interval');
  appendFileSync(log, '2026-12-06T10:00:05Z stdout F  too long\n');
  await until(() => tl.records().length === 2, 'the F line');
  assert.deepEqual(
    tl.records().map((r) => [r.logtag, r.message]),
    [
      ['P', 'waited for'],
      ['F', ' too long'],
    ],
  );
});
