// SIGUSR1 writes every buffer out now; SIGTERM flushes a memory buffer (flush_at_shutdown).
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { freePort } from '../helpers/ports.ts';
import { spawnSluice } from '../helpers/sluice-process.ts';
import { AckingClient } from './forward-client.ts';

/** Resolves once the directory holds `n` lines, re-reading on every change event (bounded). */
function waitLines(dir: string, n: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = watch(dir);
    const done = (e?: Error) => {
      clearTimeout(timer);
      w.close();
      if (e) reject(e);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${n} lines in ${dir}`)), timeoutMs);
    const check = () => void lines(dir).then((l) => l.length >= n && done(), done);
    w.on('change', check);
    check();
  });
}

async function lines(dir: string): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const f of files) out.push(...(await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean));
  return out;
}

describe('buffer signals (e2e)', () => {
  it('SIGUSR1 flushes buffered events to out_file at once; SIGTERM flushes the rest', {
    timeout: 120_000,
  }, async () => {
    const { dir, cleanup } = await tempDir();
    const port = await freePort();
    const outDir = join(dir, 'out');
    const conf = join(dir, 'sluice.conf');
    await writeFile(
      conf,
      `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n</source>\n<match app.**>\n  @type file\n  path ${outDir}/app\n  append true\n  <buffer tag>\n    @type memory\n    flush_interval 1h\n  </buffer>\n</match>\n`,
    );
    await mkdir(outDir);
    const proc = spawnSluice(['-c', conf]);
    const client = new AckingClient(port);
    try {
      await client.connect(90_000);
      await client.send('app.a', [{ n: 1 }, { n: 2 }]);
      assert.deepEqual(await lines(outDir), []);
      proc.proc.kill('SIGUSR1');
      await waitLines(outDir, 2, 30_000);
      assert.equal((await lines(outDir)).length, 2);
      await client.send('app.a', [{ n: 3 }]);
      client.close();
      assert.equal(await proc.stop(30_000), 0);
      const all = await lines(outDir);
      assert.equal(all.length, 3);
      assert.match(all[2]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\tapp\.a\t\{"n":3\}$/);
    } finally {
      client.close();
      await proc.stop(5_000);
      await cleanup();
    }
  });
});
