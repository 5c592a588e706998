// The Vector-test-harness-like cases that run `sluice -c CONF` (file_to_tcp, which runs
// `sluice agent`, is in file_to_tcp.ts). Every case prints events/s, MiB/s, peak RSS, and
// CPU seconds per core of sluice, plus the CPU of its load generator and sink; `harness`
// runs generator -> sink with no sluice between, to show they are not the bottleneck.
// Usage: node --import tsx bench/vth/cases.ts [case ...] [--events N] [--workers N] [--cpu-prof DIR]
//   cases: harness tcp_to_blackhole tcp_to_tcp tcp_to_http regex_parsing http_to_null
// Environment: SLUICE_BIN (another sluice entry point), SLUICE_NODE_ARGS (extra node flags).
import { closeSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../packages/sluice/test/helpers/ports.ts';
import { takeOption } from '../lib/args.ts';
import { type Child, helper, poll, report, sluice, treeCpuSeconds, treePeakRss } from './lib.ts';
import type { SinkStats } from './sink-forward.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => takeOption(argv, name);
const EVENTS = Number(opt('--events') ?? 1_000_000);
const WORKERS = Number(opt('--workers') ?? 1);
const CPU_PROF = opt('--cpu-prof');
const ALL = ['harness', 'tcp_to_blackhole', 'tcp_to_tcp', 'tcp_to_http', 'regex_parsing', 'http_to_null'];
const cases = argv.length ? argv : ALL;

// autocannon ships no types; this is the part used here.
type Autocannon = (o: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number };
  latency: { p99: number; average: number };
  non2xx: number;
  errors: number;
}>;

const dir = await mkdtemp(join(tmpdir(), 'sluice-vth-'));
const system = WORKERS > 1 ? `<system>\n  workers ${WORKERS}\n</system>\n` : '';

async function startSluice(name: string, conf: string, ready: RegExp): Promise<Child> {
  const file = join(dir, `${name}.conf`);
  await writeFile(file, system + conf);
  const s = sluice(['-c', file, '-v'], {
    nodeArgs: [
      ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []),
      ...(process.env.SLUICE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
  });
  await s.waitStderr(ready);
  return s;
}

const forwardIn = (port: number) =>
  `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n</source>\n`;
const label = `${WORKERS} worker${WORKERS > 1 ? 's' : ''}`;

/** generator -> (sluice) -> sink, counted at the sink (or at the generator's acks for blackhole). */
async function tcpCase(
  name: string,
  conf: ((port: number, sinkPort: number) => string) | undefined,
  sinkFile: string | undefined,
): Promise<void> {
  const sink = sinkFile ? helper(sinkFile) : undefined;
  const sinkPort = sink ? ((await sink.ready) as { port: number }).port : 0;
  const port = conf ? await freePort() : sinkPort;
  const s = conf ? await startSluice(name, conf(port, sinkPort), /sluice started/) : undefined;
  // Several connections, so every worker of `<system> workers` gets some.
  const gen = helper('gen-forward.ts', [
    String(port),
    String(EVENTS),
    '1000',
    String(Math.max(2, WORKERS * 2)),
    '8',
  ]);
  try {
    await gen.ready;
    const pid = s?.proc.pid;
    const cpu0 = pid ? treeCpuSeconds(pid) : 0;
    const g0 = (await gen.request<{ cpuS: number }>('stats')).cpuS;
    const k0 = sink ? (await sink.request<{ stats: SinkStats }>('stats')).stats.cpuS : 0;
    const t0 = performance.now();
    gen.proc.send('start');
    let acked = false;
    gen.proc.once('message', () => {
      acked = true;
    });
    await poll(async () => {
      if (sink) return (await sink.request<{ stats: SinkStats }>('stats')).stats.events >= EVENTS;
      return acked;
    }, `${EVENTS} events`);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = pid ? treeCpuSeconds(pid) : 0;
    const rss = pid ? treePeakRss(pid) : { max: 0, sum: 0, processes: 0 };
    const gs = await gen.request<{ cpuS: number; bytes: number }>('stats');
    const g1 = gs.cpuS;
    const ks = sink ? (await sink.request<{ stats: SinkStats }>('stats')).stats : undefined;
    report({
      name: `${name}${s ? ` (${label})` : ''}`,
      events: EVENTS,
      bytes: gs.bytes,
      seconds,
      sluiceCpuS: cpu1 - cpu0,
      peakRssMiB: rss.max,
      rssSumMiB: rss.sum,
      processes: rss.processes,
      harnessCpuS: g1 - g0 + (ks ? ks.cpuS - k0 : 0),
      extra: `PackedForward 1,000 events per frame, acked; ${(gs.bytes / EVENTS).toFixed(0)} B/event on the wire`,
    });
  } finally {
    await gen.kill();
    await s?.kill();
    await sink?.kill();
  }
}

async function regexParsing(): Promise<void> {
  const sink = helper('sink-forward.ts');
  const { port: sinkPort } = (await sink.ready) as { port: number };
  // Written under another name and moved into place once sluice runs: the clock starts
  // when the file appears, so the time includes finding it (refresh_interval 0.1).
  const file = join(dir, 'access.log');
  const staging = join(dir, 'access.log.staging');
  const fd = openSync(staging, 'w');
  let chunk = '';
  for (let i = 0; i < EVENTS; i++) {
    chunk += `203.0.113.${i % 250} - user${i % 7} [21/Nov/2026:23:${String(i % 60).padStart(2, '0')}:${String(i % 59).padStart(2, '0')} +0000] "GET /api/v1/items/${i}?page=${i % 10} HTTP/1.1" 200 ${1000 + (i % 9000)}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  const bytes = statSync(staging).size;
  const conf = `<source>\n  @type tail\n  path ${file}\n  pos_file ${join(dir, 'regex.pos')}\n  tag access\n  read_from_head true\n  refresh_interval 0.1\n  <parse>\n    @type apache2\n  </parse>\n</source>
<match **>\n  @type forward\n  keepalive true\n  <server>\n    host 127.0.0.1\n    port ${sinkPort}\n  </server>\n  <buffer tag>\n    @type memory\n    chunk_limit_size 1m\n    total_limit_size 16m\n    overflow_action block\n    flush_mode interval\n    flush_interval 0.05\n  </buffer>\n</match>\n`;
  const confFile = join(dir, 'regex.conf');
  await writeFile(confFile, conf);
  const s = sluice(['-c', confFile, '-v'], {
    nodeArgs: [
      ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []),
      ...(process.env.SLUICE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
  });
  try {
    await s.waitStderr(/sluice started/);
    const pid = s.proc.pid!;
    const cpu0 = treeCpuSeconds(pid);
    const k0 = (await sink.request<{ stats: SinkStats }>('stats')).stats.cpuS;
    renameSync(staging, file);
    const t0 = Date.now();
    let last: SinkStats | undefined;
    await poll(async () => {
      last = (await sink.request<{ stats: SinkStats }>('stats')).stats;
      return last.events >= EVENTS;
    }, `${EVENTS} parsed lines at the sink`);
    const rss = treePeakRss(pid);
    report({
      name: 'regex_parsing (tail, apache2 parser -> forward)',
      events: EVENTS,
      bytes,
      seconds: (last!.lastWall - t0) / 1000,
      sluiceCpuS: treeCpuSeconds(pid) - cpu0,
      peakRssMiB: rss.max,
      harnessCpuS: last!.cpuS - k0,
      extra: `${(bytes / EVENTS).toFixed(0)} B/line; MiB/s of log lines`,
    });
  } finally {
    await s.kill();
    await sink.kill();
  }
}

async function httpToNull(): Promise<void> {
  const autocannon = (await import('autocannon' as string)).default as Autocannon;
  const port = await freePort();
  const s = await startSluice(
    'http',
    `<source>\n  @type http\n  bind 127.0.0.1\n  port ${port}\n</source>\n<match **>\n  @type null\n</match>\n`,
    /sluice started/,
  );
  try {
    const pid = s.proc.pid!;
    const cpu0 = treeCpuSeconds(pid);
    const body = JSON.stringify({
      message: `203.0.113.7 - - [21/Nov/2026:23:00:00 +0000] "GET /api/v1/items/42 HTTP/1.1" 200 5120`,
      host: 'web01',
    });
    const duration = 10;
    const t0 = performance.now();
    const r = await autocannon({
      url: `http://127.0.0.1:${port}/vth.http`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections: 50,
      pipelining: 1,
      duration,
    });
    const seconds = (performance.now() - t0) / 1000;
    const rss = treePeakRss(pid);
    report({
      name: `http_to_null (50 keep-alive connections, single-event POSTs, ${label})`,
      events: r.requests.total,
      bytes: r.requests.total * body.length,
      seconds,
      sluiceCpuS: treeCpuSeconds(pid) - cpu0,
      peakRssMiB: rss.max,
      rssSumMiB: rss.sum,
      processes: rss.processes,
      harnessCpuS: process.cpuUsage().user / 1e6,
      extra: `p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors} (harness CPU = autocannon, in this process, whole run)`,
    });
  } finally {
    await s.kill();
  }
}

try {
  for (const c of cases) {
    if (c === 'harness')
      await tcpCase('harness (generator -> forward sink, no sluice)', undefined, 'sink-forward.ts');
    else if (c === 'tcp_to_blackhole')
      await tcpCase(
        'tcp_to_blackhole (forward -> null)',
        (p) => `${forwardIn(p)}<match **>\n  @type null\n</match>\n`,
        undefined,
      );
    else if (c === 'tcp_to_tcp')
      await tcpCase(
        'tcp_to_tcp (forward -> forward relay)',
        (p, sp) =>
          `${forwardIn(p)}<match **>\n  @type forward\n  keepalive true\n  <server>\n    host 127.0.0.1\n    port ${sp}\n  </server>\n  <buffer tag>\n    @type memory\n    chunk_limit_size 2m\n    total_limit_size 64m\n    overflow_action block\n    flush_mode interval\n    flush_interval 0.05\n    flush_thread_count 2\n  </buffer>\n</match>\n`,
        'sink-forward.ts',
      );
    else if (c === 'tcp_to_http')
      await tcpCase(
        'tcp_to_http (forward -> out_http, ndjson)',
        (p, sp) =>
          `${forwardIn(p)}<match **>\n  @type http\n  endpoint http://127.0.0.1:${sp}/ingest\n  <buffer>\n    @type memory\n    chunk_limit_size 1m\n    total_limit_size 16m\n    overflow_action block\n    flush_mode interval\n    flush_interval 0.05\n    flush_thread_count 4\n  </buffer>\n</match>\n`,
        'sink-http.ts',
      );
    else if (c === 'regex_parsing') await regexParsing();
    else if (c === 'http_to_null') await httpToNull();
    else throw new Error(`unknown case ${c} (known: ${ALL.join(', ')})`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
