// One process per buffer directory: two writers appending to the same chunk files would
// interleave entries and purge each other's chunks. Node has no flock(), so the lock is a
// file created exclusively holding the owner's pid; a lock whose pid is no longer running
// (left by a crash) is taken over.
import { open, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';

const heldHere = new Set<string>();

export class BufferLockedError extends Error {
  readonly code = 'SLUICE_BUFFER_LOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'BufferLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = resolve(dir, 'buffer.lock');
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
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new BufferLockedError(
          `buffer path ${dir} is locked by running process ${pid} (${file}); two Sluice processes cannot share a buffer path`,
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new BufferLockedError(`could not take the lock ${file}`);
}
