// examples/systemd: the units are verified by systemd itself (`systemd-analyze verify`, with
// the sluice path pointed at a stub so the check runs without an installed Sluice, and
// `systemd-analyze security --offline`), and hold the settings docs/deployment.md promises.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { requireTool } from '../helpers/tools.ts';
import { readRepo } from './helpers.ts';

const run = promisify(execFile);
const UNITS = ['sluice.service', 'sluice-agent@.service'];

/** `Key=value` lines per section; repeated keys keep every value in order. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a Key=value line inside a section: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

let dir: string;
let stub: string;
before(async () => {
  requireTool('systemd-analyze', 'systemd');
  dir = await mkdtemp(join(tmpdir(), 'sluice-systemd-'));
  stub = join(dir, 'sluice');
  await writeFile(stub, '#!/bin/sh\nexit 0\n');
  await chmod(stub, 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function verify(unit: string, instance?: string): Promise<string> {
  const text = readRepo('examples/systemd', unit).replaceAll('/usr/local/bin/sluice', stub);
  const path = join(dir, unit);
  await writeFile(path, text);
  const target = instance ? join(dir, unit.replace('@.', `@${instance}.`)) : path;
  const { stdout, stderr } = await run('systemd-analyze', ['verify', target]).catch(
    (e: { stdout: string; stderr: string }) => e,
  );
  return `${stdout}${stderr}`.trim();
}

describe('systemd units (examples/systemd)', () => {
  it('sluice.service: systemd-analyze verify reports nothing', async () => {
    assert.equal(await verify('sluice.service'), '');
  });

  it('sluice-agent@.service: systemd-analyze verify reports nothing for an instance', async () => {
    assert.equal(await verify('sluice-agent@.service', 'fluent-agent-lite'), '');
  });

  it('verify does report a broken unit (the check is not vacuous)', async () => {
    await writeFile(
      join(dir, 'bad.service'),
      `[Service]\nExecStart=${stub}\nRestart=sometimes\nNoSuchKey=1\n`,
    );
    const { stderr } = await run('systemd-analyze', ['verify', join(dir, 'bad.service')]).catch(
      (e: { stderr: string }) => e,
    );
    assert.match(stderr, /Restart|NoSuchKey/);
  });

  for (const unit of UNITS) {
    it(`${unit}: restart on failure, graceful reload and stop, state directory, hardening`, async () => {
      const s = parseUnit(readRepo('examples/systemd', unit)).get('Service')!;
      const one = (k: string) => {
        const v = s.get(k);
        assert.ok(v, `${unit}: ${k}= missing`);
        return v[v.length - 1]!;
      };
      assert.equal(one('Type'), 'simple');
      assert.equal(one('Restart'), 'on-failure');
      assert.ok(
        s.get('ExecReload')!.includes('/bin/kill -HUP $MAINPID'),
        `${unit}: reload sends SIGHUP to the main process`,
      );
      assert.equal(
        one('KillMode'),
        'mixed',
        'SIGTERM to the main process, which stops its workers after flushing',
      );
      assert.equal(one('KillSignal'), 'SIGTERM');
      assert.match(one('StateDirectory'), /^sluice/);
      assert.equal(one('NoNewPrivileges'), 'yes');
      assert.equal(one('ProtectSystem'), 'strict');
      assert.equal(one('DynamicUser'), 'yes');
      // V8's JIT writes and then executes code pages: this setting would kill node at start.
      assert.equal(
        s.get('MemoryDenyWriteExecute'),
        undefined,
        `${unit}: MemoryDenyWriteExecute breaks Node.js`,
      );
      const { stdout } = await run('systemd-analyze', [
        'security',
        '--offline=yes',
        join(dir, unit.replace('@.', '@x.')),
      ]).catch(async () => run('systemd-analyze', ['security', '--offline=yes', join(dir, unit)]));
      const level = /Overall exposure level for \S+: ([\d.]+)/.exec(stdout);
      assert.ok(level, stdout.slice(-300));
      assert.ok(Number(level[1]) <= 3, `${unit}: exposure ${level[1]} (systemd rates <= 3 as OK)`);
    });
  }

  it('sluice.service checks the config before start and before reload', () => {
    const s = parseUnit(readRepo('examples/systemd/sluice.service')).get('Service')!;
    assert.deepEqual(s.get('ExecStartPre'), ['/usr/local/bin/sluice check -c /etc/sluice/fluent.conf']);
    assert.deepEqual(s.get('ExecReload'), [
      '/usr/local/bin/sluice check -c /etc/sluice/fluent.conf',
      '/bin/kill -HUP $MAINPID',
    ]);
    assert.deepEqual(s.get('ExecStart'), ['/usr/local/bin/sluice -c /etc/sluice/fluent.conf']);
  });

  it('sluice-agent@.service runs `sluice agent --conf /etc/<instance>.conf` (seed 002)', () => {
    const u = parseUnit(readRepo('examples/systemd/sluice-agent@.service'));
    assert.deepEqual(u.get('Service')!.get('ExecStart'), ['/usr/local/bin/sluice agent --conf /etc/%i.conf']);
    assert.deepEqual(u.get('Unit')!.get('ConditionPathExists'), ['/etc/%i.conf']);
    assert.deepEqual(
      u.get('Service')!.get('StateDirectory'),
      ['sluice-agent/%i'],
      'positions per instance in $STATE_DIRECTORY',
    );
  });
});
