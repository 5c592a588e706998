// Optional: in_syslog against the real Fluentd 1.14.6. The same bytes are sent to Fluentd's
// in_syslog and to Sluice's, with the same <source> bodies, and every event (tag, time,
// record) must be the same: default parse, message_format auto, octet-counted TCP with
// newlines between frames, another parser (`none`) with emit_unmatched_lines, priorities
// past local7, messages without a priority or a time; and in_tcp / in_udp with json and none
// parsers (records, a datagram cut by message_length_limit). Runs only when FLUENTD_BIN (Fluentd
// 1.14.6's bin/fluentd) is set; skipped otherwise (docs/forward-protocol.md builds it).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PluginDescriptor } from '../../src/core/plugin.ts';
import syslogInput from '../../src/plugins/input/syslog.ts';
import tcpInput from '../../src/plugins/input/tcp.ts';
import udpInput from '../../src/plugins/input/udp.ts';
import { freePort } from '../helpers/ports.ts';
import { sendUdp, startInput } from '../plugins/input/net-helpers.ts';

const FLUENTD_BIN = process.env.FLUENTD_BIN;
const skip = FLUENTD_BIN
  ? false
  : "FLUENTD_BIN is not set: set it to Fluentd 1.14.6's bin/fluentd to run this comparison";

const SYSLOG_MESSAGES = [
  '<6>Dec 11 00:00:00 localhost logger: foo\n',
  '<165>Dec  1 10:20:30 web01 app[123]: bar',
  '<200>Dec  6 12:00:00 h a: past local7',
  'no priority at all',
  '<13>not a time',
  '<13>1 2026-12-06T12:00:00.123Z h app 1 ID1 [x a="1"][y b="2"] five',
  '<14>1 2026-12-06T12:00:01Z h app - - - no fraction',
  '<86>Dec  6 12:00:00 h sshd: tab\there',
];

type Framing = 'udp' | 'octets' | 'lines';

/** A source: its type and body (tag and port are added), the bytes sent, and how the last one is known. */
interface Source {
  name: string;
  type: 'syslog' | 'tcp' | 'udp';
  body: string;
  framing: Framing;
  messages: string[];
  /** the parser reads no time: events carry the time they arrived, compared without it */
  timesNow?: boolean;
  /** the last message's event */
  last: (e: Ev) => boolean;
}

const SENTINEL = '<191>Dec  6 23:59:59 h sentinel: end';
const syslogLast = (e: Ev) => e.tag.endsWith('.local7.debug');
const SYSLOG = [...SYSLOG_MESSAGES, SENTINEL];
// Not a JSON array: Fluentd 1.14.6's json parser gives the array itself as the record (in_tcp
// then fails on it and drops the read); Sluice emits one record per element (docs/parsers.md).
const JSON_MESSAGES = [
  '{"a":1,"nested":{"b":[1,2.5,"x"]},"u":"\u00e9t\u00e9 \ud83d\ude00"}',
  'not json',
  '{"n":null,"t":true,"f":false,"big":12345678901234}',
  '{"sentinel":true}',
];
const jsonLast = (e: Ev) => (e.record as { sentinel?: boolean }).sentinel === true;

const SOURCES: Source[] = [
  {
    name: 'dflt',
    type: 'syslog',
    framing: 'udp',
    body: 'severity_key sev\nfacility_key fac',
    messages: SYSLOG,
    last: syslogLast,
  },
  {
    name: 'auto',
    type: 'syslog',
    framing: 'udp',
    body: 'emit_unmatched_lines true\n<parse>\nmessage_format auto\n</parse>',
    messages: SYSLOG,
    last: syslogLast,
  },
  {
    name: 'none',
    type: 'syslog',
    framing: 'udp',
    timesNow: true,
    body: 'emit_unmatched_lines true\nseverity_key sev\n<parse>\n@type none\n</parse>',
    messages: SYSLOG,
    last: syslogLast,
  },
  {
    name: 'octet',
    type: 'syslog',
    framing: 'octets',
    body: 'frame_type octet_count\n<transport tcp>\n</transport>\n<parse>\nmessage_format auto\n</parse>',
    messages: SYSLOG,
    last: syslogLast,
  },
  {
    name: 'tcpjson',
    type: 'tcp',
    framing: 'lines',
    timesNow: true,
    body: 'source_address_key addr\n<parse>\n@type json\n</parse>',
    messages: JSON_MESSAGES,
    last: jsonLast,
  },
  {
    name: 'tcpext',
    type: 'tcp',
    framing: 'lines',
    timesNow: true,
    body: '<extract>\ntag_key route\n</extract>\n<parse>\n@type json\n</parse>',
    messages: ['{"route":"tcpext.routed","a":1}', '{"route":"tcpext.kept","a":2}', ...JSON_MESSAGES],
    last: jsonLast,
  },
  {
    name: 'udpjson',
    type: 'udp',
    framing: 'udp',
    timesNow: true,
    body: '<parse>\n@type json\n</parse>',
    messages: JSON_MESSAGES.map((m) => `${m}\r\n`),
    last: jsonLast,
  },
  {
    name: 'udpcut',
    type: 'udp',
    framing: 'udp',
    timesNow: true,
    body: 'message_length_limit 100\n<parse>\n@type none\n</parse>',
    messages: [`${'x'.repeat(150)}\n`, 'short', 'SENTINEL'],
    last: (e) => (e.record as { message?: string }).message === 'SENTINEL',
  },
];

const DESCRIPTORS: Record<
  Source['type'],
  PluginDescriptor<{ port: number; stop(): Promise<void>; start(): Promise<void> }>
> = {
  syslog: syslogInput,
  tcp: tcpInput,
  udp: udpInput,
};

async function send(port: number, framing: Framing, msgs: string[]): Promise<void> {
  if (framing === 'udp') return sendUdp(port, msgs);
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined); // a peer that closes with SO_LINGER 0 (Fluentd) resets
  await new Promise<void>((r) => s.once('connect', () => r()));
  const text =
    framing === 'octets'
      ? msgs.map((m) => `${Buffer.byteLength(m)} ${m}\n`).join('')
      : msgs.map((m) => `${m}\n`).join('');
  await new Promise<void>((r) => s.end(text, () => r()));
}

interface Ev {
  tag: string;
  time: string;
  record: unknown;
}

describe('syslog, tcp and udp inputs compared with Fluentd 1.14.6 (FLUENTD_BIN)', () => {
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
          `<source>\n@type ${s.type}\nbind 127.0.0.1\nport ${ports.get(s.name)}\ntag ${s.name}\n${s.body}\n</source>\n`,
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
    const theirs = (name: string): Ev[] =>
      out
        .split('\n')
        .filter(
          (l) => l.startsWith('{') && (l.includes(`"__tag":"${name}.`) || l.includes(`"__tag":"${name}"`)),
        )
        .map((l) => {
          const { __tag, __time, ...record } = JSON.parse(l) as Record<string, unknown>;
          return { tag: __tag as string, time: __time as string, record };
        });
    try {
      await until(() => out.includes('fluentd worker is now running'), 'Fluentd to start');
      for (const s of SOURCES) {
        // Sluice, in process, with the same body.
        const t = await startInput(DESCRIPTORS[s.type], `tag ${s.name}\n${s.body}`);
        try {
          const ours = (): Ev[] =>
            t.events().map((e) => ({ tag: e.tag, time: isoNs(e.time.sec, e.time.nsec), record: e.record }));
          await send(t.input.port, s.framing, s.messages);
          await t.until(() => ours().some(s.last), `${s.name}: Sluice's last event`);
          await send(ports.get(s.name)!, s.framing, s.messages);
          await until(() => theirs(s.name).some(s.last), `${s.name}: Fluentd's last event`);
          // Unmatched lines, and every event of a parser that reads no time, carry the time they
          // arrived: compared without it.
          const norm = (evs: Ev[]) =>
            evs.map((e) => (s.timesNow || e.tag.endsWith('.unmatched') ? { ...e, time: '(arrival)' } : e));
          assert.deepEqual(norm(ours()), norm(theirs(s.name)), `source ${s.name}`);
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
