// One process per buffer directory: two writers appending to the same chunk files would
// interleave entries and purge each other's chunks. Node has no flock(), so the lock is a
// file created exclusively holding the owner's pid; a lock whose pid is no longer running
// (left by a crash) is taken over. A zombie (killed, not yet reaped by its parent or by init)
// still answers kill(pid, 0) but holds nothing: on Linux, /proc/PID/stat says so (state Z,
// or X while it is being reaped), and such a lock is taken over too.
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SluiceError } from '../core/errors.ts';

const heldHere = new Set<string>();

export class BufferLockedError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_BUFFER_LOCKED', message);
    this.name = 'BufferLockedError';
  }
}

/**
 * The state letter of a /proc/PID/stat line ("R", "S", "Z", ...), or undefined if the text is
 * not one. The command name in parentheses may hold spaces and ')', so the state is read after
 * the last ')'.
 */
export function procStatState(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const m = /^ ([A-Za-z]) /.exec(stat.slice(close + 1));
  return m?.[1];
}

/** Whether pid is a process that can still hold a lock: running, and not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    // No /proc (not Linux): trust kill(). Gone between kill() and here: dead.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT' || !procMounted();
  }
  const state = procStatState(stat);
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

let procChecked: boolean | undefined;
function procMounted(): boolean {
  if (procChecked === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procChecked = true;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}

/** `name`: the lock file, `buffer.lock` unless chunks of several stores share `dir`. */
export async function acquireLock(dir: string, name = 'buffer.lock'): Promise<() => Promise<void>> {
  const file = resolve(dir, name);
  if (heldHere.has(file)) {
    throw new BufferLockedError(
      `buffer path ${dir} is already used by another output of this process (each buffered output needs its own path)`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      heldHere.add(file);
      return async () => {
        heldHere.delete(file);
        await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      // Our own pid in a lock we do not hold: a previous run in a container (pid 1 again).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new BufferLockedError(
          `buffer path ${dir} is locked by running process ${pid} (${file}); two Sluice processes cannot share a buffer path`,
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new BufferLockedError(`could not take the lock ${file}`);
}
