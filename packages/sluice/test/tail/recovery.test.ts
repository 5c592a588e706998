import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PositionFile } from '../../src/plugins/input/tail/position-file.ts';
import { startTail, tempDir, until } from './helpers.ts';

const none = '<parse>\n@type none\n</parse>';

test('a file rotated while Sluice was stopped is finished from the saved position before the new one', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'pos');
  writeFileSync(log, 'a1\na2\n');
  const conf = `path ${log}\ntag app\npos_file ${pos}\nread_from_head true\nrotate_wait 0.2s\n${none}`;
  const first = await startTail(conf);
  await until(() => first.messages().length === 2, 'first lines');
  await first.stop();
  appendFileSync(log, 'a3\na4\n'); // written after the stop, before the rotation
  renameSync(log, `${log}.1`);
  writeFileSync(log, 'b1\n');
  const second = await startTail(conf, { t });
  await until(() => second.messages().length === 3, 'the rest of the old file and the new file');
  assert.deepEqual(second.messages(), ['a3', 'a4', 'b1']);
});

test('when the output refuses a batch, the same lines are retried and the position does not move', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'pos');
  writeFileSync(log, 'x1\nx2\n');
  let refusals = 1;
  let posAtRetry = '';
  const tl = await startTail(`path ${log}\ntag app\npos_file ${pos}\nread_from_head true\n${none}`, {
    t,
    onEmit: () => {
      if (refusals-- > 0) throw new Error('buffer full');
      posAtRetry = readFileSync(pos, 'utf8');
    },
  });
  await until(() => tl.messages().length === 2, 'the retried batch');
  assert.match(posAtRetry, /\t0000000000000000\t/, 'the position did not move while the batch was refused');
  assert.deepEqual(tl.messages(), ['x1', 'x2']);
  await until(() => /\t0000000000000006\t/.test(readFileSync(pos, 'utf8')), 'the position after acceptance');
});

test('read_bytes_limit_per_second bounds how much one read takes', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const line = `${'z'.repeat(99)}\n`;
  writeFileSync(log, line.repeat(300)); // 30,000 bytes
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\nread_bytes_limit_per_second 8192\n${none}`,
    { t },
  );
  await until(() => tl.messages().length >= 1, 'a first batch');
  // 8192 bytes hold 81 whole lines of 100 bytes: the first batch cannot be larger
  assert.ok(tl.ctx.emitted[0]!.count <= 81, `first batch had ${tl.ctx.emitted[0]!.count} lines`);
});

test('limit_recently_modified skips files a glob matches that were not modified recently', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'old.log'), 'old\n');
  const past = new Date(Date.now() - 3600_000);
  utimesSync(join(dir, 'old.log'), past, past);
  writeFileSync(join(dir, 'new.log'), 'new\n');
  const tl = await startTail(
    `path ${dir}/*.log\ntag app\nread_from_head true\nlimit_recently_modified 10m\n${none}`,
    { t },
  );
  await until(() => tl.messages().length >= 1, 'the recent file');
  assert.deepEqual(tl.messages(), ['new']);
});

test('open_on_every_update reads appended lines without keeping the file open', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, 'o1\n');
  const tl = await startTail(
    `path ${log}\ntag app\nread_from_head true\nopen_on_every_update true\n${none}`,
    { t },
  );
  await until(() => tl.messages().length === 1, 'first line');
  appendFileSync(log, 'o2\n');
  await until(() => tl.messages().length === 2, 'appended line');
  assert.deepEqual(tl.messages(), ['o1', 'o2']);
});

test('pos file: entries are updated in place, unwatched ones dropped by compaction', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'x.pos');
  const pf = PositionFile.open(p, false);
  const a = pf.get('/a.log', 5n);
  a.update(5n, 0x1234);
  const b = pf.get('/b.log', 7n);
  b.update(7n, 10);
  const size = statSync(p).size;
  a.updatePos(0x5678);
  assert.equal(statSync(p).size, size, 'a position update does not grow the file');
  assert.equal(
    readFileSync(p, 'utf8'),
    '/a.log\t0000000000005678\t0000000000000005\n/b.log\t000000000000000a\t0000000000000007\n',
  );
  pf.unwatch(a);
  assert.match(readFileSync(p, 'utf8'), /^\/a\.log\tffffffffffffffff\t/);
  pf.compact();
  b.updatePos(11); // entries handed out before compaction still write to the right place
  assert.equal(readFileSync(p, 'utf8'), '/b.log\t000000000000000b\t0000000000000007\n');
  pf.close();
  // A pos file that is already compact is opened as it is (no rewrite, no fsync at start)...
  const ino = statSync(p).ino;
  const again = PositionFile.open(p, false);
  assert.equal(statSync(p).ino, ino);
  assert.equal(again.find('/b.log', 7n)?.pos, 11);
  again.find('/b.log', 7n)!.updatePos(12);
  assert.equal(readFileSync(p, 'utf8'), '/b.log\t000000000000000c\t0000000000000007\n');
  again.close();
  // ...one with a duplicate entry is rewritten with the last one.
  writeFileSync(
    p,
    '/b.log\t0000000000000001\t0000000000000007\n/b.log\t0000000000000002\t0000000000000007\n',
  );
  const third = PositionFile.open(p, false);
  assert.notEqual(statSync(p).ino, ino);
  assert.equal(readFileSync(p, 'utf8'), '/b.log\t0000000000000002\t0000000000000007\n');
  third.close();
});
