// Runs a store's server (a JVM, moto's Python server) as a child process for tests and
// benchmarks: its own process group, output into a log file in a temp dir of its own,
// bounded waits for readiness, and the tail of that log in every error. Whatever happens to
// the test, the server goes: stop() kills the group (SIGTERM, then SIGKILL), an exit of the
// test process kills what is left, and a test process that is itself killed takes its
// servers with it (setpriv --pdeathsig).

import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/**
 * Where scripts/test-deps.d/50-stores.sh installs the jars' classpaths, the launcher and the
 * venv: .cache/stores at the repository root, or SLUICE_STORES_CACHE for both sides.
 */
export const STORES_CACHE = process.env.SLUICE_STORES_CACHE || join(REPO_ROOT, '.cache', 'stores');
/** Config files kept in the repository beside these helpers (poms, log4j2.properties, scripts). */
export const STORES_SRC = fileURLToPath(new URL('.', import.meta.url));

const INSTALL_HINT = 'run `bash scripts/test-deps.sh` (npm test does) to install the test stores';

/** A file of the store cache, or an error that says how to install it. */
export function cached(rel: string, what: string): string {
  const p = join(STORES_CACHE, rel);
  if (!existsSync(p)) throw new Error(`${what} is not installed (${p} missing): ${INSTALL_HINT}`);
  return p;
}

/** The java that 50-stores.sh checked (Java 17), else the one on PATH. */
export function javaBin(): string {
  const f = join(STORES_CACHE, 'java');
  if (existsSync(f)) {
    const p = readFileSync(f, 'utf8').trim();
    if (p && existsSync(p)) return p;
  }
  return 'java';
}

/** A classpath written by 50-stores.sh, each jar checked (Maven's local repository can be wiped). */
export function classpath(name: string, what: string): string {
  const cp = readFileSync(cached(`${name}.classpath`, what), 'utf8').trim();
  for (const jar of cp.split(':')) {
    if (!existsSync(jar)) throw new Error(`${what}: ${jar} is missing: ${INSTALL_HINT}`);
  }
  return cp;
}

const ANSI = /\x1b\[[0-9;]*m/g;

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** temp dir of this server: its data and its log; removed by stop() */
  readonly dir: string;
  readonly logFile: string;
  /** ms from spawn to ready (set by markReady) */
  readonly startMs: number;
  /** declares the server ready: its cold-start time is measured from spawn to now */
  markReady(): void;
  /** the log so far, colour codes removed */
  log(): string;
  /** the last lines of the log, for error messages */
  tail(lines?: number): string;
  /** peak resident set of the process so far (VmHWM, KiB), undefined once it has exited */
  peakRssKiB(): number | undefined;
  /** an Error whose message ends with the tail of the server's log */
  failure(message: string): Error;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the process group, SIGKILL after graceMs; then the temp dir goes. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ServerProcess & { kill(): void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // An 'exit' handler can only run synchronous code: a group SIGKILL and the temp dir.
  process.on('exit', () => {
    for (const s of live) s.kill();
  });
  // A process ended by SIGTERM/SIGINT (a `timeout` around a benchmark, Ctrl-C) runs no
  // 'exit' handler: clean up, then die of the signal as it would have.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const s of live) s.kill();
      live.clear();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

let pdeathsig: boolean | undefined;
function hasSetpriv(): boolean {
  if (pdeathsig === undefined) pdeathsig = existsSync('/usr/bin/setpriv');
  return pdeathsig;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** a temp dir made beforehand (e.g. holding a config); default: a new one */
  dir?: string;
  /** whether stop() removes the dir (default true); false for a short run in another server's dir */
  ownsDir?: boolean;
  /** performance.now() its start is measured from (default: the spawn), e.g. before a set-up step */
  since?: number;
}

/** Makes the temp dir a server keeps its data and log in. */
export function serverDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `sluice-${name}-`));
}

export function spawnServer(o: SpawnOptions): ServerProcess {
  const dir = o.dir ?? serverDir(o.name);
  const logFile = join(dir, `${o.name}.log`);
  const fd = openSync(logFile, 'a');
  const [cmd, args] = hasSetpriv()
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', o.command, ...o.args]]
    : [o.command, o.args];
  const t0 = o.since ?? performance.now();
  let proc: ChildProcess;
  try {
    proc = spawn(cmd, args, {
      cwd: o.cwd ?? dir,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', fd, fd],
      detached: true, // its own process group, killed as a whole
    });
  } catch (err) {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  closeSync(fd); // the child has its own copy
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      done = { code, signal };
      resolve(done);
    });
    proc.once('error', (err) => {
      appendFileSync(logFile, `\n[sluice test] could not start ${o.command}: ${err.message}\n`);
      done = { code: null, signal: null };
      resolve(done);
    });
  });
  const pid = proc.pid ?? -1;
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8').replace(ANSI, '');
    } catch {
      return '';
    }
  };
  const tail = (lines = 40) => log().trimEnd().split('\n').slice(-lines).join('\n');
  let stopping: Promise<void> | undefined;
  let removed = o.ownsDir === false;
  const killGroup = (sig: NodeJS.Signals) => {
    if (pid <= 0) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  };
  const server: ServerProcess & { kill(): void } = {
    name: o.name,
    pid,
    dir,
    logFile,
    startMs: 0,
    markReady() {
      (server as { startMs: number }).startMs = performance.now() - t0;
    },
    log,
    tail,
    peakRssKiB() {
      if (done) return undefined;
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) : undefined;
      } catch {
        return undefined;
      }
    },
    failure(message) {
      const status = done ? ` (it exited: code ${done.code}, signal ${done.signal})` : '';
      return new Error(`${o.name}: ${message}${status}\n--- last lines of ${logFile} ---\n${tail()}`);
    },
    exited,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        recordStats(server);
        if (!done) {
          killGroup('SIGTERM');
          const t = setTimeout(() => killGroup('SIGKILL'), graceMs);
          await exited;
          clearTimeout(t);
        }
        killGroup('SIGKILL'); // anything the server left in its group
        live.delete(server);
        if (!removed) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        removed = true;
      })();
      return stopping;
    },
    kill() {
      killGroup('SIGKILL');
      if (!removed) rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(server);
  if (o.ownsDir === false) void exited.then(() => live.delete(server)); // nothing left to clean
  installExitHook();
  return server;
}

/**
 * With SLUICE_TEST_STORES_STATS=FILE, each server appends one JSON line there when it is
 * stopped: name, cold-start ms, peak RSS. docs/testing.md's figures come from it.
 */
function recordStats(server: ServerProcess): void {
  const file = process.env.SLUICE_TEST_STORES_STATS;
  if (!file || server.startMs === 0) return; // only servers that got ready
  const line = { name: server.name, startMs: Math.round(server.startMs), peakRssKiB: server.peakRssKiB() };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/**
 * Resolves with the first match of `re` in the server's log; rejects (with the log's tail)
 * when the process exits first or after timeoutMs. The server is not stopped here.
 */
export async function waitForLog(
  server: ServerProcess,
  re: RegExp,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const m = re.exec(server.log());
    if (m) return m;
    if (exited) throw server.failure(`exited before it was ready (waiting for ${re})`);
    if (Date.now() > deadline) throw server.failure(`not ready within ${timeoutMs} ms (waiting for ${re})`);
    await new Promise((r) => setTimeout(r, 100)); // pacing between reads of the log file
  }
}

/**
 * Polls `probe` until it returns true; throws (with the log's tail) when the server exits
 * or the deadline passes. A probe that throws counts as "not yet".
 */
export async function waitUntil(
  server: ServerProcess,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  let last = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (exited) throw server.failure(`exited before ${what}${last}`);
    if (Date.now() > deadline) throw server.failure(`${what} not reached within ${timeoutMs} ms${last}`);
    await new Promise((r) => setTimeout(r, 200)); // pacing between probes
  }
}

/** Starts a server and runs its readiness steps; on any failure the server is stopped before the error is thrown. */
export async function startOrStop<T>(server: ServerProcess, ready: () => Promise<T>): Promise<T> {
  try {
    const r = await ready();
    server.markReady();
    return r;
  } catch (err) {
    await server.stop(2_000);
    throw err;
  }
}

/** fetch with a time limit of its own (a probe must never hang). */
export async function fetchWithin(url: string, ms: number, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
}
