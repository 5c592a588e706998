// in_tail with a concat filter behind it: the position is not committed past lines concat
// still holds (core/holds.ts), so a crash or a stop never skips them.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { recordsOf, registerTestPlugins, resetCapture } from '../helpers/capture.ts';
import { tempDir, until } from './helpers.ts';

test('the tail position stays before the lines of a group concat still holds', async (t) => {
  registerTestPlugins();
  t.after(() => resetCapture());
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'app.pos');
  const conf = `<source>
  @type tail
  path ${log}
  pos_file ${pos}
  tag app
  read_from_head true
  <parse>
    @type none
  </parse>
</source>
<filter app>
  @type concat
  key message
  multiline_start_regexp /^Start/
</filter>
<match app>
  @type test_capture
  name out
</match>
<label @ERROR>
  <match **>
    @type test_capture
    name error
  </match>
</label>
`;
  const committed = () => Number.parseInt(readFileSync(pos, 'utf8').split('\t')[1] ?? '0', 16);
  const first = 'orphan\nStart a\n  b\n';
  writeFileSync(log, first);
  const e = await Engine.fromText(conf, { logger: pino({ level: 'silent' }) });
  await e.start();
  try {
    await until(() => recordsOf('out').length === 1, 'the line before any start');
    assert.deepEqual(recordsOf('out'), [{ message: 'orphan' }]);
    assert.equal(committed(), 0, 'the batch with the held group is not committed');
    appendFileSync(log, 'Start c\n');
    await until(() => recordsOf('out').length === 2, 'the group, once the next start came');
    assert.deepEqual(recordsOf('out')[1], { message: 'Start a\n  b' });
    await until(() => committed() === first.length, 'the commit up to the batch that holds Start c');
  } finally {
    await e.stop();
  }
  // At stop concat flushed the open group (to @ERROR, no timeout_label): nothing lost, and
  // the position still stands before it, so a restart reads it again.
  assert.deepEqual(recordsOf('error'), [{ message: 'Start c' }]);
  assert.equal(committed(), first.length);
});

/** Whether this process has `path` open: Linux's /proc/self/fd. */
function opened(path: string): boolean {
  return readdirSync('/proc/self/fd').some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

test('a rotated file whose lines concat still holds is let go only once they have gone on', async (t) => {
  registerTestPlugins();
  t.after(() => resetCapture());
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  const pos = join(dir, 'app.pos');
  writeFileSync(log, 'Start a\n  b\n');
  const e = await Engine.fromText(
    `<source>
  @type tail
  path ${log}
  pos_file ${pos}
  tag app
  read_from_head true
  rotate_wait 0s
  <parse>
    @type none
  </parse>
</source>
<filter app>
  @type concat
  key message
  multiline_start_regexp /^Start/
</filter>
<match app>
  @type test_capture
  name out
</match>
`,
    { logger: pino({ level: 'silent' }) },
  );
  await e.start();
  try {
    await until(() => opened(log), 'the tail to open the file');
    const oldIno = statSync(log).ino;
    renameSync(log, `${log}.1`);
    writeFileSync(log, '  c\n');
    await until(() => opened(log), 'the tail to open the new file');
    // The old file is read and rotate_wait (0 s) has passed, but "Start a" and "  b" are still held.
    const posIno = () => Number.parseInt(readFileSync(pos, 'utf8').split('\t')[2] ?? '0', 16);
    assert.equal(posIno(), oldIno, 'the pos file still names the old file');
    assert.equal(opened(`${log}.1`), true, 'the old file is kept');
    assert.deepEqual(recordsOf('out'), []);
    appendFileSync(log, 'Start d\n');
    await until(() => recordsOf('out').length === 1, 'the group, once the next start came');
    assert.deepEqual(recordsOf('out'), [{ message: 'Start a\n  b\n  c' }]);
    await until(() => !opened(`${log}.1`), 'the old file let go');
    await until(() => posIno() === statSync(log).ino, 'the pos file on the new file');
  } finally {
    await e.stop();
  }
});
