// HTTP benchmarks, printing figures (never pass/fail):
//  1. `http -> null`: single-event JSON POSTs with keep-alive from autocannon against the
//     sluice CLI (a child process, as users run it) with 1 and 2 workers: requests/s,
//     events/s, MB/s, CPU and peak RSS of the sluice processes.
//  2. `forward -> out_http`: PackedForward batches with acks into a sluice child whose
//     out_http (memory buffer) delivers to an in-process HTTP sink: events/s delivered.
//
//   node --import tsx bench/http/run.ts [seconds per case, default 5]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMultiple, EventTime, encode } from '@sluice/forward';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';
import { freePort } from '../../packages/sluice/test/helpers/ports.ts';

// autocannon ships no types; this is the part used here.
type Autocannon = (o: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  latency: { p99: number };
}>;
const autocannon = (await import('autocannon' as string)).default as Autocannon;

const seconds = Number(process.argv[2] ?? 5);
const BIN = fileURLToPath(new URL('../../packages/sluice/bin/sluice.js', import.meta.url));
const RECORD = {
  host: 'web-1',
  level: 'info',
  method: 'GET',
  path: '/api/items/42',
  status: 200,
  bytes: 5120,
  message: 'request served',
};
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-http-'));

const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

/** The sluice process and its cluster workers. */
function tree(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    /* no children */
  }
  return [pid, ...kids];
}

function procStat(pid: number): { cpuSec: number; hwmKb: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(stat[11]) + Number(stat[12]);
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSec: ticks / 100, hwmKb: hwm ? Number(hwm[1]) : 0 };
  } catch {
    return { cpuSec: 0, hwmKb: 0 };
  }
}

function usage(pids: number[]): { cpuSec: number; rssMb: number } {
  let cpuSec = 0;
  let kb = 0;
  for (const p of pids) {
    const s = procStat(p);
    cpuSec += s.cpuSec;
    kb += s.hwmKb;
  }
  return { cpuSec, rssMb: kb / 1024 };
}

function startSluice(conf: string): ChildProcess {
  const file = join(dir, `c${Math.random().toString(16).slice(2)}.conf`);
  writeFileSync(file, conf);
  return spawn(process.execPath, [BIN, '-c', file, '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopSluice(p: ChildProcess): Promise<void> {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

async function httpToNull(workers: number): Promise<void> {
  const port = await freePort();
  const p = startSluice(
    `<system>\n  workers ${workers}\n</system>\n<source>\n  @type http\n  port ${port}\n  bind 127.0.0.1\n</source>\n<match **>\n  @type null\n</match>\n`,
  );
  await waitForPort(port);
  // let every worker bind before measuring
  await new Promise((r) => setTimeout(r, workers > 1 ? 1500 : 200));
  const pids = tree(p.pid!);
  const u0 = usage(pids);
  const body = JSON.stringify(RECORD);
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/bench.http`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: 32,
    pipelining: 1,
    duration: seconds,
  });
  const u1 = usage(pids);
  await stopSluice(p);
  const rps = r.requests.average;
  console.log(
    `http -> null, ${workers} worker(s): ${fmt(rps)} requests/s = ${fmt(rps)} events/s, ${((rps * body.length) / 1e6).toFixed(1)} MB/s of bodies, ` +
      `p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}, sluice CPU ${(((u1.cpuSec - u0.cpuSec) / seconds) * 100).toFixed(0)}% of one core, peak RSS ${u1.rssMb.toFixed(0)} MB (sum of processes)`,
  );
}

async function forwardToHttp(batch: number): Promise<void> {
  let delivered = 0;
  let requests = 0;
  const sink = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      for (const b of c) if (b === 0x0a) n++;
    });
    req.on('end', () => {
      delivered += n;
      requests++;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkPort = (sink.address() as net.AddressInfo).port;
  const fwd = await freePort();
  const p = startSluice(
    `<source>\n  @type forward\n  port ${fwd}\n  bind 127.0.0.1\n</source>\n<match **>\n  @type http\n  endpoint http://127.0.0.1:${sinkPort}/ingest\n  <buffer>\n    @type memory\n    flush_mode interval\n    flush_interval 0.2s\n    flush_thread_count 4\n    chunk_limit_size 4m\n    total_limit_size 512m\n    overflow_action block\n  </buffer>\n</match>\n`,
  );
  await waitForPort(fwd);
  const pids = tree(p.pid!);
  const u0 = usage(pids);

  const b = new BatchBuilder();
  const rec = encode(RECORD);
  const t = EventTime.now();
  for (let i = 0; i < batch; i++) b.addRaw(t.sec, t.nsec, rec);
  const entries = b.finish();
  const sock = net.connect(fwd, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let acked = 0;
  let waiting: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    for (const v of decodeMultiple(d)) if ((v as { ack?: string }).ack) acked++;
    waiting?.();
  });
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  const WINDOW = 8;
  while (performance.now() < end) {
    while (sent - acked >= WINDOW) await new Promise<void>((r) => (waiting = r));
    sock.write(encode(['bench.fwd', entries, { chunk: randomBytes(8).toString('base64'), size: batch }]));
    sent++;
  }
  while (acked < sent) await new Promise<void>((r) => (waiting = r));
  const accepted = sent * batch;
  const deadline = performance.now() + 30_000;
  while (delivered < accepted && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const dt = (performance.now() - t0) / 1000;
  const u1 = usage(pids);
  sock.destroy();
  await stopSluice(p);
  sink.close();
  console.log(
    `forward -> out_http (batches of ${batch}): ${fmt(delivered / dt)} events/s delivered (${delivered}/${accepted}) in ${requests} requests, ${((delivered * (JSON.stringify(RECORD).length + 1)) / dt / 1e6).toFixed(1)} MB/s of JSON, ` +
      `sluice CPU ${(((u1.cpuSec - u0.cpuSec) / dt) * 100).toFixed(0)}% of one core, peak RSS ${u1.rssMb.toFixed(0)} MB`,
  );
}

try {
  await httpToNull(1);
  await httpToNull(2);
  await forwardToHttp(1000);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
