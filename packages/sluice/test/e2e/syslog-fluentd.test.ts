// Optional: in_syslog against the real Fluentd 1.14.6. The same bytes are sent to Fluentd's
// in_syslog and to Sluice's, with the same <source> bodies, and every event (tag, time,
// record) must be the same: default parse, message_format auto, octet-counted TCP with
// newlines between frames, another parser (`none`) with emit_unmatched_lines, priorities
// past local7, messages without a priority or a time. Runs only when FLUENTD_BIN (Fluentd
// 1.14.6's bin/fluentd) is set; skipped otherwise (docs/forward-protocol.md builds it).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import syslogInput from '../../src/plugins/input/syslog.ts';
import { freePort } from '../helpers/ports.ts';
import { sendUdp, startInput } from '../plugins/input/net-helpers.ts';

const FLUENTD_BIN = process.env.FLUENTD_BIN;
const skip = FLUENTD_BIN
  ? false
  : "FLUENTD_BIN is not set: set it to Fluentd 1.14.6's bin/fluentd to run this comparison";

const UDP_MESSAGES = [
  '<6>Dec 11 00:00:00 localhost logger: foo\n',
  '<165>Dec  1 10:20:30 web01 app[123]: bar',
  '<200>Dec  6 12:00:00 h a: past local7',
  'no priority at all',
  '<13>not a time',
  '<13>1 2026-12-06T12:00:00.123Z h app 1 ID1 [x a="1"][y b="2"] five',
  '<14>1 2026-12-06T12:00:01Z h app - - - no fraction',
  '<86>Dec  6 12:00:00 h sshd: tab\there',
];

/** Each source: its body (tag and port are added) and how its messages are sent. */
const SOURCES: { name: string; body: string; tcp?: boolean; timesNow?: boolean }[] = [
  { name: 'dflt', body: 'severity_key sev\nfacility_key fac' },
  { name: 'auto', body: 'emit_unmatched_lines true\n<parse>\nmessage_format auto\n</parse>' },
  {
    name: 'none',
    timesNow: true,
    body: 'emit_unmatched_lines true\nseverity_key sev\n<parse>\n@type none\n</parse>',
  },
  {
    name: 'octet',
    tcp: true,
    body: 'frame_type octet_count\n<transport tcp>\n</transport>\n<parse>\nmessage_format auto\n</parse>',
  },
];
const SENTINEL = '<191>Dec  6 23:59:59 h sentinel: end';

function octets(msgs: string[]): string {
  return msgs.map((m) => `${Buffer.byteLength(m)} ${m}\n`).join('');
}

async function send(port: number, tcp: boolean | undefined, msgs: string[]): Promise<void> {
  if (!tcp) return sendUdp(port, msgs);
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined); // a peer that closes with SO_LINGER 0 (Fluentd) resets
  await new Promise<void>((r) => s.once('connect', () => r()));
  await new Promise<void>((r) => s.end(octets(msgs), () => r()));
}

interface Ev {
  tag: string;
  time: string;
  record: unknown;
}

describe('in_syslog compared with Fluentd 1.14.6 (FLUENTD_BIN)', () => {
  it('the same bytes give the same events (tag, time, record) in both', {
    skip,
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-syslog-fd-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const ports = new Map<string, number>();
    for (const s of SOURCES) ports.set(s.name, await freePort());
    const conf = join(dir, 'fluent.conf');
    writeFileSync(
      conf,
      `${SOURCES.map(
        (s) =>
          `<source>\n@type syslog\nbind 127.0.0.1\nport ${ports.get(s.name)}\ntag ${s.name}\n${s.body}\n</source>\n`,
      ).join(
        '',
      )}<match **>\n@type stdout\n<format>\n@type json\n</format>\n<inject>\ntag_key __tag\ntime_key __time\ntime_type string\ntime_format %Y-%m-%dT%H:%M:%S.%N%z\n</inject>\n</match>\n`,
    );
    let out = '';
    const waiters: (() => void)[] = [];
    const fd: ChildProcess = spawn(FLUENTD_BIN!, ['-c', conf, '--no-supervisor'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC' },
    });
    const take = (d: Buffer) => {
      out += d.toString();
      for (const w of waiters.splice(0)) w();
    };
    fd.stdout!.on('data', take);
    fd.stderr!.on('data', take);
    const exited = new Promise<void>((r) => fd.on('exit', () => r()));
    const until = async (test: () => boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!test()) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}; Fluentd:\n${out.slice(-3000)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    };
    try {
      await until(() => out.includes('fluentd worker is now running'), 'Fluentd to start');
      for (const s of SOURCES) {
        // Sluice, in process, with the same body.
        const t = await startInput(syslogInput, `tag ${s.name}\n${s.body}`);
        try {
          await send(t.input.port, s.tcp, [...UDP_MESSAGES, SENTINEL]);
          await t.until(
            () => t.events().some((e) => e.tag.endsWith('.local7.debug')),
            `${s.name}: the sentinel`,
          );
          await send(ports.get(s.name)!, s.tcp, [...UDP_MESSAGES, SENTINEL]);
          await until(
            () => out.includes(`"__tag":"${s.name}.local7.debug"`),
            `${s.name}: Fluentd's sentinel`,
          );
          const theirs: Ev[] = out
            .split('\n')
            .filter((l) => l.startsWith('{') && l.includes(`"__tag":"${s.name}.`))
            .map((l) => {
              const { __tag, __time, ...record } = JSON.parse(l) as Record<string, unknown>;
              return { tag: __tag as string, time: __time as string, record };
            });
          const ours: Ev[] = t.events().map((e) => ({
            tag: e.tag,
            time: isoNs(e.time.sec, e.time.nsec),
            record: e.record,
          }));
          // Unmatched lines, and every event of a parser that reads no time, carry the time they
          // arrived: compared without it.
          const norm = (evs: Ev[]) =>
            evs.map((e) => (s.timesNow || e.tag.endsWith('.unmatched') ? { ...e, time: '(arrival)' } : e));
          assert.deepEqual(norm(ours), norm(theirs), `source ${s.name}`);
        } finally {
          await t.input.stop();
        }
      }
    } finally {
      fd.kill('SIGTERM');
      await exited;
    }
  });
});

/** %Y-%m-%dT%H:%M:%S.%N%z in UTC, as the Fluentd above (TZ=UTC) writes it. */
function isoNs(sec: number, nsec: number): string {
  const d = new Date(sec * 1000).toISOString().slice(0, 19);
  return `${d}.${String(nsec).padStart(9, '0')}+0000`;
}
