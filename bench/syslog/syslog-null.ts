// bench/syslog: a real `sluice run` with `syslog` over TCP -> `null`, fed by a load
// generator in this process on 127.0.0.1. Prints events/s and MB/s (first byte sent to last
// event counted by the input), Sluice's CPU per event (utime+stime of its process from
// /proc) and its peak RSS (VmHWM).
//   node --import tsx bench/syslog/syslog-null.ts [events=1000000] [conns=4] [frame=traditional|octet_count|udp] [format=rfc3164|rfc5424] [receive_buffer_size]
// frame `udp`: a flood of datagrams from `conns` sockets, sent as fast as the kernel takes them;
// prints what was emitted, dropped by queue_size_limit (UDP_QUEUE_FULL) and lost in the kernel.
// With FLUENTD_BIN (Fluentd 1.14.6's bin/fluentd) set, the same config and load run against
// Fluentd too (one process, --no-supervisor); with FLUENT_BIT_BIN, against Fluent Bit's syslog
// input (tcp or udp, its own syslog-rfc3164/5424 parsers), if that build has one.
// The generator pre-builds its messages (1000 distinct ones, repeated) and writes them as fast
// as the connections take them; it shares the machine with Sluice. Completion is read from
// monitor_agent (/api/plugins.json) every 20 ms once everything was written. Never pass/fail.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { spawnSluice } from '../../packages/sluice/test/helpers/sluice-process.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const CONNS = Number(process.argv[3] ?? 4);
const FRAME = (process.argv[4] ?? 'traditional') as 'traditional' | 'octet_count' | 'udp';
const UDP = FRAME === 'udp';
/** UDP: the input's receive_buffer_size (e.g. 4m), else the system default */
const RCVBUF = process.argv[6];
const FORMAT = (process.argv[5] ?? 'rfc3164') as 'rfc3164' | 'rfc5424';
const MiB = 1024 * 1024;
const TICK = 100; // USER_HZ: /proc/PID/stat times are in 1/100 s

function status(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** The system's UDP receive-buffer drops so far (/proc/net/snmp, all sockets). */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const [head, vals] = [lines[0]!.split(/\s+/), lines[1]!.split(/\s+/)];
  return Number(vals[head.indexOf('RcvbufErrors')] ?? 0);
}

function message(i: number): string {
  const pri = 8 * (16 + (i % 8)) + (i % 8); // local0..local7, emerg..debug
  const path = `/api/v1/items?id=${100000 + i}`;
  const text = `10.0.${i % 256}.${(i * 7) % 256} - - "GET ${path} HTTP/1.1" 200 ${512 + (i % 1000)} "-" "curl/8.0"`;
  if (FORMAT === 'rfc5424')
    return `<${pri}>1 2026-12-06T12:34:56.${String(i % 1000).padStart(3, '0')}Z web-01 nginx 4242 ID${i % 100} [meta seq="${i}"] ${text}`;
  return `<${pri}>Dec  6 12:34:56 web-01 nginx[4242]: ${text}`;
}

/** 1000 distinct framed messages, in one block. */
function block(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const m = Buffer.from(message(i));
    parts.push(
      FRAME === 'octet_count' ? Buffer.concat([Buffer.from(`${m.length} `), m]) : Buffer.from(`${m}\n`),
    );
  }
  return Buffer.concat(parts);
}

/** Events the null output was given (both Sluice and Fluentd count them there), and the input's counters (Sluice). */
async function counts(monitorPort: number): Promise<Record<string, unknown>> {
  const r = await fetch(
    `http://127.0.0.1:${monitorPort}/api/plugins.json?with_ivars=unmatchedMessages,droppedMessages`,
  );
  const j = (await r.json()) as {
    plugins: { type: string; emit_records?: number; instance_variables?: Record<string, unknown> }[];
  };
  const input = j.plugins.find((x) => x.type === 'syslog');
  const out = j.plugins.find((x) => x.type === 'null');
  return { ...(input?.instance_variables ?? {}), emit_records: out?.emit_records ?? 0 };
}

interface Server {
  pid: number;
  stop(): Promise<unknown>;
  /** events counted so far (and the input's counters); monitor_agent's by default */
  counts?: () => Promise<Record<string, unknown>>;
}

interface Setup {
  /** the Fluentd-syntax config (Sluice and Fluentd run it) */
  conf: string;
  dir: string;
  port: number;
  monitorPort: number;
}

async function bench(name: string, start: (s: Setup) => Server): Promise<void> {
  const port = await freePort();
  const monitorPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-syslog-'));
  const conf = join(dir, 'sluice.conf');
  writeFileSync(
    conf,
    `<source>
  @type syslog
  tag bench
  bind 127.0.0.1
  port ${port}
  ${UDP ? `${RCVBUF ? `receive_buffer_size ${RCVBUF}\n  ` : ''}<transport udp>` : `frame_type ${FRAME}\n  <transport tcp>`}
  </transport>
  <parse>
    message_format ${FORMAT}
    with_priority true
  </parse>
</source>
<source>
  @type monitor_agent
  bind 127.0.0.1
  port ${monitorPort}
  include_debug_info true
</source>
<match bench.**>
  @type null
</match>
`,
  );
  const server = start({ conf, dir, port, monitorPort });
  const pid = server.pid;
  const count = server.counts ?? (() => counts(monitorPort));
  try {
    // Inputs start in config order: once monitor_agent listens, the syslog socket is bound.
    if (!UDP) await waitForPort(port, 60_000);
    await waitForPort(monitorPort, 60_000);
    const blk = block();
    const perBlock = 1000;
    const blocks = Math.ceil(N / perBlock);
    const total = blocks * perBlock;
    const before = status(pid);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    let sent = 0;
    const rcvbuf0 = UDP ? udpRcvbufErrors() : 0;
    if (UDP) {
      const msgs = Array.from({ length: perBlock }, (_, i) => Buffer.from(message(i)));
      await Promise.all(
        Array.from({ length: CONNS }, async (_, c) => {
          const u = createSocket('udp4');
          for (let i = c; i < total; i += CONNS) {
            const m = msgs[i % perBlock]!;
            sent += m.length;
            // Unawaited sends; every 1000 the loop is let run so they leave the process.
            u.send(m, port, '127.0.0.1');
            if (i % 1000 < CONNS) await new Promise((r) => setImmediate(r));
          }
          // Sends complete in order: once a last one's callback ran, all have left.
          await new Promise<void>((r) => u.send(msgs[0]!, port, '127.0.0.1', () => r()));
          sent += msgs[0]!.length;
          u.close();
        }),
      );
    } else {
      await Promise.all(
        Array.from({ length: CONNS }, async (_, c) => {
          const s = connect(port, '127.0.0.1');
          // Fluentd closes with SO_LINGER 0: a reset once the client has ended is expected.
          let ended = false;
          s.on('error', (e) => ended || console.error(`${name}: connection ${c}: ${e.message}`));
          await new Promise<void>((r) => s.once('connect', () => r()));
          for (let b = c; b < blocks; b += CONNS) {
            sent += blk.length;
            if (!s.write(blk)) await new Promise((r) => s.once('drain', r));
          }
          ended = true;
          await new Promise<void>((r) => s.end(() => r()));
        }),
      );
    }
    const tSent = performance.now();
    let stats = await count();
    // UDP: done once every datagram is counted as emitted or dropped, or nothing changed for a
    // second (the rest was lost in the kernel).
    let last = -1;
    let lastChange = performance.now();
    const expected = UDP ? total + CONNS : total;
    const seen = () => (stats.emit_records as number) + ((stats.droppedMessages as number | undefined) ?? 0);
    while ((UDP ? seen() : (stats.emit_records as number)) < expected) {
      await new Promise((r) => setTimeout(r, 20)); // pacing of the completion poll
      stats = await count();
      if (seen() !== last) {
        last = seen();
        lastChange = performance.now();
      } else if (UDP && performance.now() - lastChange > 1000) break;
      if (performance.now() - tSent > 120_000)
        throw new Error(`only ${stats.emit_records} of ${total} counted`);
    }
    if (UDP) {
      const emitted = stats.emit_records as number;
      const dropped = (stats.droppedMessages as number | undefined) ?? 0;
      console.log(
        `${name}: syslog ${FORMAT} over UDP: ${expected.toLocaleString('en-US')} datagrams sent from ${CONNS} sockets in ${(tSent - t0).toFixed(0)} ms; ` +
          `emitted ${emitted.toLocaleString('en-US')}, dropped by queue_size_limit ${dropped.toLocaleString('en-US')}, ` +
          `lost before ${name} read them ${(expected - emitted - dropped).toLocaleString('en-US')} (kernel RcvbufErrors +${udpRcvbufErrors() - rcvbuf0})`,
      );
    }
    // UDP: up to the last datagram counted, not the second of quiet after it.
    const ms = (UDP ? lastChange : performance.now()) - t0;
    const cpu = cpuSeconds(pid) - cpu0;
    // UDP: rates over what was emitted (the rest never reached Sluice or was dropped).
    const done = UDP ? (stats.emit_records as number) : total;
    if (UDP) sent = (sent / expected) * done;
    const after = status(pid);
    console.log(
      `${name}: syslog ${FORMAT} ${FRAME}${UDP ? '' : ' over TCP'} -> null: ${total.toLocaleString('en-US')} events, ${CONNS} connections, ` +
        `${(sent / done).toFixed(0)} bytes per message; machine: ${cpus().length} cores`,
    );
    console.log(
      `  ${Math.round((done / ms) * 1000).toLocaleString('en-US')} events/s, ${((sent / MiB / ms) * 1000).toFixed(1)} MB/s, ` +
        `CPU ${((cpu / done) * 1e6).toFixed(2)} us/event (${((cpu / (ms / 1000)) * 100).toFixed(0)}% of one core), ` +
        `RSS before ${(before.rss / MiB).toFixed(0)} MiB, peak ${(after.hwm / MiB).toFixed(0)} MiB; ` +
        `unmatched ${stats.unmatchedMessages ?? '?'}, dropped ${stats.droppedMessages ?? '?'}`,
    );
  } catch (e) {
    const log = `${conf}.log`;
    console.error(
      `${name}: ${(e as Error).message}${existsSync(log) ? `\n${readFileSync(log, 'utf8').slice(-2000)}` : ''}`,
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await bench('sluice', ({ conf }) => {
  const p = spawnSluice(['run', '-c', conf, '-q']);
  return { pid: p.proc.pid!, stop: () => p.stop(10_000) };
});
const fluentd = process.env.FLUENTD_BIN;
if (fluentd)
  await bench('fluentd', ({ conf }) => {
    const p = spawn(fluentd, ['-c', conf, '-q', '--no-supervisor', '-o', `${conf}.log`], { stdio: 'ignore' });
    const exited = new Promise((r) => p.once('exit', r));
    return {
      pid: p.pid!,
      stop: () => {
        p.kill('SIGTERM');
        return exited;
      },
    };
  });

// Fluent Bit's syslog input (Mode tcp: newline framing; udp), with Fluent Bit's own
// syslog-rfc3164 / syslog-rfc5424 parsers (from its conf/parsers.conf), counted by its HTTP
// server's input metrics.
const fluentBit = process.env.FLUENT_BIT_BIN;
if (fluentBit) {
  const help = await new Promise<string>((resolve) => {
    const p = spawn(fluentBit, ['-h'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    p.on('close', () => resolve(out));
  });
  const inputs = help.slice(
    help.indexOf('Inputs'),
    help.indexOf('Processors') > 0 ? help.indexOf('Processors') : undefined,
  );
  if (!/^\s+syslog\s/m.test(inputs))
    console.log(`fluent-bit: ${fluentBit} has no syslog input: not compared`);
  else if (FRAME === 'octet_count')
    console.log('fluent-bit: its syslog input has no octet counting: not compared');
  else
    await bench('fluent-bit', ({ dir, port, monitorPort }) => {
      const parsers = join(dir, 'parsers.conf');
      writeFileSync(
        parsers,
        `[PARSER]
    Name        syslog-rfc5424
    Format      regex
    Regex       ^\\<(?<pri>[0-9]{1,5})\\>1 (?<time>[^ ]+) (?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+) (?<extradata>(\\[(.*?)\\]|-)) (?<message>.+)$
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
    Time_Keep   On

[PARSER]
    Name        syslog-rfc3164
    Format      regex
    Regex       /^\\<(?<pri>[0-9]+)\\>(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\\/\\.\\-]*)(?:\\[(?<pid>[0-9]+)\\])?(?:[^\\:]*\\:)? *(?<message>.*)$/
    Time_Key    time
    Time_Format %b %d %H:%M:%S
    Time_Keep   On
`,
      );
      const conf = join(dir, 'fluent-bit.conf');
      writeFileSync(
        conf,
        `[SERVICE]
    Flush        1
    Log_Level    warn
    Parsers_File ${parsers}
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    ${monitorPort}
[INPUT]
    Name     syslog
    Mode     ${UDP ? 'udp' : 'tcp'}
    Listen   127.0.0.1
    Port     ${port}
    Parser   syslog-${FORMAT}
${UDP && RCVBUF ? `    Receive_Buffer_Size ${RCVBUF}\n` : ''}[OUTPUT]
    Name  null
    Match *
`,
      );
      const p = spawn(fluentBit, ['-c', conf], { stdio: 'ignore' });
      const exited = new Promise((r) => p.once('exit', r));
      return {
        pid: p.pid!,
        stop: () => {
          p.kill('SIGTERM');
          return exited;
        },
        counts: async () => {
          const r = await fetch(`http://127.0.0.1:${monitorPort}/api/v1/metrics`);
          const j = (await r.json()) as { input?: Record<string, { records?: number }> };
          const input = Object.entries(j.input ?? {}).find(([k]) => k.startsWith('syslog'))?.[1];
          return { emit_records: input?.records ?? 0 };
        },
      };
    });
}
