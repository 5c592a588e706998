import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { spawnServer, startOrStop, waitForLog } from './process.ts';

// The server harness on its own, with `node -e` standing in for a server: a failure to start
// is an error carrying the server's log, waits are bounded, and stop() takes the whole
// process group.

const node = process.execPath;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
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
});
