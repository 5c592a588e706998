// Runs a Python script of the stores' venv (boto3, fluent-logger, moto) from a test, bounded
// in time, with its output kept for the assertion message.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { MOTO_ENV, venvPython } from './moto.ts';
import { STORES_SRC } from './process.ts';

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A script kept in test/stores/python/. */
export function pythonScript(name: string): string {
  return join(STORES_SRC, 'python', name);
}

/**
 * Runs `python script args...` with the venv's python; resolves with its exit code and
 * output, rejects (with the output) if it runs longer than timeoutMs (then it is killed).
 */
export function runPython(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<PythonRun> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const proc = spawn(venvPython(), [script, ...args], {
    env: { ...process.env, PYTHONUNBUFFERED: '1', AWS_DEFAULT_REGION: 'us-east-1', ...MOTO_ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${script} ran longer than ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Asserts-style: the run's output, for a message. */
export function describeRun(r: PythonRun): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}
