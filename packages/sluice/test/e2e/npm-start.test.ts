// The README's start command: `npm start` runs Sluice on examples/sluice.conf, and a
// SIGTERM sent to npm's PID (what a service manager or `kill` does) reaches Sluice, which
// stops gracefully. Without `exec` in the script, npm's shell swallowed the signal and
// Sluice kept running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { ROOT } from '../deploy/helpers.ts';
import { freePort } from '../helpers/ports.ts';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('npm start runs the default config, and SIGTERM to npm stops Sluice', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir();
  const port = await freePort();
  // Its own process group, so the finally block can stop every process whatever happened.
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_FORWARD_PORT: String(port), SLUICE_LOG_DIR: join(dir, 'log') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sample event in 90 s; stdout: ${out}`)), 90_000);
      npm.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (/sluice\.sample: \{"message":"hello from sluice"/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      npm.once('exit', () => reject(new Error(`npm exited early; stdout: ${out}`)));
    });
    assert.ok(await portOpen(port), 'the forward input listens');
    process.kill(npm.pid!, 'SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(await portOpen(port), false, 'Sluice stopped with npm');
  } finally {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await cleanup();
  }
});
