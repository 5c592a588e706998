import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnServer, startOrStop, waitForLog } from './process.ts';

// The server harness on its own, with `node -e` standing in for a server: a failure to start
// is an error carrying the server's log, waits are bounded, and stop() takes the whole
// process group.

const node = process.execPath;

/** Running, not a zombie (a killed process whose parent is gone may wait a while to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe('stores: server processes', () => {
  it('a server that exits before it is ready fails with the tail of its log', async () => {
    const s = spawnServer({
      name: 'dies',
      command: node,
      args: ['-e', 'console.log("starting"); console.error("boom: no such index"); process.exit(3)'],
    });
    await assert.rejects(
      startOrStop(s, () => waitForLog(s, /ready/, 20_000)),
      (err: Error) =>
        /exited before it was ready/.test(err.message) && /boom: no such index/.test(err.message),
    );
    assert.equal(existsSync(s.dir), false, 'temp dir removed');
  });

  it('a server that never gets ready fails after the timeout, and is stopped', async () => {
    const s = spawnServer({
      name: 'hangs',
      command: node,
      args: ['-e', 'console.log("waiting"); setInterval(() => {}, 1000)'],
    });
    const t0 = Date.now();
    await assert.rejects(
      startOrStop(s, () => waitForLog(s, /ready/, 500)),
      (err: Error) => /not ready within 500 ms/.test(err.message) && /waiting/.test(err.message),
    );
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(alive(s.pid), false);
  });

  it('stop() kills the whole process group, SIGKILL after the grace time', async () => {
    // the "server" ignores SIGTERM and starts a grandchild that ignores it too
    const script = `
      process.on('SIGTERM', () => {});
      const c = require('node:child_process').spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
      console.log('child ' + c.pid);
      setInterval(() => {}, 1000);`;
    const s = spawnServer({ name: 'stubborn', command: node, args: ['-e', script] });
    const m = await waitForLog(s, /child (\d+)/, 20_000);
    const child = Number(m[1]);
    assert.ok(alive(child));
    await s.stop(300);
    for (let i = 0; i < 50 && alive(child); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(child), false, 'grandchild killed with the group');
    assert.equal(alive(s.pid), false);
  });

  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    const what = sig === 'SIGTERM' ? 'its servers and their temp dirs' : 'its servers (setpriv --pdeathsig)';
    it(`a process ended by ${sig} takes ${what} with it`, async () => {
      const harness = fileURLToPath(new URL('./process.ts', import.meta.url));
      const script = `
      import { spawnServer, waitForLog } from ${JSON.stringify(harness)};
      const s = spawnServer({ name: 'orphan', command: process.execPath, args: ['-e', 'console.log("up"); setInterval(() => {}, 1000)'] });
      await waitForLog(s, /up/, 20000);
      console.log(JSON.stringify({ pid: s.pid, dir: s.dir }));
      setInterval(() => {}, 1000);`;
      const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(owner, 'exit');
      try {
        const [line] = (await Promise.race([
          once(owner.stdout!.setEncoding('utf8'), 'data'),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('the owner process did not start a server')), 30_000),
          ),
        ])) as [string];
        const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
        assert.ok(alive(pid) && existsSync(dir));
        owner.kill(sig);
        const [, signal] = await exited;
        assert.equal(signal, sig, 'the owner still dies of the signal');
        for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(alive(pid), false, 'server killed');
        if (sig === 'SIGTERM') assert.equal(existsSync(dir), false, 'temp dir removed');
        else rmSync(dir, { recursive: true, force: true }); // nothing can clean up after a SIGKILL
      } finally {
        owner.kill('SIGKILL');
      }
    });
  }
});
