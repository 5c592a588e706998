import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { acquireLock, processAlive, procStatState } from '../../src/buffer/lock.ts';
import { tempDir } from './helpers.ts';

const linux = process.platform === 'linux';

describe('buffer lock', () => {
  it('reads the state of a /proc/PID/stat line, whatever the command name holds', () => {
    assert.equal(procStatState('1234 (node) S 1 1234 1234 0 -1 4194560'), 'S');
    assert.equal(procStatState('77 (sluice) Z 1 77 77 0 -1 4227084'), 'Z');
    assert.equal(procStatState('77 (a) b) X 1 77'), 'X');
    assert.equal(procStatState('78 (we ird (x)) R 1 78'), 'R');
    assert.equal(procStatState('garbage'), undefined);
  });

  it('takes over a lock held by a zombie (killed, not yet reaped) and refuses one held by a live process', {
    skip: !linux,
  }, async () => {
    const { dir, cleanup } = await tempDir();
    // sh starts a child, then becomes `sleep`, which never reaps it. The child exits only
    // when the test writes a line, after the exec: had it exited before, sh itself could
    // have reaped it (it did on a loaded machine). Its stderr (the pipe) closes when it
    // exits; a background job's stdin is /dev/null, hence fd 3.
    const parent = spawn(
      'sh',
      ['-c', 'exec 3<&0; (read x <&3; exit 0) & echo $!; exec sleep 600 2>/dev/null'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombie = Number.parseInt(line.toString(), 10);
      for (let i = 0; i < 10_000; i++) {
        const comm = await readFile(`/proc/${parent.pid}/comm`, 'utf8').catch(() => '');
        if (comm.trim() === 'sleep') break;
        await new Promise((r) => setImmediate(r));
      }
      assert.equal((await readFile(`/proc/${parent.pid}/comm`, 'utf8')).trim(), 'sleep');
      parent.stdin.write('go\n');
      await once(parent.stderr, 'close');
      // The exit closes the files a moment before the state becomes Z: bounded wait for it.
      for (let i = 0; i < 10_000; i++) {
        const stat = await readFile(`/proc/${zombie}/stat`, 'utf8');
        if (procStatState(stat) === 'Z') break;
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(procStatState(await readFile(`/proc/${zombie}/stat`, 'utf8')), 'Z');
      // kill(pid, 0) alone says a zombie is there
      assert.doesNotThrow(() => process.kill(zombie, 0));
      assert.equal(processAlive(zombie), false);
      assert.equal(processAlive(parent.pid!), true);

      await writeFile(join(dir, 'buffer.lock'), `${parent.pid}\n`);
      await assert.rejects(acquireLock(dir), /locked by running process/);

      await writeFile(join(dir, 'buffer.lock'), `${zombie}\n`);
      const release = await acquireLock(dir);
      assert.equal((await readFile(join(dir, 'buffer.lock'), 'utf8')).trim(), String(process.pid));
      await release();
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) {
        parent.kill('SIGKILL');
        await once(parent, 'exit');
      }
      await cleanup();
    }
  });

  it('takes over a lock whose process is gone', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      await once(child, 'exit');
      assert.equal(processAlive(child.pid!), false);
      await writeFile(join(dir, 'buffer.lock'), `${child.pid}\n`);
      const release = await acquireLock(dir);
      await release();
    } finally {
      await cleanup();
    }
  });
});
