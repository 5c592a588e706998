// file_to_tcp (Vector test harness): 10 files x 100,000 lines of ~160 bytes, read from their
// head by `sluice agent --conf` (one process for all files), forwarded to a counting sink.
// Usage: node --import tsx bench/vth/file_to_tcp.ts [files] [lines per file] [--buffer memory|file] [--ack]
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helper, poll, report, sluice, treeCpuSeconds, treePeakRss } from './lib.ts';
import type { SinkStats } from './sink-forward.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, v !== undefined && !v.startsWith('--') ? 2 : 1);
  return v;
};
const ack = args.includes('--ack');
if (ack) args.splice(args.indexOf('--ack'), 1);
const buffer = flag('--buffer') ?? 'file';
const cpuProf = flag('--cpu-prof');
const workers = flag('--workers');
const FILES = Number(args[0] ?? 10);
const LINES = Number(args[1] ?? 100_000);

/** ~160-byte lines like the harness's generated logs. */
function writeLog(path: string, n: number, fileNo: number): number {
  const fd = openSync(path, 'w');
  let chunk = '';
  for (let i = 0; i < n; i++) {
    chunk += `203.0.113.${i % 250} - - [21/Nov/2026:23:${String(i % 60).padStart(2, '0')}:00 +0000] "GET /api/v1/items/${fileNo}-${String(i).padStart(7, '0')}?page=2 HTTP/1.1" 200 ${1000 + (i % 9000)} "https://example.com/" "Mozilla/5.0 (vth) bench/1.0"\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  return statSync(path).size;
}

const dir = await mkdtemp(join(tmpdir(), 'sluice-vth-f2t-'));
const sink = helper('sink-forward.ts');
let agent: ReturnType<typeof sluice> | undefined;
try {
  const { port } = (await sink.ready) as { port: number };
  let bytes = 0;
  const logs: string[] = [];
  for (let f = 0; f < FILES; f++) {
    const path = join(dir, `app${f}.log`);
    bytes += writeLog(path, LINES, f);
    logs.push(`app${f} ${path}`);
  }
  const total = FILES * LINES;
  const conf = join(dir, 'agent.conf');
  await writeFile(conf, `LOGS=$(cat <<EOF\n${logs.join('\n')}\nEOF\n)\nPRIMARY_SERVER=127.0.0.1:${port}\n`);
  const agentArgs = (state: string, confFile = conf) => [
    'agent',
    '-v',
    '--conf',
    confFile,
    '--state-dir',
    join(dir, state),
    '--read-from-head',
    '--buffer',
    buffer,
    ...(ack ? ['--ack'] : []),
    ...(workers ? ['--workers', workers] : []),
  ];
  // CPU of starting up (loading the TypeScript sources) is not part of the case: measured
  // on the same agent over as many empty files, then subtracted.
  const idleState = join(dir, 'idle');
  const idleLogs: string[] = [];
  for (let f = 0; f < FILES; f++) {
    await writeFile(join(dir, `idle${f}.log`), '');
    idleLogs.push(`idle${f} ${join(dir, `idle${f}.log`)}`);
  }
  const idleConf = join(dir, 'idle.conf');
  await writeFile(
    idleConf,
    `LOGS=$(cat <<EOF\n${idleLogs.join('\n')}\nEOF\n)\nPRIMARY_SERVER=127.0.0.1:${port}\n`,
  );
  const idle = sluice(agentArgs('idle', idleConf));
  let baseline = 0;
  try {
    await idle.waitStderr(/sluice agent started/);
    baseline = treeCpuSeconds(idle.proc.pid!);
  } finally {
    await idle.kill();
    await rm(idleState, { recursive: true, force: true });
  }
  // A run lasts about a second: sample every 200 us (default 1 ms) to get enough samples.
  agent = sluice(agentArgs('state'), {
    nodeArgs: cpuProf ? ['--cpu-prof', '--cpu-prof-interval', '200', `--cpu-prof-dir=${cpuProf}`] : [],
  });
  const pid = agent.proc.pid!;
  await agent.waitStderr(/sluice agent started/);
  const sinkCpu0 = (await sink.request<{ stats: SinkStats }>('stats')).stats.cpuS;
  let last: SinkStats | undefined;
  await poll(
    async () => {
      last = (await sink.request<{ stats: SinkStats }>('stats')).stats;
      return last.events >= total;
    },
    `${total} events at the sink`,
    600_000,
    20,
  );
  const cpu1 = treeCpuSeconds(pid);
  const rss = treePeakRss(pid);
  // The clock starts when the first file is opened (the tail input's log line).
  const opened = [...agent.stderr().matchAll(/"time":(\d+),[^\n]*"msg":"following tail of file/g)].map((m) =>
    Number(m[1]),
  );
  const t0 = opened.length ? Math.min(...opened) : Number.NaN;
  const s = last!;
  // The rate between 10 % and 90 % of the events at the sink: the run without its start
  // (starting the sources, cold code) and its end (the last partial chunks).
  const { timeline } = await sink.request<{ timeline: number[] }>('timeline');
  const at = (share: number) => {
    for (let i = 0; i < timeline.length; i += 2) if (timeline[i + 1]! >= share * total) return i;
    return -1;
  };
  const [a, b] = [at(0.1), at(0.9)];
  const steady =
    a >= 0 && b > a ? (timeline[b + 1]! - timeline[a + 1]!) / ((timeline[b]! - timeline[a]!) / 1000) : NaN;
  report({
    name: `file_to_tcp (sluice agent, ${FILES} files x ${LINES} lines, ${buffer} buffer${ack ? ', acks' : ''}${workers ? `, ${workers} workers` : ''})`,
    events: total,
    bytes,
    seconds: (s.lastWall - t0) / 1000,
    sluiceCpuS: cpu1 - baseline,
    peakRssMiB: rss.max,
    rssSumMiB: rss.sum,
    processes: rss.processes,
    harnessCpuS: s.cpuS - sinkCpu0,
    extra: `${(bytes / total).toFixed(0)} B/line, ${s.frames} frames, first event at the sink after ${s.firstWall - t0} ms, ${Math.round(steady).toLocaleString('en')} events/s from 10 % to 90 % of them; startup CPU ${baseline.toFixed(2)} s not counted`,
  });
} finally {
  await agent?.kill();
  await sink.kill();
  await rm(dir, { recursive: true, force: true });
}
