// Writing formatted chunks to files: fresh indexed files or appends, gzip members, size
// rotation of a live file with N kept backups (Sluice extension for post2log's rotating
// logs), and a symlink to the latest file.
import { appendFile, mkdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

export interface WriterOptions {
  append: boolean;
  gzip: boolean;
  rotateSize: number | undefined;
  rotateBackups: number;
  symlinkPath: string | undefined;
  dirMode: number;
  fileMode: number;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function writeChunk(pathWithIndex: string, data: Buffer, o: WriterOptions): Promise<string> {
  await mkdir(dirname(pathWithIndex), { recursive: true, mode: o.dirMode });
  const body = o.gzip ? await gzipAsync(data) : data;
  let path: string;
  if (o.append) {
    path = pathWithIndex;
    if (o.rotateSize !== undefined) await rotateIfNeeded(path, body.length, o);
    await appendFile(path, body, { mode: o.fileMode });
  } else {
    // Fluentd's find_filepath_available: the first free _N; 'wx' makes the claim atomic
    // against another worker doing the same.
    for (let i = 0; ; i++) {
      path = pathWithIndex.replace('_**', `_${i}`);
      try {
        await writeFile(path, body, { flag: 'wx', mode: o.fileMode });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }
  if (o.symlinkPath) await relink(path, o.symlinkPath);
  return path;
}

/** path -> path.1 -> ... -> path.N (dropped), like Python's RotatingFileHandler. */
async function rotateIfNeeded(path: string, incoming: number, o: WriterOptions): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0 || size + incoming <= o.rotateSize!) return;
  if (o.rotateBackups <= 0) {
    await rm(path, { force: true });
    return;
  }
  await rm(`${path}.${o.rotateBackups}`, { force: true });
  for (let i = o.rotateBackups - 1; i >= 1; i--) {
    if (await exists(`${path}.${i}`)) await rename(`${path}.${i}`, `${path}.${i + 1}`);
  }
  await rename(path, `${path}.1`);
}

async function relink(target: string, link: string): Promise<void> {
  const tmp = `${link}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
}
