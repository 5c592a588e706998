// Issue 21's syslog acceptance with real clients and the sluice binary: util-linux logger
// sends to rsyslogd (run unprivileged-style from a temp config: no system sockets, its own
// work directory), which forwards to Sluice's syslog inputs, RFC 5424 octet-counted over TCP
// and RFC 3164 over UDP; Sluice writes the events to a file output with their tags,
// facility, severity and fields. Waits are on output lines and file-system events.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { freePort, waitForPort } from '../helpers/ports.ts';
import { spawnSluice } from '../helpers/sluice-process.ts';
import { requireTool } from '../helpers/tools.ts';

/** rsyslogd lives in /usr/sbin, which a non-root PATH may lack. */
const RSYSLOGD = existsSync('/usr/sbin/rsyslogd') ? '/usr/sbin/rsyslogd' : 'rsyslogd';

interface Line {
  tag: string;
  [k: string]: unknown;
}

async function outputLines(dir: string): Promise<Line[]> {
  const out: Line[] = [];
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.log')) continue;
    for (const l of (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean))
      out.push(JSON.parse(l) as Line);
  }
  return out;
}

function waitLines(dir: string, done: (l: Line[]) => boolean, timeoutMs: number): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const w = watch(dir);
    const finish = (lines?: Line[], e?: Error) => {
      clearTimeout(timer);
      w.close();
      if (e) reject(e);
      else resolve(lines!);
    };
    const timer = setTimeout(() => {
      void outputLines(dir).then((l) =>
        finish(undefined, new Error(`timed out waiting for output lines; have ${JSON.stringify(l)}`)),
      );
    }, timeoutMs);
    const check = () =>
      void outputLines(dir).then(
        (l) => done(l) && finish(l),
        () => undefined, // a file being created: the next change reads it
      );
    w.on('change', check);
    check();
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (e, _o, err) => (e ? reject(new Error(`${cmd}: ${err || e.message}`)) : resolve())),
  );
}

describe('syslog: logger -> rsyslogd -> sluice -> file', () => {
  it('RFC 5424 octet-counted over TCP and RFC 3164 over UDP arrive with tag, facility, severity and fields', {
    timeout: 120_000,
  }, async () => {
    requireTool(RSYSLOGD, 'rsyslog', ['-v']);
    requireTool('logger', 'bsdutils', ['--version']);
    const { dir, cleanup } = await tempDir();
    const [tcpPort, udpPort, rsPort] = [await freePort(), await freePort(), await freePort()];
    const out = join(dir, 'out');
    const work = join(dir, 'rsyslog');
    await mkdir(out);
    await mkdir(work);
    const conf = join(dir, 'sluice.conf');
    await writeFile(
      conf,
      `<source>
  @type syslog
  tag rs
  bind 127.0.0.1
  port ${tcpPort}
  frame_type octet_count
  severity_key severity
  facility_key facility
  <transport tcp>
  </transport>
  <parse>
    message_format auto
  </parse>
</source>
<source>
  @type syslog
  tag rsudp
  bind 127.0.0.1
  port ${udpPort}
  severity_key severity
  facility_key facility
</source>
<match rs.** rsudp.**>
  @type file
  path ${out}/syslog
  append true
  <format>
    @type json
  </format>
  <inject>
    tag_key tag
  </inject>
  <buffer>
    @type memory
    flush_mode immediate
  </buffer>
</match>
`,
    );
    const rsConf = join(dir, 'rsyslog.conf');
    await writeFile(
      rsConf,
      `global(workDirectory="${work}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${rsPort}")
*.* action(type="omfwd" target="127.0.0.1" port="${tcpPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
*.* action(type="omfwd" target="127.0.0.1" port="${udpPort}" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
`,
    );
    const sluice = spawnSluice(['-c', conf]);
    let rsyslog: ChildProcess | undefined;
    try {
      await sluice.waitFor('stderr', /sluice started/, 90_000);
      rsyslog = spawn(RSYSLOGD, ['-n', '-f', rsConf, '-i', join(work, 'pid')], { stdio: 'ignore' });
      await waitForPort(rsPort);
      await run('logger', [
        '--tcp',
        '-n',
        '127.0.0.1',
        '-P',
        String(rsPort),
        '--rfc3164',
        '-t',
        'rstest',
        '-p',
        'local2.warning',
        'relayed by rsyslog',
      ]);
      await run('logger', [
        '--tcp',
        '-n',
        '127.0.0.1',
        '-P',
        String(rsPort),
        '--rfc3164',
        '-t',
        'cron',
        '-p',
        'cron.info',
        'a cron line',
      ]);
      const lines = await waitLines(
        out,
        (l) => l.filter((x) => /relayed by rsyslog|a cron line/.test(String(x.message))).length >= 4,
        60_000,
      );
      const mine = lines.filter((x) => /relayed by rsyslog|a cron line/.test(String(x.message)));
      const byTag = (tag: string) => mine.find((x) => x.tag === tag);
      const tcp = byTag('rs.local2.warn');
      assert.ok(tcp, JSON.stringify(mine));
      assert.equal(tcp.ident, 'rstest');
      assert.equal(tcp.severity, 'warn');
      assert.equal(tcp.facility, 'local2');
      assert.equal(tcp.msgid, '-');
      assert.equal(tcp.extradata, '-');
      assert.match(String(tcp.message), /^ ?relayed by rsyslog$/);
      assert.equal(typeof tcp.host, 'string');
      const udp = byTag('rsudp.local2.warn');
      assert.ok(udp, JSON.stringify(mine));
      assert.equal(udp.ident, 'rstest');
      assert.equal(udp.message, 'relayed by rsyslog');
      assert.equal(udp.facility, 'local2');
      assert.ok(byTag('rs.cron.info'), JSON.stringify(mine));
      assert.ok(byTag('rsudp.cron.info'), JSON.stringify(mine));
    } finally {
      rsyslog?.kill('SIGTERM');
      if (rsyslog && rsyslog.exitCode === null) await new Promise((r) => rsyslog!.once('exit', r));
      await sluice.stop(10_000);
      await cleanup();
    }
  });
});
