// Shared parts of the vth cases: child processes (sinks, generators, sluice), their CPU and
// peak RSS from /proc, waiting on counts, and one result line per case.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const SLUICE_BIN = process.env.SLUICE_BIN ?? join(HERE, '../../packages/sluice/bin/sluice.js');
const TICKS = 100; // USER_HZ on Linux

let checkedBuild = false;
/**
 * Says which tree and entry the sluice under test runs (so a before/after comparison with
 * SLUICE_BIN can be checked), and warns when it is the sources: its figures would include tsx.
 */
async function warnIfSource(): Promise<void> {
  if (checkedBuild) return;
  checkedBuild = true;
  const { chooseEntry } = (await import(join(dirname(SLUICE_BIN), 'entry.js'))) as {
    chooseEntry(pkgDir: string): { mode: string; url: string };
  };
  const entry = chooseEntry(join(dirname(SLUICE_BIN), '..'));
  console.error(`bench: sluice runs from ${entry.mode}: ${fileURLToPath(entry.url)}`);
  if (entry.mode === 'source')
    console.error(
      'bench: sluice runs from its TypeScript sources (dist/ is older than src/): run `npm run build` first, these figures include tsx',
    );
}

/** A process and its descendants (sluice agent's and sluice's workers), from /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** CPU seconds of a process tree (live processes; reaped children are counted by their parent). */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((s, p) => s + cpuSeconds(p), 0);
}

/** Peak RSS of each process of a tree, MiB: the largest one and the sum. */
export function treePeakRss(pid: number): { max: number; sum: number; processes: number } {
  const v = processTree(pid).map(peakRssMiB);
  return { max: Math.max(0, ...v), sum: v.reduce((a, b) => a + b, 0), processes: v.length };
}

/** user+system CPU seconds of a process (and its reaped children) from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the name: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) of a process, MiB. */
export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export interface Child {
  proc: ChildProcess;
  stderr(): string;
  waitStderr(re: RegExp, ms?: number): Promise<void>;
  kill(): Promise<void>;
}

function watch(proc: ChildProcess): Child {
  let err = '';
  proc.stderr?.on('data', (d) => {
    err += d;
    if (err.length > 1e6) err = err.slice(-500_000);
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return {
    proc,
    stderr: () => err,
    async waitStderr(re, ms = 120_000) {
      const deadline = Date.now() + ms;
      while (!re.test(err)) {
        if (proc.exitCode !== null) throw new Error(`process exited before ${re}: ${err.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `sluice <args>` as a child process (stdin ignored unless given). */
export function sluice(
  args: string[],
  opts: { stdin?: 'pipe'; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Child {
  void warnIfSource();
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), SLUICE_BIN, ...args], {
    stdio: [opts.stdin ?? 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  return watch(proc);
}

/** A TypeScript helper of this suite as a forked child with IPC. */
export function helper(
  file: string,
  args: string[] = [],
): Child & { request<T>(msg: unknown): Promise<T>; ready: Promise<Record<string, unknown>> } {
  const proc = fork(join(HERE, file), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const c = watch(proc);
  let waiting: ((m: unknown) => void)[] = [];
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Record<string, unknown>));
    proc.once('exit', (code) => reject(new Error(`${file} exited (${code}): ${c.stderr().slice(-2000)}`)));
  });
  void ready.then(() => {
    proc.on('message', (m) => {
      const w = waiting;
      waiting = [];
      for (const f of w) f(m);
    });
  });
  return {
    ...c,
    ready,
    request<T>(msg: unknown) {
      return new Promise<T>((resolve) => {
        waiting.push((m) => resolve(m as T));
        proc.send(msg as string);
      });
    },
  };
}

export async function poll(
  cond: () => Promise<boolean> | boolean,
  what: string,
  ms = 600_000,
  every = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export interface Result {
  name: string;
  events: number;
  bytes: number;
  seconds: number;
  sluiceCpuS: number;
  /** largest process; with workers, the sum is in `rssSumMiB` */
  peakRssMiB: number;
  rssSumMiB?: number;
  processes?: number;
  /** CPU seconds of the load generator and sink over the same window */
  harnessCpuS: number;
  extra?: string;
}

const mib = (b: number) => b / 1048576;

export function report(r: Result): string {
  const line =
    `${r.name}: ${r.events.toLocaleString('en')} events in ${r.seconds.toFixed(2)} s = ` +
    `${Math.round(r.events / r.seconds).toLocaleString('en')} events/s, ${(mib(r.bytes) / r.seconds).toFixed(1)} MiB/s, ` +
    `peak RSS ${r.peakRssMiB.toFixed(0)} MiB${r.processes && r.processes > 1 ? ` per process (${r.processes} processes, ${r.rssSumMiB!.toFixed(0)} MiB together)` : ''}, sluice CPU ${r.sluiceCpuS.toFixed(2)} s ` +
    `(${(r.sluiceCpuS / r.seconds).toFixed(2)} of a core; ${(r.sluiceCpuS / r.seconds / 2).toFixed(2)} per core of 2), ` +
    `harness CPU ${(r.harnessCpuS / r.seconds).toFixed(2)} of a core${r.extra ? `; ${r.extra}` : ''}`;
  console.log(line);
  return line;
}
