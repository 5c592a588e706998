// deploy/docker/entrypoint.sh, run with /bin/sh as the image runs it: first with a stub
// `sluice` that prints the arguments it got, then with the real CLI on the image's
// default config.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoPath } from './helpers.ts';

const run = promisify(execFile);
const ENTRYPOINT = repoPath('deploy/docker/entrypoint.sh');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-entrypoint-'));
  await writeFile(join(dir, 'sluice'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
  await chmod(join(dir, 'sluice'), 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function argv(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const { stdout } = await run('/bin/sh', [ENTRYPOINT, ...args], {
    env: { PATH: `${dir}:${process.env.PATH}`, ...env },
  });
  return stdout.split('\n').filter((l) => l !== '');
}

describe('container entrypoint', () => {
  it('with no arguments runs sluice on /fluentd/etc/$FLUENTD_CONF plus $FLUENTD_OPT', async () => {
    assert.deepEqual(await argv([]), ['-c', '/fluentd/etc/fluent.conf']);
    assert.deepEqual(await argv([], { FLUENTD_CONF: 'other.conf', FLUENTD_OPT: '-v --log-level debug' }), [
      '-c',
      '/fluentd/etc/other.conf',
      '-v',
      '--log-level',
      'debug',
    ]);
    assert.deepEqual(await argv([], { SLUICE_CONF_DIR: '/etc/sluice' }), ['-c', '/etc/sluice/fluent.conf']);
  });

  it('`docker run IMAGE -v` passes options to sluice, config still added', async () => {
    assert.deepEqual(await argv(['-v']), ['-v', '-c', '/fluentd/etc/fluent.conf']);
  });

  it('keeps an explicit -c / --config', async () => {
    assert.deepEqual(await argv(['sluice', '-c', '/x.conf']), ['-c', '/x.conf']);
    assert.deepEqual(await argv(['sluice', 'run', '--config=/x.conf']), ['run', '--config=/x.conf']);
  });

  it('`fluentd ...` from an existing compose file runs sluice', async () => {
    assert.deepEqual(await argv(['fluentd', '-c', '/fluentd/etc/fluent.conf']), [
      '-c',
      '/fluentd/etc/fluent.conf',
    ]);
    assert.deepEqual(await argv(['fluentd']), ['-c', '/fluentd/etc/fluent.conf']);
  });

  it('adds the config to run/check only; other subcommands and commands run unchanged', async () => {
    assert.deepEqual(await argv(['sluice', 'check']), ['check', '-c', '/fluentd/etc/fluent.conf']);
    assert.deepEqual(await argv(['sluice', 'postback']), ['postback']);
    assert.deepEqual(await argv(['sluice', 'agent', '--conf', '/etc/a.conf']), [
      'agent',
      '--conf',
      '/etc/a.conf',
    ]);
    const { stdout } = await run('/bin/sh', [ENTRYPOINT, 'echo', 'hello'], {
      env: { PATH: process.env.PATH! },
    });
    assert.equal(stdout, 'hello\n');
  });

  it('runs the real CLI: `sluice check` on the image default config', async () => {
    const bin = join(dir, 'real');
    const etc = join(dir, 'etc');
    await run('mkdir', ['-p', bin, etc]);
    await symlink(repoPath('packages/sluice/bin/sluice.js'), join(bin, 'sluice'));
    await copyFile(repoPath('deploy/docker/fluent.conf'), join(etc, 'fluent.conf'));
    const { stdout } = await run('/bin/sh', [ENTRYPOINT, 'sluice', 'check'], {
      env: { PATH: `${bin}:${process.env.PATH}`, SLUICE_CONF_DIR: etc },
    });
    assert.match(stdout, /forward/);
    assert.match(stdout, new RegExp(`configuration OK: ${join(etc, 'fluent.conf')}`));
    await assert.rejects(
      run('/bin/sh', [ENTRYPOINT, 'sluice', 'check'], {
        env: { PATH: `${bin}:${process.env.PATH}`, SLUICE_CONF_DIR: join(dir, 'missing') },
      }),
      (e: { code: number; stderr: string }) => e.code === 1 && /missing/.test(e.stderr),
    );
  });
});
