// Sluice beside Fluent Bit (and Fluentd) on the same pipelines, one sitting, runs
// alternating, median of 3: events/s (req/s for http), the ratio, CPU µs per event of the
// collector's whole process tree and its peak RSS (the sum of its processes' VmHWM), from
// /proc. The configs are in bench/vs/configs (Sluice and Fluentd share the Fluentd-syntax ones).
//
//   node --import tsx bench/vs/run.ts [--build [--ref REF]] [--runs 3] [--events 1000000] [--seconds 10]
//        [--only sluice] [--cpu-prof DIR] [case ...]
//   cases: file_forward forward_null forward_forward forward_http tail_regex http_null http_null_2w
// Environment: FLUENT_BIT_BIN, FLUENTD_BIN (the other collectors; each is run only when set),
// SLUICE_BIN (another Sluice entry point), SLUICE_NODE_ARGS (extra node flags for Sluice).
// --build [--ref REF] compiles Sluice as committed at REF (default HEAD) into a tree of its own
// first (else the last such build runs, or bin/sluice.js when there is none). http load: wrk
// (-t1, 50 connections) when on PATH, else autocannon in a second process.
import { execFileSync, spawn } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../packages/sluice/test/helpers/ports.ts';
import { takeFlag, takeOption } from '../lib/args.ts';
import { HERE, helper, poll, treeCpuSeconds, treePeakRss } from '../vth/lib.ts';
import type { SinkStats } from '../vth/sink-forward.ts';
import {
  buildSluice,
  type CollectorName,
  type Running,
  sluiceEntry,
  start,
  waitOutput,
  waitPort,
  writeConfig,
} from './collectors.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => takeOption(argv, name);
const flag = (name: string) => takeFlag(argv, name);
const RUNS = Number(opt('--runs') ?? 3);
const EVENTS = Number(opt('--events') ?? 1_000_000);
const SECONDS = Number(opt('--seconds') ?? 10);
const ONLY = opt('--only');
const CPU_PROF = opt('--cpu-prof');
/** a run that takes longer has failed */
const RUN_LIMIT_MS = 120_000;
const REF = opt('--ref');
if (flag('--build')) buildSluice(REF);

const CASES = {
  file_forward: 'file → forward (10 files)',
  forward_null: 'forward → null',
  forward_forward: 'forward → forward',
  forward_http: 'forward → http',
  tail_regex: 'tail + apache2 regex → forward',
  http_null: 'http → null (req/s)',
  http_null_2w: 'http → null, Sluice 2 workers (req/s)',
} as const;
type CaseName = keyof typeof CASES;
const cases = (argv.length ? argv : Object.keys(CASES)) as CaseName[];
for (const c of cases)
  if (!(c in CASES)) throw new Error(`unknown case ${c} (known: ${Object.keys(CASES).join(', ')})`);

const collectors: CollectorName[] = ['sluice'];
if (process.env.FLUENT_BIT_BIN) collectors.push('fluent-bit');
if (process.env.FLUENTD_BIN) collectors.push('fluentd');
const who = ONLY ? collectors.filter((c) => c === ONLY) : collectors;

interface Sample {
  rate: number;
  cpuUs: number;
  rssMiB: number;
  note?: string;
}

const root = await mkdtemp(join(tmpdir(), 'sluice-vs-'));
let runSeq = 0;

function nodeArgs(): string[] {
  return [
    ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []),
    ...(process.env.SLUICE_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
}

/** Starts a collector on a case's config and waits until it takes input. */
async function launch(
  c: CollectorName,
  caseName: CaseName,
  dir: string,
  vars: Record<string, number>,
  listens: number | undefined,
): Promise<Running> {
  const file = caseName === 'http_null_2w' && c === 'fluent-bit' ? 'http_null.conf' : `${caseName}.conf`;
  const r = start(c, writeConfig(c, file, dir, vars), c === 'sluice' ? nodeArgs() : []);
  try {
    if (c === 'sluice') {
      const workers = caseName === 'http_null_2w' ? 2 : 1;
      await poll(
        () => {
          if (r.proc.exitCode !== null) throw new Error(`sluice exited: ${r.output().slice(-2000)}`);
          return (r.output().match(/sluice started/g) ?? []).length >= workers;
        },
        'sluice started',
        60_000,
      );
    } else if (c === 'fluentd') await waitOutput(r, /fluentd worker is now running/);
    else await waitOutput(r, /\[engine\] (started|Shutdown Grace Period)/);
    if (listens) await waitPort(r, listens);
  } catch (e) {
    await r.stop();
    throw e;
  }
  return r;
}

/** Lines of a file case, written once per sitting and hard-linked into each run's folder. */
const staged = new Map<CaseName, { dir: string; files: string[]; bytes: number }>();
function stage(caseName: 'file_forward' | 'tail_regex'): { dir: string; files: string[]; bytes: number } {
  const have = staged.get(caseName);
  if (have) return have;
  const dir = join(root, `staged-${caseName}`);
  mkdirSync(dir);
  const nfiles = caseName === 'file_forward' ? 10 : 1;
  const files: string[] = [];
  let bytes = 0;
  for (let f = 0; f < nfiles; f++) {
    const lines: string[] = [];
    for (let i = 0; i < EVENTS / nfiles; i++) {
      const n = f * (EVENTS / nfiles) + i;
      lines.push(
        `203.0.113.${n % 250} - user${n % 7} [06/Dec/2026:23:${String(n % 60).padStart(2, '0')}:${String(n % 59).padStart(2, '0')} +0000] "GET /api/v1/items/${String(n).padStart(7, '0')}?page=${n % 10} HTTP/1.1" 200 ${1000 + (n % 9000)} "-" "vs/1.0"`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    const name = `f${f}.log`;
    writeFileSync(join(dir, name), text);
    bytes += Buffer.byteLength(text);
    files.push(name);
  }
  const s = { dir, files, bytes };
  staged.set(caseName, s);
  return s;
}

/** poll(), and on a timeout the collector's last output in the error. */
async function pollRun(
  r: Running,
  cond: () => Promise<boolean>,
  what: string,
  ms: number,
  every: number,
): Promise<void> {
  try {
    await poll(cond, what, ms, every);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the collector's output: ${r.output().slice(-1500)}`);
  }
}

function usage(pid: number): { cpu: number } {
  return { cpu: treeCpuSeconds(pid) };
}

async function fileCase(
  c: CollectorName,
  caseName: 'file_forward' | 'tail_regex',
  dir: string,
): Promise<Sample> {
  const s = stage(caseName);
  const sink = helper('sink-forward.ts');
  let r: Running | undefined;
  try {
    const { port: sinkPort } = (await sink.ready) as { port: number };
    // An empty folder at start (a glob over a missing one makes Fluent Bit log an error per scan).
    mkdirSync(join(dir, 'logs'));
    r = await launch(c, caseName, dir, { SINK_PORT: sinkPort }, undefined);
    const pid = r.proc.pid!;
    const incoming = join(dir, 'incoming');
    mkdirSync(incoming);
    for (const f of s.files) linkSync(join(s.dir, f), join(incoming, f));
    const u0 = usage(pid);
    // The files appear at once (renames into the watched folder); the clock starts then.
    for (const f of s.files) renameSync(join(incoming, f), join(dir, 'logs', f));
    const t0 = Date.now();
    let last: SinkStats | undefined;
    await pollRun(
      r,
      async () => {
        if (r!.proc.exitCode !== null) throw new Error(`${c} exited: ${r!.output().slice(-2000)}`);
        last = (await sink.request<{ stats: SinkStats }>('stats')).stats;
        return last.events >= EVENTS;
      },
      `${c}: ${EVENTS} events at the sink`,
      RUN_LIMIT_MS,
      20,
    );
    const seconds = (last!.lastWall - t0) / 1000;
    const cpu = usage(pid).cpu - u0.cpu;
    return {
      rate: EVENTS / seconds,
      cpuUs: (cpu / EVENTS) * 1e6,
      rssMiB: treePeakRss(pid).sum,
      note: last!.events > EVENTS ? `${last!.events - EVENTS} extra events at the sink` : undefined,
    };
  } finally {
    await r?.stop();
    await sink.kill();
  }
}

async function forwardCase(c: CollectorName, caseName: CaseName, dir: string): Promise<Sample> {
  const sinkFile =
    caseName === 'forward_forward'
      ? 'sink-forward.ts'
      : caseName === 'forward_http'
        ? 'sink-http.ts'
        : undefined;
  const sink = sinkFile ? helper(sinkFile) : undefined;
  let r: Running | undefined;
  let gen: ReturnType<typeof helper> | undefined;
  try {
    const sinkPort = sink ? ((await sink.ready) as { port: number }).port : 0;
    const port = await freePort();
    r = await launch(c, caseName, dir, { PORT: port, SINK_PORT: sinkPort }, port);
    const pid = r.proc.pid!;
    gen = helper('gen-forward.ts', [String(port), String(EVENTS), '1000', '2', '8']);
    await gen.ready;
    const u0 = usage(pid);
    const t0 = performance.now();
    let acked = false;
    gen.proc.once('message', () => {
      acked = true;
    });
    gen.proc.send('start');
    const sinkEvents = async () =>
      (await (sink as ReturnType<typeof helper>).request<{ stats: SinkStats }>('stats')).stats.events;
    await pollRun(
      r,
      async () => {
        if (r!.proc.exitCode !== null) throw new Error(`${c} exited: ${r!.output().slice(-2000)}`);
        return sink ? (await sinkEvents()) >= EVENTS : acked;
      },
      `${c}: ${EVENTS} events`,
      RUN_LIMIT_MS,
      20,
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = usage(pid).cpu - u0.cpu;
    return { rate: EVENTS / seconds, cpuUs: (cpu / EVENTS) * 1e6, rssMiB: treePeakRss(pid).sum };
  } finally {
    await gen?.kill();
    await r?.stop();
    await sink?.kill();
  }
}

const BODY = JSON.stringify({
  message:
    '203.0.113.7 - - [06/Dec/2026:23:00:00 +0000] "GET /api/v1/items/42 HTTP/1.1" 200 5120 "-" "vs/1.0"',
  host: 'web01',
});

/** The load generator, a process of its own: wrk, or autocannon when wrk is not installed. */
async function load(
  port: number,
  seconds: number,
): Promise<{ requests: number; seconds: number; bad: number }> {
  const url = `http://127.0.0.1:${port}/vs.http`;
  let hasWrk = true;
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    // wrk --version exits 1 after printing its version
    hasWrk = (e as { status?: number }).status === 1;
  }
  const lua = join(root, 'post.lua');
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const args = hasWrk
    ? ['wrk', ['-t1', '-c50', `-d${seconds}s`, '-s', lua, url]]
    : [
        process.execPath,
        [
          join(HERE, '../../node_modules/autocannon/autocannon.js'),
          '-c50',
          '-d',
          String(seconds),
          '-m',
          'POST',
          '-H',
          'content-type=application/json',
          '-b',
          BODY,
          '--json',
          url,
        ],
      ];
  const t0 = performance.now();
  const p = spawn(args[0] as string, args[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), (seconds + 30) * 1000);
  const code = await new Promise<number | null>((res) => p.once('exit', res));
  clearTimeout(timer);
  const elapsed = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`load generator exited ${code}: ${out.slice(-2000)}`);
  if (hasWrk) {
    const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
    if (!m) throw new Error(`wrk said: ${out}`);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const bad = non2xx + (errors ? errors.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
    return { requests: Number(m[1]), seconds: Number(m[2]) / (m[3] === 'ms' ? 1000 : 1), bad };
  }
  const j = JSON.parse(out.slice(out.indexOf('{'))) as {
    requests: { total: number };
    non2xx: number;
    errors: number;
  };
  return { requests: j.requests.total, seconds: elapsed, bad: j.non2xx + j.errors };
}

async function httpCase(c: CollectorName, caseName: CaseName, dir: string): Promise<Sample> {
  const port = await freePort();
  const r = await launch(c, caseName, dir, { PORT: port }, port);
  try {
    const pid = r.proc.pid!;
    await load(port, 1); // warm-up: connections, JIT
    const u0 = usage(pid);
    const t0 = performance.now();
    const l = await load(port, SECONDS);
    const wall = (performance.now() - t0) / 1000;
    const cpu = usage(pid).cpu - u0.cpu;
    return {
      rate: l.requests / l.seconds,
      // the CPU over the generator's whole life (start-up included) per request
      cpuUs: (cpu / l.requests) * 1e6,
      rssMiB: treePeakRss(pid).sum,
      note: l.bad ? `${l.bad} failed requests` : wall > l.seconds + 5 ? 'slow generator start' : undefined,
    };
  } finally {
    await r.stop();
  }
}

async function runOnce(c: CollectorName, caseName: CaseName): Promise<Sample> {
  const dir = join(root, `run-${++runSeq}-${c}-${caseName}`);
  mkdirSync(dir);
  try {
    if (caseName === 'file_forward' || caseName === 'tail_regex') return await fileCase(c, caseName, dir);
    if (caseName === 'http_null' || caseName === 'http_null_2w') return await httpCase(c, caseName, dir);
    return await forwardCase(c, caseName, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const k = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const started = new Date();
const results = new Map<string, Sample[]>();
const failures = new Map<string, number>();
try {
  for (const caseName of cases) {
    for (let i = 0; i < RUNS; i++) {
      for (const c of who) {
        if (c === 'fluentd' && caseName === 'http_null_2w') continue;
        const key = `${caseName}/${c}`;
        let s: Sample;
        try {
          s = await runOnce(c, caseName);
        } catch (e) {
          // A run that does not finish is reported and left out of the median.
          failures.set(key, (failures.get(key) ?? 0) + 1);
          console.error(
            `${CASES[caseName]} | ${c} run ${i + 1} FAILED: ${(e as Error).message.slice(0, 3000)}`,
          );
          continue;
        }
        results.set(key, [...(results.get(key) ?? []), s]);
        console.error(
          `${CASES[caseName]} | ${c} run ${i + 1}: ${k(s.rate)}/s, ${s.cpuUs.toFixed(2)} µs CPU per event, peak RSS ${s.rssMiB.toFixed(0)} MiB${s.note ? ` (${s.note})` : ''}`,
        );
      }
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const med = (key: string) => {
  const s = results.get(key);
  if (!s) return undefined;
  return {
    rate: median(s.map((x) => x.rate)),
    cpuUs: median(s.map((x) => x.cpuUs)),
    rss: median(s.map((x) => x.rssMiB)),
  };
};
const fbOn = who.includes('fluent-bit');
const fdOn = who.includes('fluentd');
console.log(
  `\nbench/vs, ${started.toISOString().slice(0, 16).replace('T', ' ')}-${new Date().toISOString().slice(11, 16)} UTC, ` +
    `load average ${load0} before / ${load1} after, median of ${RUNS}, ${EVENTS.toLocaleString('en')} events per run ` +
    `(http: ${SECONDS} s of wrk -t1 -c50); Sluice: ${sluiceEntry().what}\n`,
);
const head = ['case'];
if (fbOn) head.push('Fluent Bit events/s');
if (fdOn) head.push('Fluentd events/s');
head.push('Sluice events/s');
if (fbOn) head.push('ratio to FB');
head.push(`CPU µs/event ${fbOn ? 'FB → ' : ''}${fdOn ? 'Fluentd → ' : ''}Sluice`);
head.push(`peak RSS ${fbOn ? 'FB / ' : ''}${fdOn ? 'Fluentd / ' : ''}Sluice`);
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const caseName of cases) {
  const s = med(`${caseName}/sluice`);
  const fb = med(`${caseName}/fluent-bit`);
  const fd = med(`${caseName}/fluentd`);
  const row: string[] = [CASES[caseName]];
  if (fbOn) row.push(fb ? k(fb.rate) : '–');
  if (fdOn) row.push(fd ? k(fd.rate) : '–');
  row.push(s ? k(s.rate) : '–');
  if (fbOn) row.push(fb && s ? `${(s.rate / fb.rate).toFixed(2)}×` : '–');
  const cpu = [fbOn ? fb : undefined, fdOn ? fd : undefined, s].filter((_, i) =>
    i === 0 ? fbOn : i === 1 ? fdOn : true,
  );
  row.push(cpu.map((x) => (x ? x.cpuUs.toFixed(2) : '–')).join(' → '));
  row.push(`${cpu.map((x) => (x ? x.rss.toFixed(0) : '–')).join(' / ')} MiB`);
  const failed = [...failures].filter(([key]) => key.startsWith(`${caseName}/`));
  if (failed.length)
    row[0] += ` (failed runs: ${failed.map(([key, n]) => `${key.split('/')[1]} ${n}`).join(', ')})`;
  console.log(`| ${row.join(' | ')} |`);
}
