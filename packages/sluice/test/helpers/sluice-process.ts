import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface SluiceProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) has matched; rejects after timeoutMs or if the process exits. */
  waitFor(stream: 'stdout' | 'stderr', re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (signal -> null). */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited within timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Runs the sluice CLI as a child process (the way users run it) and watches its output. */
export function spawnSluice(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): SluiceProcess {
  const proc = spawn(process.execPath, [SLUICE_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const waiters: { stream: 'stdout' | 'stderr'; re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      const m = out[w.stream].match(w.re);
      if (m) {
        waiters.splice(i, 1);
        w.resolve(m);
      }
    }
  };
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out.stdout += d;
    check();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out.stderr += d;
    check();
  });
  // 'exit' can come before the last output was read from the pipes; waiting for both streams
  // to end keeps a final error message from being missed. Bounded, because a process the
  // child started could keep a pipe open after the child itself is gone.
  const ended = (s: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      s.once('close', resolve);
      s.once('end', resolve);
    });
  const streamsEnded = Promise.all([ended(proc.stdout!), ended(proc.stderr!)]);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      const t = setTimeout(() => resolve(code), 5_000);
      void streamsEnded.then(() => {
        clearTimeout(t);
        resolve(code);
      });
    }),
  );
  return {
    proc,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    waitFor(stream, re, timeoutMs = 45_000) {
      const m = out[stream].match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`timed out waiting for ${re} on ${stream}; stderr:\n${out.stderr.slice(-2000)}`),
            ),
          timeoutMs,
        );
        const w = {
          stream,
          re,
          resolve: (mm: RegExpMatchArray) => {
            clearTimeout(timer);
            resolve(mm);
          },
        };
        waiters.push(w);
        exited.then((code) => {
          const i = waiters.indexOf(w);
          if (i < 0) return;
          waiters.splice(i, 1);
          clearTimeout(timer);
          reject(
            new Error(
              `sluice exited (${code}) before ${re} appeared on ${stream}; stderr:\n${out.stderr.slice(-2000)}`,
            ),
          );
        });
      });
    },
    async stop(timeoutMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
