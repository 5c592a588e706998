// Acceptance (issue 3): Sluice with a file buffer under steady acknowledged load is
// SIGKILLed at random moments again and again; every event the generator got an ack for
// must reach the sink (at-least-once). Duplicates are counted and reported.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { freePort } from '../helpers/ports.ts';
import type { SluiceProcess } from '../helpers/sluice-process.ts';
import { ackedAcrossKills } from './crash-rounds.ts';

// At least 20 by the acceptance criteria; each round restarts Sluice (a few seconds on a busy machine).
const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 20);

/** HTTP sink: counts every id it receives (JSON lines bodies, as out_http sends them). */
function sink() {
  const seen = new Map<number, number>();
  let waiter: (() => void) | undefined;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      for (const line of Buffer.concat(parts).toString().split('\n')) {
        if (!line.trim()) continue;
        const id = (JSON.parse(line) as { id: number }).id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      res.end('ok');
      waiter?.();
    });
  });
  return {
    server,
    seen,
    /** resolves when every id in `ids` was received (bounded) */
    waitAll(ids: Set<number>, timeoutMs: number): Promise<number[]> {
      const missing = () => [...ids].filter((i) => !seen.has(i));
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          waiter = undefined;
          resolve(missing());
        }, timeoutMs);
        waiter = () => {
          if (missing().length === 0) {
            clearTimeout(t);
            waiter = undefined;
            resolve([]);
          }
        };
        waiter();
      });
    },
  };
}

describe('file buffer survives SIGKILL (e2e)', () => {
  it(`every acknowledged event reaches the sink across ${KILLS} kills`, { timeout: 600_000 }, async (t) => {
    const { dir, cleanup } = await tempDir();
    const s = sink();
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    const sinkPort = (s.server.address() as AddressInfo).port;
    const fwdPort = await freePort();
    const conf = join(dir, 'sluice.conf');
    await writeFile(
      conf,
      `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${fwdPort}\n</source>\n` +
        `<match crash.**>\n  @type http\n  endpoint http://127.0.0.1:${sinkPort}/\n  <buffer>\n    @type file\n    path ${join(dir, 'buffer')}\n` +
        '    flush_mode interval\n    flush_interval 0.1\n    chunk_limit_records 200\n    flush_thread_count 2\n    retry_forever true\n    retry_wait 0.1\n    retry_max_interval 0.5\n  </buffer>\n</match>\n',
    );
    let proc: SluiceProcess | undefined;
    try {
      const run = await ackedAcrossKills(conf, fwdPort, KILLS);
      proc = run.last;
      const acked = run.acked;
      const missing = await s.waitAll(acked, 120_000);
      const dups = [...s.seen.values()].reduce((n, c) => n + (c - 1), 0);
      t.diagnostic(
        `kills: ${KILLS}, acked events: ${acked.size}, received: ${s.seen.size} distinct, duplicates: ${dups}, missing: ${missing.length}`,
      );
      assert.equal(
        missing.length,
        0,
        `acknowledged events never delivered: ${missing.slice(0, 20).join(',')}`,
      );
    } finally {
      await proc?.stop(10_000);
      s.server.close();
      await cleanup();
    }
  });
});
