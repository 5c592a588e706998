import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTail, tempDir, until } from './helpers.ts';

type Method = 'rename' | 'copytruncate' | 'delete';

/**
 * A writer appends numbered lines at a steady rate while the file is rotated `rotations`
 * times by `method`; every number must arrive exactly once.
 */
async function rotateUnderLoad(
  t: Parameters<typeof tempDir>[0],
  method: Method,
  opts: { rotations: number; followInodes?: boolean },
) {
  const dir = await tempDir(t);
  const log = join(dir, 'app.log');
  let fd = openSync(log, 'a');
  let seq = 0;
  const write = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += `line ${String(seq++).padStart(8, '0')} ${'p'.repeat(40)}\n`;
    writeSync(fd, s);
  };
  write(50); // before the tail starts: read_from_head picks these up
  const extra = opts.followInodes ? `follow_inodes true\npos_file ${join(dir, 'pos')}\n` : '';
  const path = opts.followInodes ? `${dir}/app.log*` : log;
  // The output can be held: before each rotation the test waits until the reader is
  // blocked in emit, then writes more lines and rotates, so the old file still has
  // lines nobody has read when it is rotated.
  let gate: Promise<void> | undefined;
  let openGate = () => {};
  let blocked = 0;
  const slow = async () => {
    if (gate) {
      blocked++;
      await gate;
    }
  };
  const tl = await startTail(
    `path ${path}\ntag app\nread_from_head true\nread_lines_limit 50\nrotate_wait 1s\nrefresh_interval 1s\n${extra}<parse>\n@type none\n</parse>`,
    {
      t,
      onEmit: slow,
    },
  );

  for (let r = 0; r < opts.rotations; r++) {
    for (let k = 0; k < 10; k++) {
      write(20);
      await new Promise((res) => setTimeout(res, 2));
    }
    gate = new Promise((res) => {
      openGate = res;
    });
    const before = blocked;
    write(1);
    await until(() => blocked > before, 'the reader to block in emit');
    write(20);
    const rotated = join(dir, `app.log.${r + 1}`);
    if (method === 'rename') {
      renameSync(log, rotated);
      write(5); // the app has not reopened yet: these land in the rotated file
      closeSync(fd);
      fd = openSync(log, 'a');
    } else if (method === 'copytruncate') {
      copyFileSync(log, rotated);
      ftruncateSync(fd, 0);
    } else {
      unlinkSync(log);
      write(5); // written to the deleted file through the old descriptor
      closeSync(fd);
      fd = openSync(log, 'a');
    }
    write(10); // into the new (or truncated) file while the reader is still held
    gate = undefined;
    openGate();
  }
  write(30);
  closeSync(fd);
  const total = seq;
  const got = () => tl.messages().length;
  await until(() => got() >= total, `${total} lines`, 20_000).catch((e) => {
    throw new Error(`${e.message}; got ${got()}`);
  });
  // Anything duplicated would show up as extra lines; give them a moment to arrive through a check cycle.
  await tl.stop();
  const counts = new Map<number, number>();
  for (const m of tl.messages()) {
    const n = Number(m.slice(5, 13));
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const missing: number[] = [];
  const dup: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = counts.get(i) ?? 0;
    if (c === 0) missing.push(i);
    if (c > 1) dup.push(i);
  }
  assert.deepEqual(
    { missing: missing.slice(0, 10), dup: dup.slice(0, 10), count: tl.messages().length },
    { missing: [], dup: [], count: total },
  );
}

test('rename + create (logrotate default), 15 rotations under load: every line exactly once', async (t) => {
  await rotateUnderLoad(t, 'rename', { rotations: 15 });
});

test('copytruncate, 15 rotations under load: every line exactly once (the rest is read from the copy)', async (t) => {
  await rotateUnderLoad(t, 'copytruncate', { rotations: 15 });
});

test('delete + recreate, 15 rotations under load: every line exactly once', async (t) => {
  await rotateUnderLoad(t, 'delete', { rotations: 15 });
});

test('follow_inodes with a glob matching rotated names: renamed files are not read twice', async (t) => {
  await rotateUnderLoad(t, 'rename', { rotations: 10, followInodes: true });
});

test('many files appearing and vanishing under a glob: lines written just before a delete still arrive, each once', async (t) => {
  const dir = await tempDir(t);
  const { appendFileSync, writeFileSync } = await import('node:fs');
  const tl = await startTail(
    `path ${dir}/*.log\ntag app\nrotate_wait 1s\nrefresh_interval 1s\n<parse>\n@type none\n</parse>`,
    { t },
  );
  const expected = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const names = Array.from({ length: 8 }, (_, i) => join(dir, `r${round}-f${i}.log`));
    for (const [i, n] of names.entries()) {
      const lines = Array.from({ length: 10 }, (_, k) => `r${round}f${i}l${k}`);
      for (const l of lines) expected.add(l);
      writeFileSync(n, `${lines.join('\n')}\n`);
    }
    const have = () => new Set(tl.messages());
    await until(() => [...expected].every((l) => have().has(l)), `round ${round} files read`);
    // A last line, then the file vanishes: it is read through the open descriptor.
    for (const [i, n] of names.entries()) {
      expected.add(`r${round}f${i}last`);
      appendFileSync(n, `r${round}f${i}last\n`);
      unlinkSync(n);
    }
  }
  await until(() => tl.messages().length >= expected.size, `${expected.size} lines`);
  const got = tl.messages();
  assert.equal(got.length, expected.size, 'no line twice');
  assert.deepEqual(new Set(got), expected);
});
