// Seed 000: out_file with no <buffer> and no root_dir keeps its chunks in a file buffer at
// the output's own path, as Fluentd does (buffer_conf['path'] = conf['path']), so every
// acknowledged event survives kill -9 and is written out after the restart.
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { freePort } from '../helpers/ports.ts';
import { spawnSluice } from '../helpers/sluice-process.ts';
import { AckingClient } from './forward-client.ts';

const CHUNK = /^app\.[bq][0-9a-f]{32}\.log$/;

/** The output files' lines (not the chunk files or the lock beside them). */
async function outputLines(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await readdir(dir)) {
    if (CHUNK.test(f) || !/^app\..*\.log$/.test(f)) continue;
    out.push(...(await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean));
  }
  return out;
}

function waitOutputLines(dir: string, n: number, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const w = watch(dir);
    const done = (lines?: string[], e?: Error) => {
      clearTimeout(timer);
      w.close();
      if (e) reject(e);
      else resolve(lines!);
    };
    const timer = setTimeout(
      () => done(undefined, new Error(`timed out waiting for ${n} lines in ${dir}`)),
      timeoutMs,
    );
    const check = () =>
      void outputLines(dir).then(
        (l) => l.length >= n && done(l),
        (e: Error) => done(undefined, e),
      );
    w.on('change', check);
    check();
  });
}

describe('out_file default buffer (seed 000)', () => {
  it('chunks sit beside the output files (app.b<id>.log) and survive kill -9', {
    timeout: 120_000,
  }, async () => {
    const { dir, cleanup } = await tempDir();
    const port = await freePort();
    const outDir = join(dir, 'log');
    await mkdir(outDir);
    const conf = join(dir, 'fluent.conf');
    // Seed 000's match, with its v0.12 `type`: no <buffer>, no <system> root_dir.
    await writeFile(
      conf,
      `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n</source>\n<match app.**>\n  type file\n  path ${outDir}/app.*.log\n</match>\n`,
    );
    let proc = spawnSluice(['-c', conf]);
    const client = new AckingClient(port);
    try {
      await client.connect(90_000);
      await client.send('app.log', [{ n: 1 }, { n: 2 }, { n: 3 }]);
      client.close();
      // Acknowledged: on disk in the chunk file, nothing written out yet (timekey 1d).
      const chunks = (await readdir(outDir)).filter((f) => CHUNK.test(f));
      assert.equal(chunks.length, 1, (await readdir(outDir)).join(' '));
      assert.deepEqual(await outputLines(outDir), []);
      proc.proc.kill('SIGKILL');
      await proc.exited;

      proc = spawnSluice(['-c', conf]);
      await proc.waitFor('stderr', /sluice started/);
      proc.proc.kill('SIGUSR1');
      const lines = await waitOutputLines(outDir, 3, 30_000);
      assert.deepEqual(
        lines.map((l) => JSON.parse(l.split('\t')[2]!).n),
        [1, 2, 3],
      );
      assert.equal(await proc.stop(30_000), 0);
    } finally {
      client.close();
      await proc.stop(5_000);
      await cleanup();
    }
  });
});
