import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultStateDir, parseArgs, settingsFromArgs } from '../../src/agent/options.ts';
import { AgentUsageError, parseServer } from '../../src/agent/settings.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-agent-opts-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const settings = (...argv: string[]) => settingsFromArgs(parseArgs(['--state-dir', dir, ...argv]));

describe('sluice agent options (fluent-agent-lite getopts f:p:s:b:n:t:i:l:P:S:d:k:w:r:jvFh)', () => {
  it('TAG TARGET_FILE PRIMARY[:PORT] [SECONDARY[:PORT]], port 24224 by default', () => {
    const s = settings('app.access', '/var/log/a.log', 'primary.local', 'secondary.local:24300');
    assert.deepEqual(s.logs, [{ tag: 'app.access', path: '/var/log/a.log' }]);
    assert.deepEqual(s.primary, [{ host: 'primary.local', port: 24224 }]);
    assert.deepEqual(s.secondary, [{ host: 'secondary.local', port: 24300 }]);
    assert.equal(s.fieldName, 'message');
    assert.equal(s.keepaliveS, 1800);
    assert.equal(s.reconnectWaitMaxS, 3600);
    assert.equal(s.reconnectWaitIncrRate, 1.5);
    assert.equal(s.readBufferSize, 1024 * 1024);
    assert.equal(s.ping, undefined);
    assert.equal(s.drainLogTag, undefined);
    assert.equal(s.verbose, false);
    assert.equal(s.forceStart, false);
    assert.equal(s.ack, false);
    assert.equal(s.buffer, 'file');
  });

  it('every value option, attached or separate, and clustered flags', () => {
    const s = settings(
      '-f',
      'msg',
      '-b2048',
      '-n',
      '5',
      '-t',
      '/usr/bin/tail',
      '-i',
      '0.5',
      '-l',
      '/tmp/x.log',
      '-P',
      'ping.tag:web01',
      '-S',
      '10',
      '-d',
      'drain',
      '-k',
      '600',
      '-w',
      '30',
      '-r',
      '2',
      '-vF',
      'tag',
      '-',
      'h:1',
    );
    assert.equal(s.fieldName, 'msg');
    assert.equal(s.readBufferSize, 2048);
    assert.equal(s.nice, 5);
    assert.equal(s.tailPath, '/usr/bin/tail');
    assert.equal(s.tailInterval, 0.5);
    assert.equal(s.logPath, '/tmp/x.log');
    assert.deepEqual(s.ping, { tag: 'ping.tag', data: 'web01', intervalS: 10 });
    assert.equal(s.drainLogTag, 'drain');
    assert.equal(s.keepaliveS, 600);
    assert.equal(s.reconnectWaitMaxS, 30);
    assert.equal(s.reconnectWaitIncrRate, 2);
    assert.equal(s.verbose, true);
    assert.equal(s.forceStart, true);
    assert.deepEqual(s.logs, [{ tag: 'tag', path: '-' }]);
  });

  it('-P keeps everything after the first colon as data; -S 0 means 60', () => {
    const s = settings('-P', 'ping:host:with:colons', '-S', '0', 't', 'f', 'h');
    assert.deepEqual(s.ping, { tag: 'ping', data: 'host:with:colons', intervalS: 60 });
    assert.throws(() => settings('-P', 'nodata', 't', 'f', 'h'), /-P: 'nodata' is not TAG:DATA/);
  });

  it('raises -k, -w, -r to their minimum with a warning, as fluent-agent-lite does; 0 keeps a connection forever', () => {
    const s = settings('-k', '10', '-w', '0.1', '-r', '0.5', 't', 'f', 'h');
    assert.equal(s.keepaliveS, 120);
    assert.equal(s.reconnectWaitMaxS, 0.5);
    assert.equal(s.reconnectWaitIncrRate, 1);
    assert.equal(s.warnings.length, 3);
    assert.equal(settings('-k', '0', 't', 'f', 'h').keepaliveS, 0);
    // negative values are ignored (the default stays), as there
    assert.equal(settings('-k', '-5', 't', 'f', 'h').keepaliveS, 1800);
  });

  it('-p/-s read server lists (server[:port] per line, blank lines skipped) and add to the arguments', async () => {
    const p = join(dir, 'primary.list');
    const sec = join(dir, 'secondary.list');
    await writeFile(p, 'a.local:24230\n\nb.local\n');
    await writeFile(sec, 'c.local:1\n');
    const s = settings('-p', p, '-s', sec, 'tag', '/f');
    assert.deepEqual(s.primary, [
      { host: 'a.local', port: 24230 },
      { host: 'b.local', port: 24224 },
    ]);
    assert.deepEqual(s.secondary, [{ host: 'c.local', port: 1 }]);
    assert.throws(
      () => settings('-p', join(dir, 'missing'), 'tag', '/f'),
      /primary server list file not exists/,
    );
  });

  it('refuses what cannot work with a message naming the problem', () => {
    assert.throws(() => settings('tag'), /TAG and TARGET_FILE are required/);
    assert.throws(() => settings('tag', '/f'), /no primary server/);
    assert.throws(() => settings('-x', 'tag', '/f', 'h'), /unknown option -x/);
    assert.throws(() => settings('--nope', 'tag', '/f', 'h'), /unknown option --nope/);
    assert.throws(() => settings('-k', 'soon', 'tag', '/f', 'h'), /-k: 'soon' is not a number/);
    assert.throws(() => settings('tag', '/f', 'h:99999'), /not a port number/);
    assert.throws(() => settings('tag', '/f', 'a', 'b', 'c'), /too many arguments/);
    assert.throws(() => settings('-f'), /option -f needs a value/);
    assert.throws(() => settings('--buffer', 'disk', 't', 'f', 'h'), /--buffer must be 'file' or 'memory'/);
    assert.throws(() => settings('tag'), AgentUsageError);
  });

  it('options stop at the first operand and at `--`; `-` is an operand (stdin)', () => {
    const a = parseArgs(['-v', 'tag', '-', '-F']);
    assert.deepEqual([...a.short.keys()], ['v']);
    assert.deepEqual(a.positional, ['tag', '-', '-F']);
    assert.deepEqual(parseArgs(['--', '-tag']).positional, ['-tag']);
  });

  it("Sluice's long options: --ack, --buffer memory, --recover-wait, --state-dir", () => {
    const s = settingsFromArgs(
      parseArgs(['--ack', '--buffer=memory', '--recover-wait', '2', '--state-dir', '/x', 't', 'f', 'h']),
    );
    assert.equal(s.ack, true);
    assert.equal(s.buffer, 'memory');
    assert.equal(s.recoverWaitS, 2);
    assert.equal(s.stateDir, '/x');
  });

  it('state directory: $STATE_DIRECTORY (systemd) first', () => {
    assert.equal(
      defaultStateDir({ STATE_DIRECTORY: '/var/lib/sluice-agent/web:/other' }),
      '/var/lib/sluice-agent/web',
    );
    assert.ok(defaultStateDir({ HOME: '/home/u' }).length > 0);
  });

  it('server entries: host, host:port, [v6]:port', () => {
    assert.deepEqual(parseServer('[::1]:24225', 'x'), { host: '::1', port: 24225 });
    assert.deepEqual(parseServer('h', 'x'), { host: 'h', port: 24224 });
    assert.throws(
      () => parseServer(':24224', 'PRIMARY_SERVER'),
      /PRIMARY_SERVER: ':24224' is not host\[:port\]/,
    );
  });
});
