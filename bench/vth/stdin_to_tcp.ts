// stdin_to_tcp: fluent-agent-lite's other path (TARGET_FILE `-`): LINES lines of ~155 bytes
// piped into `sluice agent TAG - 127.0.0.1:PORT`, to the counting forward sink.
// Usage: node --import tsx bench/vth/stdin_to_tcp.ts [lines] [--buffer memory|file]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, helper, peakRssMiB, poll, report, sluice } from './lib.ts';
import type { SinkStats } from './sink-forward.ts';

const args = process.argv.slice(2);
const bi = args.indexOf('--buffer');
const buffer = bi >= 0 ? args.splice(bi, 2)[1]! : 'memory';
const pi = args.indexOf('--cpu-prof');
const cpuProf = pi >= 0 ? args.splice(pi, 2)[1] : undefined;
const LINES = Number(args[0] ?? 1_000_000);

const dir = await mkdtemp(join(tmpdir(), 'sluice-vth-stdin-'));
const sink = helper('sink-forward.ts');
let real: ReturnType<typeof sluice> | undefined;
try {
  const { port } = (await sink.ready) as { port: number };
  real = sluice(
    [
      'agent',
      '-v',
      '--state-dir',
      join(dir, 'state'),
      '--buffer',
      buffer,
      'app.stdin',
      '-',
      `127.0.0.1:${port}`,
    ],
    { stdin: 'pipe', nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [] },
  );
  await real.waitStderr(/sluice agent started/);
  const pid = real.proc.pid!;
  const cpu0 = cpuSeconds(pid);
  const k0 = (await sink.request<{ stats: SinkStats }>('stats')).stats.cpuS;
  const line = (i: number) =>
    `203.0.113.${i % 250} - - [21/Nov/2026:23:${String(i % 60).padStart(2, '0')}:00 +0000] "GET /api/v1/items/0-${String(i).padStart(7, '0')}?page=2 HTTP/1.1" 200 ${1000 + (i % 9000)} "https://example.com/" "Mozilla/5.0 (vth) bench/1.0"\n`;
  // Built beforehand, so the writer is not what is measured.
  const pieces: Buffer[] = [];
  for (let i = 0; i < LINES; ) {
    let chunk = '';
    while (i < LINES && chunk.length < 1 << 20) chunk += line(i++);
    pieces.push(Buffer.from(chunk));
  }
  const bytes = pieces.reduce((n, b) => n + b.length, 0);
  const stdin = real.proc.stdin!;
  const t0 = performance.now();
  void (async () => {
    for (const p of pieces) if (!stdin.write(p)) await new Promise((r) => stdin.once('drain', r));
    stdin.end();
  })();
  // The agent exits by itself at the end of its input: sample its CPU and memory while it runs.
  let cpu = cpu0;
  let rss = { max: 0, sum: 0, processes: 1 };
  let last: SinkStats | undefined;
  // Only the agent's own process is sampled (a /proc scan for children costs milliseconds).
  let sampled = 0;
  await poll(
    async () => {
      if (real!.proc.exitCode === null && performance.now() - sampled > 100) {
        sampled = performance.now();
        cpu = Math.max(cpu, cpuSeconds(pid));
        const r = peakRssMiB(pid);
        if (r > 0) rss = { max: r, sum: r, processes: 1 };
      }
      last = (await sink.request<{ stats: SinkStats }>('stats')).stats;
      return last.events >= LINES;
    },
    `${LINES} lines at the sink`,
    600_000,
    10,
  );
  const seconds = (performance.now() - t0) / 1000;
  report({
    name: `stdin_to_tcp (sluice agent TAG -, ${buffer} buffer)`,
    events: LINES,
    bytes,
    seconds,
    sluiceCpuS: cpu - cpu0,
    peakRssMiB: rss.max,
    harnessCpuS: last!.cpuS - k0,
    extra: `${(bytes / LINES).toFixed(0)} B/line; CPU and RSS sampled every 100 ms until the agent exits (last interval not counted)`,
  });
} finally {
  await real?.kill();
  await sink.kill();
  await rm(dir, { recursive: true, force: true });
}
