import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Engine } from '../../src/engine/engine.ts';
import { countingProxy, freePort, received, receiver, until } from '../agent/helpers.ts';
import { registerTestPlugins, resetCapture } from '../helpers/capture.ts';
import { SLUICE_BIN, type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';

// `sluice agent` as users run it (a child process), against forward inputs in this
// process. Each test has its own receivers, files and state directory, so they run
// concurrently (startup of a child dominates their time).

let dir: string;
const children: SluiceProcess[] = [];
const engines: Engine[] = [];

before(async () => {
  registerTestPlugins();
  dir = await mkdtemp(join(tmpdir(), 'sluice-agent-e2e-'));
});
after(async () => {
  await Promise.all(children.map((c) => c.stop()));
  await Promise.all(engines.map((e) => e.stop()));
  resetCapture();
  await rm(dir, { recursive: true, force: true });
});

async function startReceiver(name: string, port?: number): Promise<{ port: number; engine: Engine }> {
  const p = port ?? (await freePort());
  const engine = await receiver(p, name);
  engines.push(engine);
  return { port: p, engine };
}

async function agent(args: string[]): Promise<SluiceProcess> {
  const c = spawnSluice(['agent', '-v', ...args]);
  children.push(c);
  await c.waitFor('stderr', /sluice agent started/, 60_000);
  return c;
}

const lines = (from: number, to: number, prefix = 'line') => {
  let s = '';
  for (let i = from; i <= to; i++) s += `${prefix} ${i}\n`;
  return s;
};

describe('sluice agent (child process) -> forward input', { concurrency: true }, () => {
  it('records with -f field name and the tag; ping (-P/-S) and drain log (-d) events', async () => {
    const { port } = await startReceiver('opts');
    const file = join(dir, 'opts.log');
    await writeFile(file, 'before start: not sent (tail -n 0)\n');
    await agent([
      '--state-dir',
      join(dir, 'st-opts'),
      '-f',
      'msg',
      '-P',
      'ping.agent:web01',
      '-S',
      '0.3',
      '-d',
      'drain.agent',
      'app.access',
      file,
      `127.0.0.1:${port}`,
    ]);
    await appendFile(file, lines(1, 200));
    const logs = () => received('opts').filter((r) => r.tag === 'app.access');
    await until(() => logs().length >= 200, '200 lines');
    await until(() => received('opts').filter((r) => r.tag === 'ping.agent').length >= 2, 'two pings');
    const drains = () => received('opts').filter((r) => r.tag === 'drain.agent');
    await until(
      () => drains().reduce((s, r) => s + (r.record.drain as number), 0) >= 200,
      'drain logs for 200 lines',
    );
    assert.deepEqual(
      logs().map((r) => r.record),
      lines(1, 200)
        .trimEnd()
        .split('\n')
        .map((l) => ({ msg: l })),
    );
    const ping = received('opts').find((r) => r.tag === 'ping.agent')!;
    assert.deepEqual(ping.record, { data: `web01 ${file}` });
    assert.equal(
      drains().reduce((s, r) => s + (r.record.drain as number), 0),
      200,
    );
  });

  it('resumes after a restart without loss or repetition (positions in the state dir)', async () => {
    const { port } = await startReceiver('resume');
    const file = join(dir, 'resume.log');
    const state = join(dir, 'st-resume');
    await writeFile(file, '');
    const args = ['--state-dir', state, 'app.resume', file, `127.0.0.1:${port}`];
    const first = await agent(args);
    await appendFile(file, lines(1, 300));
    await until(() => received('resume').length >= 300, 'lines 1-300');
    assert.equal(await first.stop(), 0, 'SIGTERM: clean exit');
    await appendFile(file, lines(301, 600)); // written while the agent is down
    await agent(args);
    await appendFile(file, lines(601, 900));
    await until(() => received('resume').length >= 900, 'lines 1-900');
    const got = received('resume').map((r) => r.record.message);
    assert.deepEqual(got, lines(1, 900).trimEnd().split('\n'), 'every line once, in order');
  });

  it('fails over to the secondary while the primary is down, and back once it recovers (with --ack)', async () => {
    const primaryPort = await freePort();
    let primary = await startReceiver('fo-primary', primaryPort);
    const { port: secondaryPort } = await startReceiver('fo-secondary');
    const file = join(dir, 'failover.log');
    await writeFile(file, '');
    await agent([
      '--state-dir',
      join(dir, 'st-fo'),
      '--ack',
      '--recover-wait',
      '1',
      'app.fo',
      file,
      `127.0.0.1:${primaryPort}`,
      `127.0.0.1:${secondaryPort}`,
    ]);
    await appendFile(file, lines(1, 100));
    await until(() => received('fo-primary').length >= 100, 'lines 1-100 at the primary');
    await primary.engine.stop();
    await appendFile(file, lines(101, 200));
    await until(() => received('fo-secondary').length >= 100, 'lines 101-200 at the secondary');
    primary = await startReceiver('fo-primary', primaryPort);
    // Back to the primary once heartbeats found it alive: lines written from then on go there.
    let n = 200;
    await until(
      () => {
        if (received('fo-primary').length > 100) return true;
        void appendFile(file, lines(n + 1, n + 1));
        n++;
        return false;
      },
      'lines at the primary again',
      60_000,
    );
    await until(() => received('fo-primary').length + received('fo-secondary').length >= n, `all ${n} lines`);
    const all = [...received('fo-primary'), ...received('fo-secondary')].map((r) =>
      Number(String(r.record.message).split(' ')[1]),
    );
    assert.deepEqual(
      [...new Set(all)].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
      'nothing lost',
    );
    assert.equal(all.length, n, 'nothing repeated');
  });

  it('SIGHUP reconnects to the servers (fluent-agent-lite reload)', async () => {
    const { port } = await startReceiver('hup');
    const proxy = await countingProxy(port);
    const file = join(dir, 'hup.log');
    await writeFile(file, '');
    const c = await agent(['--state-dir', join(dir, 'st-hup'), 'app.hup', file, `127.0.0.1:${proxy.port}`]);
    try {
      await appendFile(file, lines(1, 10));
      await until(() => received('hup').length >= 10, 'lines 1-10');
      await appendFile(file, lines(11, 20));
      await until(() => received('hup').length >= 20, 'lines 11-20');
      assert.equal(proxy.dataConnections(), 1, 'one kept-alive connection');
      c.proc.kill('SIGHUP');
      await c.waitFor('stderr', /reconnecting to the servers/);
      await appendFile(file, lines(21, 30));
      await until(() => received('hup').length >= 30, 'lines 21-30');
      assert.equal(proxy.dataConnections(), 2, 'a new connection after SIGHUP');
      assert.equal(c.proc.exitCode, null, 'still running');
    } finally {
      await proxy.close();
    }
  });

  it("--conf runs every LOGS entry of the seed's conf file in one process, with TAG_PREFIX", async () => {
    const { port } = await startReceiver('conf');
    const a = join(dir, 'conf-a.log');
    const b = join(dir, 'conf-b.log');
    await writeFile(a, '');
    await writeFile(b, '');
    const conf = join(dir, 'fluent-agent-lite.conf');
    await writeFile(
      conf,
      `hostname=$(hostname)
mkdir -p ${dir}/conf-etc
cat <<"EOF" > ${dir}/conf-etc/primary_servers_list.conf
127.0.0.1:${port}
EOF
TAG_PREFIX=raw
LOGS=$(cat <<EOF
# tag path
a.$hostname ${a}
b.$hostname ${b}
EOF
)
PRIMARY_SERVERS_LIST=${dir}/conf-etc/primary_servers_list.conf
KEEPALIVE_TIME=10800
LOG_VERBOSE=yes
`,
    );
    const c = await agent(['--conf', conf, '--state-dir', join(dir, 'st-conf')]);
    await appendFile(a, lines(1, 50, 'a'));
    await appendFile(b, lines(1, 50, 'b'));
    await until(() => received('conf').length >= 100, '100 lines from two files');
    const h = hostname();
    const tags = new Set(received('conf').map((r) => r.tag));
    assert.deepEqual([...tags].sort(), [`raw.a.${h}`, `raw.b.${h}`]);
    assert.equal(c.proc.pid !== undefined, true);
  });

  it('TARGET_FILE - reads standard input, delivers every line and exits by itself', async () => {
    const { port } = await startReceiver('stdin');
    const child = spawn(
      process.execPath,
      [
        SLUICE_BIN,
        'agent',
        '--state-dir',
        join(dir, 'st-stdin'),
        '--buffer',
        'memory',
        '--ack',
        'app.stdin',
        '-',
        `127.0.0.1:${port}`,
      ],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      child.stdin!.end(`${lines(1, 5000)}last line without newline`);
      const code = await exited;
      assert.equal(code, 0, stderr);
      // With --ack the agent exits only once the server acked; the receiver may still be routing.
      await until(() => received('stdin').length >= 5001, 'every line at the receiver');
      const got = received('stdin').map((r) => r.record.message);
      assert.equal(got.length, 5001);
      assert.equal(got[0], 'line 1');
      assert.equal(got[5000], 'last line without newline');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses to start on a missing file without -F, with the reason', async () => {
    const c = spawnSluice([
      'agent',
      '--state-dir',
      join(dir, 'st-missing'),
      'app',
      join(dir, 'missing.log'),
      '127.0.0.1:1',
    ]);
    children.push(c);
    assert.equal(await c.exited, 1);
    assert.match(c.stderr(), /cannot find input file .*missing\.log \(use -F/);
  });

  it('with -F, waits for a missing file and reads it from its start once it appears', async () => {
    const { port } = await startReceiver('force');
    const file = join(dir, 'later.log');
    await agent(['--state-dir', join(dir, 'st-force'), '-F', 'app.later', file, `127.0.0.1:${port}`]);
    await writeFile(file, lines(1, 20));
    await until(() => received('force').length >= 20, '20 lines of a file created after start');
    assert.equal(received('force')[0]!.record.message, 'line 1');
  });

  it('-p/-s list files, -b -n -t -i -l -k -w -r are accepted; -l gets the log; -h prints usage; -j is refused', async () => {
    const { port } = await startReceiver('more');
    const file = join(dir, 'more.log');
    await writeFile(file, '');
    const plist = join(dir, 'more.primary');
    const slist = join(dir, 'more.secondary');
    await writeFile(plist, `127.0.0.1:${port}\n`);
    await writeFile(slist, '127.0.0.1:1\n');
    const log = join(dir, 'more-agent.log');
    const c = spawnSluice([
      'agent',
      '-v',
      '--state-dir',
      join(dir, 'st-more'),
      '-p',
      plist,
      '-s',
      slist,
      '-b',
      '65536',
      '-n',
      '1',
      '-t',
      '/usr/bin/tail',
      '-i',
      '0.5',
      '-l',
      log,
      '-k',
      '120',
      '-w',
      '2',
      '-r',
      '2',
      'app.more',
      file,
    ]);
    children.push(c);
    const help = spawnSluice(['agent', '-h']);
    const json = spawnSluice(['agent', '-j', '--state-dir', join(dir, 'st-j'), 'app', file, '127.0.0.1:1']);
    children.push(help, json);
    assert.equal(await help.exited, 0);
    assert.match(help.stdout(), /Usage: sluice agent \[options\] TAG TARGET_FILE PRIMARY_SERVER\[:PORT\]/);
    assert.equal(await json.exited, 1);
    assert.match(json.stderr(), /-j \(JSON transfer\) is not supported/);
    // -l: the agent logs to the file, not to stderr
    const started = async () =>
      (await readFile(log, 'utf8').catch(() => '')).includes('sluice agent started');
    await until(started, 'the log file names the start', 60_000);
    await appendFile(file, lines(1, 50));
    await until(() => received('more').length >= 50, '50 lines via the primary list');
    assert.doesNotMatch(c.stderr(), /sluice agent started/);
  });

  it('pauses reading while no server takes the lines (memory stays bounded), then delivers every line', async () => {
    const port = await freePort(); // nobody listens yet
    const file = join(dir, 'outage.log');
    await writeFile(file, '');
    const c = await agent([
      '--state-dir',
      join(dir, 'st-outage'),
      '--buffer',
      'memory',
      '--buffer-limit',
      '2097152',
      '-w',
      '0.5',
      'app.outage',
      file,
      `127.0.0.1:${port}`,
    ]);
    const pad = 'x'.repeat(150);
    let text = '';
    for (let i = 1; i <= 100_000; i++) text += `${i} ${pad}\n`;
    await appendFile(file, text); // ~15 MB, far more than the 2 MiB the buffer may hold
    const size = (await stat(file)).size;
    const posFile = async () => {
      const pos = join(dir, 'st-outage', 'pos');
      const { readdir } = await import('node:fs/promises');
      const [name] = await readdir(pos);
      const line = (await readFile(join(pos, name!), 'utf8')).split('\n')[0]!;
      return Number.parseInt(line.split('\t')[1]!, 16);
    };
    // The committed position stops well short of the end: reading waits for the buffer.
    let prev = -1;
    let stableSince = Date.now();
    await until(
      () => {
        void posFile().then((p) => {
          if (p !== prev) {
            prev = p;
            stableSince = Date.now();
          }
        });
        return prev > 0 && Date.now() - stableSince > 1000;
      },
      'reading to pause',
      60_000,
    );
    assert.ok(prev < size / 2, `position ${prev} of ${size}: reading paused`);
    const rss =
      Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${c.proc.pid}/status`, 'utf8'))![1]) / 1024;
    // ~100 MiB is the process at rest (TypeScript sources through tsx); the 2 MiB buffer adds little.
    assert.ok(rss < 160, `RSS ${rss.toFixed(0)} MiB stays bounded while 15 MB wait in the file`);
    await startReceiver('outage', port);
    await until(() => received('outage').length >= 100_000, 'every line once the server is up', 120_000);
    const got = received('outage').map((r) => Number(String(r.record.message).split(' ')[0]));
    assert.equal(got.length, 100_000);
    assert.deepEqual(got.slice(0, 3), [1, 2, 3]);
    assert.equal(got[99_999], 100_000);
  });

  it('kill -9 during an outage loses nothing: the file buffer sends what was read after the restart', async () => {
    const port = await freePort(); // nobody listens yet
    const file = join(dir, 'crash.log');
    const state = join(dir, 'st-crash');
    await writeFile(file, '');
    const args = ['--state-dir', state, '--buffer', 'file', 'app.crash', file, `127.0.0.1:${port}`];
    const first = await agent(args);
    await appendFile(file, lines(1, 2000));
    const size = (await stat(file)).size;
    const committed = async () => {
      const { readdir } = await import('node:fs/promises');
      const pos = join(state, 'pos');
      const names = await readdir(pos).catch(() => []);
      if (names.length === 0) return 0;
      const line = (await readFile(join(pos, names[0]!), 'utf8')).split('\n')[0] ?? '';
      return Number.parseInt(line.split('\t')[1] ?? '0', 16);
    };
    // Every line was read and accepted by the file buffer (the position is at the end).
    let pos = 0;
    await until(() => {
      void committed().then((p) => {
        pos = p;
      });
      return pos === size;
    }, 'the position to reach the end of the file');
    first.proc.kill('SIGKILL');
    await first.exited;
    await startReceiver('crash', port);
    await agent(args);
    await until(
      () => new Set(received('crash').map((r) => r.record.message)).size >= 2000,
      'all 2000 lines after the restart',
    );
    const got = new Set(received('crash').map((r) => r.record.message));
    assert.deepEqual([...got].sort(), lines(1, 2000).trimEnd().split('\n').sort(), 'nothing lost');
  });
});
