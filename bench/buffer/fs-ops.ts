// What a file-buffer chunk's metadata operations cost per chunk on this machine: open, rename,
// close, unlink, through fs/promises, through the callback API, and synchronously. CPU
// seconds of the process include libuv's thread pool. Why buffer/chunk-io.ts runs them
// synchronously while they are fast.
// Run: node --import tsx bench/buffer/fs-ops.ts [chunks]
import * as fs from 'node:fs';
import { mkdtemp, open, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const N = Number(process.argv[2] ?? 2000);
const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-fsops-'));
const cb = {
  open: promisify(fs.open),
  rename: promisify(fs.rename),
  close: promisify(fs.close),
  unlink: promisify(fs.unlink),
};

const ways: Record<string, (b: string, q: string) => Promise<void> | void> = {
  'fs/promises': async (b, q) => {
    const fh = await open(b, 'a+');
    await rename(b, q);
    await fh.close();
    await unlink(q);
  },
  callbacks: async (b, q) => {
    const fd = await cb.open(b, 'a+');
    await cb.rename(b, q);
    await cb.close(fd);
    await cb.unlink(q);
  },
  sync: (b, q) => {
    const fd = fs.openSync(b, 'a+');
    fs.renameSync(b, q);
    fs.closeSync(fd);
    fs.unlinkSync(q);
  },
};

try {
  for (let round = 0; round < 3; round++) {
    for (const [name, way] of Object.entries(ways)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await way(join(dir, `buffer.b${i}.log`), join(dir, `buffer.q${i}.log`));
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      if (round === 2)
        console.log(
          `${name.padEnd(12)} open+rename+close+unlink: ${((wall * 1000) / N).toFixed(0)} us wall, ${((cpu.user + cpu.system) / N).toFixed(0)} us CPU per chunk`,
        );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
