import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTail, tempDir, until } from '../../tail/helpers.ts';

test('read_from_head reads existing lines; appended lines follow; partial lines wait for their newline', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, 'one\ntwo\r\nthr');
  const tl = await startTail(`path ${log}\ntag app\nread_from_head true\n<parse>\n@type none\n</parse>`, {
    t,
  });
  await until(() => tl.messages().length === 2, 'two lines');
  assert.deepEqual(tl.messages(), ['one', 'two']);
  appendFileSync(log, 'ee\nfour\n');
  await until(() => tl.messages().length === 4, 'four lines');
  assert.deepEqual(tl.messages(), ['one', 'two', 'three', 'four']);
  assert.ok(tl.ctx.emitted.every((b) => b.tag === 'app'));
});

test('without read_from_head or a position, a file present at startup is read from its end', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, 'old\n');
  const tl = await startTail(`path ${log}\ntag app\n<parse>\n@type none\n</parse>`, { t });
  appendFileSync(log, 'new\n');
  await until(() => tl.messages().length >= 1, 'new line');
  assert.deepEqual(tl.messages(), ['new']);
});

test('tag * expands to the path; path_key adds the path; a glob finds files created later and reads them whole', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'a.log'), 'a1\n');
  const tl = await startTail(
    `path ${dir}/*.log\ntag logs.*.x\npath_key file\nexclude_path ["${dir}/skip.log"]\nread_from_head true\n<parse>\n@type none\n</parse>`,
    {
      t,
    },
  );
  writeFileSync(join(dir, 'b.log'), 'b1\nb2\n');
  writeFileSync(join(dir, 'skip.log'), 'no\n');
  await until(() => tl.records().length === 3, 'three records');
  const byFile = new Map<string, string[]>();
  for (const r of tl.records())
    byFile.set(r.file as string, [...(byFile.get(r.file as string) ?? []), r.message as string]);
  assert.deepEqual(byFile.get(join(dir, 'a.log')), ['a1']);
  assert.deepEqual(byFile.get(join(dir, 'b.log')), ['b1', 'b2']);
  const tags = new Set(tl.ctx.emitted.map((b) => b.tag));
  const base = dir.replace(/\//g, '.').replace(/^\./, '');
  assert.deepEqual([...tags].sort(), [`logs.${base}.a.log.x`, `logs.${base}.b.log.x`]);
});

test("pos_file is Fluentd's format and a restart resumes after the last accepted line", async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'state', 'app.pos');
  writeFileSync(log, 'a\nb\n');
  const conf = `path ${log}\ntag app\npos_file ${pos}\nread_from_head true\n<parse>\n@type none\n</parse>`;
  const first = await startTail(conf);
  await until(() => first.messages().length === 2, 'first two');
  await first.stop();
  const text = readFileSync(pos, 'utf8');
  assert.match(text, new RegExp(`^${log.replace(/[.]/g, '\\.')}\\t0000000000000004\\t[0-9a-f]{16}\\n$`));
  appendFileSync(log, 'c\n');
  const second = await startTail(conf, { t });
  await until(() => second.messages().length === 1, 'only the new line');
  assert.deepEqual(second.messages(), ['c']);
});

test('an existing Fluentd pos file is honoured (moved over from Fluentd)', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'fluentd.pos');
  writeFileSync(log, 'seen-by-fluentd\nnew-1\nnew-2\n');
  const { statSync } = await import('node:fs');
  const ino = statSync(log, { bigint: true }).ino;
  const hex = (n: number | bigint) => n.toString(16).padStart(16, '0');
  writeFileSync(pos, `/gone.log\tffffffffffffffff\t0000000000000001\n${log}\t${hex(16)}\t${hex(ino)}\n`);
  const tl = await startTail(`path ${log}\ntag app\npos_file ${pos}\n<parse>\n@type none\n</parse>`, { t });
  await until(() => tl.messages().length === 2, 'lines after the saved position');
  assert.deepEqual(tl.messages(), ['new-1', 'new-2']);
  await tl.stop();
  // compaction at load dropped the unwatched entry
  assert.equal(readFileSync(pos, 'utf8'), `${log}\t${hex(statSync(log).size)}\t${hex(ino)}\n`);
});

test('max_line_size skips long lines (also across read chunks) and keeps the rest', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, `short\n${'x'.repeat(3 * 1024 * 1024)}\nafter\n${'y'.repeat(100)}\nend\n`);
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\nmax_line_size 64\n<parse>\n@type none\n</parse>`,
    { t },
  );
  await until(() => tl.messages().includes('end'), 'last line');
  assert.deepEqual(tl.messages(), ['short', 'after', 'end']);
});

test('read_lines_limit bounds a batch', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, Array.from({ length: 25 }, (_, i) => `l${i}\n`).join(''));
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\nread_lines_limit 10\n<parse>\n@type none\n</parse>`,
    { t },
  );
  await until(() => tl.messages().length === 25, '25 lines');
  assert.deepEqual(
    tl.ctx.emitted.map((b) => b.count),
    [10, 10, 5],
  );
});

test('json: objects become records; invalid lines go to @ERROR, or are emitted with emit_unmatched_lines', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, '{"a":1,"s":"\\u00e9"}\nnot json\n{"b":[1,2]}\n');
  const tl = await startTail(`path ${log}\ntag app\nread_from_head true\n<parse>\n@type json\n</parse>`, {
    t,
  });
  await until(() => tl.records().length === 2 && tl.ctx.errors.length === 1, 'two records and one error');
  assert.deepEqual(tl.records(), [{ a: 1, s: 'é' }, { b: [1, 2] }]);
  assert.equal(tl.ctx.errors[0]!.record.message, 'not json');
  const log2 = join(dir, 'b.log');
  writeFileSync(log2, 'oops\n{"ok":true}\n');
  const t2 = await startTail(
    `path ${log2}\ntag app\nread_from_head true\nemit_unmatched_lines true\n<parse>\n@type json\n</parse>`,
    { t },
  );
  await until(() => t2.records().length === 2, 'two records');
  assert.deepEqual(t2.records(), [{ unmatched_line: 'oops' }, { ok: true }]);
});

test('json with a time key uses the parser for the event time', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, '{"time":1700000000,"m":"x"}\n');
  const tl = await startTail(`path ${log}\ntag app\nread_from_head true\n<parse>\n@type json\n</parse>`, {
    t,
  });
  await until(() => tl.records().length === 1, 'one record');
  const e = tl.ctx.emitted[0]!.entries()[0]!;
  assert.equal(e.time.sec, 1700000000);
  assert.deepEqual(e.record, { m: 'x' });
});

test('from_encoding converts the file to UTF-8 strings', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in latin1
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\nfrom_encoding ISO-8859-1\nencoding UTF-8\n<parse>\n@type none\n</parse>`,
    { t },
  );
  await until(() => tl.messages().length === 1, 'one line');
  assert.deepEqual(tl.messages(), ['café']);
});

test('legacy `format none` on the source works like <parse>', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, 'x\n');
  const tl = await startTail(`path ${log}\ntag app\nread_from_head true\nformat none`, { t });
  await until(() => tl.messages().length === 1, 'one line');
});

test('bad configs fail with a clear error', async () => {
  await assert.rejects(startTail('path /x\ntag a'), /<parse> section is required/);
  await assert.rejects(
    startTail('path /x\ntag a\nfollow_inodes true\nformat none'),
    /follow_inodes needs pos_file/,
  );
  await assert.rejects(
    startTail('path /x\ntag a\nenable_watch_timer false\nenable_stat_watcher false\nformat none'),
    /either enable_watch_timer or enable_stat_watcher/,
  );
  await assert.rejects(
    startTail('path /x\ntag a\nfrom_encoding nope\nencoding utf-8\nformat none'),
    /unknown encoding 'nope'/,
  );
  await assert.rejects(startTail('path /x\ntag a\nrotate_wiat 5\nformat none'), /did you mean 'rotate_wait'/);
});

test('multiline: a Java stack trace becomes one event; the pending event is flushed after multiline_flush_interval', async (t) => {
  const { loadPlugin } = await import('../../../src/engine/registry.ts');
  await loadPlugin('parser', 'multiline');
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'pos');
  writeFileSync(
    log,
    [
      '2013-3-03 14:27:33 [main] ERROR Main - Exception',
      'javax.management.RuntimeErrorException: null',
      '    at Main.main(Main.java:16) ~[bin/:na]',
      '2013-3-03 14:28:00 [main] INFO  Main - ok',
      '',
    ].join('\n'),
  );
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\npos_file ${pos}\nmultiline_flush_interval 0.3s\n<parse>\n@type multiline\nformat_firstline /^\\d{4}-/\nformat1 /^(?<time>\\d{4}-\\d{1,2}-\\d{1,2} \\d{1,2}:\\d{1,2}:\\d{1,2}) \\[(?<thread>.*)\\] (?<level>[^\\s]+)(?<message>.*)/\n</parse>`,
    { t },
  );
  await until(() => tl.records().length === 2, 'two events (the second one flushed by the interval)');
  const [first, second] = tl.records();
  assert.equal(first!.thread, 'main');
  assert.equal(first!.level, 'ERROR');
  assert.match(
    first!.message as string,
    /Exception\njavax\.management\.RuntimeErrorException: null\n {4}at Main\.main/,
  );
  assert.equal(second!.level, 'INFO');
  await tl.stop();
  assert.match(
    readFileSync(pos, 'utf8'),
    new RegExp(`\\t${readFileSync(log).length.toString(16).padStart(16, '0')}\\t`),
  );
});

test('multiline: the committed position stays before an event still pending (a crash re-reads it)', async (t) => {
  const { loadPlugin } = await import('../../../src/engine/registry.ts');
  await loadPlugin('parser', 'multiline');
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'pos');
  writeFileSync(log, 'S one\n  more\nS two\n  more2\n');
  const conf = `path ${log}\ntag app\nread_from_head true\npos_file ${pos}\n<parse>\n@type multiline\nformat_firstline /^S/\nformat1 /^S (?<message>.*)/\n</parse>`;
  const first = await startTail(conf, { t });
  // The position is committed once the event was accepted, a moment after it was seen.
  const committed = () => readFileSync(pos, 'utf8').match(/\t([0-9a-f]{16})\t/)?.[1];
  await until(
    () => first.records().length === 1 && committed() !== undefined && committed() !== '0'.repeat(16),
    'first event accepted and its position committed',
  );
  // 'S two' is pending: the committed position is where it starts (byte 13)
  assert.equal(committed(), '000000000000000d');
  assert.equal(first.records()[0]!.message, 'one\n  more');
});

test('json: a line holding a JSON array gives one event per object', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, '[{"a":1},{"a":2}]\n');
  const tl = await startTail(`path ${log}\ntag app\nread_from_head true\n<parse>\n@type json\n</parse>`, {
    t,
  });
  await until(() => tl.records().length === 2, 'two records');
  assert.deepEqual(tl.records(), [{ a: 1 }, { a: 2 }]);
});

test('without pos_file, in_tail warns at start as Fluentd does (TAIL_NO_POS_FILE)', async () => {
  const { default: tail } = await import('../../../src/plugins/input/tail/index.ts');
  const { instantiate, testContext } = await import('../../../src/testing/context.ts');
  const { default: pino } = await import('pino');
  const lines: { code?: string; msg: string }[] = [];
  const build = (body: string) => {
    lines.length = 0;
    const ctx = testContext({ type: 'tail' });
    ctx.logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    instantiate(tail, `<source>\n@type tail\n${body}\n</source>\n`, ctx);
  };
  build('path /nonexistent/a.log\ntag a\n<parse>\n@type none\n</parse>');
  assert.equal(lines.filter((l) => l.code === 'TAIL_NO_POS_FILE').length, 1);
  assert.match(lines[0]!.msg, /'pos_file PATH' parameter is not set/);
  build('path /nonexistent/a.log\npos_file /nonexistent/a.pos\ntag a\n<parse>\n@type none\n</parse>');
  assert.equal(lines.length, 0);
});
