// Acceptance (issue 3): the receiver is down for longer than several retry intervals with
// retry_forever; the producer is slowed by overflow_action block (acks stop) and the
// process's memory stays bounded; once the receiver is up, every acked event arrives.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { AckingClient } from './forward-client.ts';

/** Stated bound: total_limit_size (256 KiB) + the runtime's fixed overhead. */
const RSS_BOUND_MB = 300;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe('receiver outage (e2e)', () => {
  it('blocks the producer while the receiver is down, then delivers everything', {
    timeout: 120_000,
  }, async (t) => {
    const { dir, cleanup } = await tempDir();
    let down = true;
    let refused = 0;
    const seen = new Set<number>();
    const onEvent: (() => void)[] = [];
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        if (down) {
          refused++;
          res.statusCode = 503;
          res.end('down');
        } else {
          for (const line of Buffer.concat(parts).toString().split('\n'))
            if (line.trim()) seen.add((JSON.parse(line) as { id: number }).id);
          res.end('ok');
        }
        for (const f of onEvent.splice(0)) f();
      });
    });
    const until = (cond: () => boolean, what: string, ms = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
        const check = () => {
          if (cond()) {
            clearTimeout(timer);
            resolve();
          } else onEvent.push(check);
        };
        check();
      });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sinkPort = (server.address() as AddressInfo).port;
    const s = netServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const fwdPort = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const conf = join(dir, 'sluice.conf');
    await writeFile(
      conf,
      `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${fwdPort}\n</source>\n` +
        `<match api.**>\n  @type http\n  endpoint http://127.0.0.1:${sinkPort}/api/\${tag[1]}/\n  <buffer tag>\n    @type file\n    path ${join(dir, 'buffer')}\n` +
        '    flush_mode immediate\n    chunk_limit_size 32k\n    total_limit_size 256k\n    overflow_action block\n    retry_forever true\n    retry_type exponential_backoff\n    retry_wait 0.05\n    retry_max_interval 0.3\n    retry_randomize true\n  </buffer>\n</match>\n',
    );
    let proc: SluiceProcess | undefined;
    const client = new AckingClient(fwdPort);
    try {
      proc = spawnSluice(['-c', conf]);
      await client.connect();
      const acked = new Set<number>();
      let sent = 0;
      let stopped = false;
      const inflight = new Set<Promise<void>>();
      const pump = () => {
        while (!stopped && inflight.size < 4) {
          const ids = Array.from({ length: 20 }, () => sent++);
          const p: Promise<void> = client
            .send(
              'api.orders',
              ids.map((id) => ({ id, body: 'y'.repeat(200) })),
            )
            .then(() => {
              for (const id of ids) acked.add(id);
              inflight.delete(p);
              for (const f of onEvent.splice(0)) f();
              pump();
            });
          inflight.add(p);
        }
      };
      pump();
      // Down for many retry intervals: wait for 15 refused attempts.
      await until(() => refused >= 15, '15 refused deliveries');
      const ackedWhileDown = acked.size;
      const rss = rssMb(proc.proc.pid!);
      // ~250 bytes per event on disk: 256 KiB holds ~1000 events; acks must have stopped near there.
      assert.ok(ackedWhileDown < 2000, `producer was not slowed: ${ackedWhileDown} events acked while down`);
      assert.ok(sent > ackedWhileDown, 'sends are waiting for acks');
      assert.ok(rss < RSS_BOUND_MB, `RSS ${rss.toFixed(0)} MB over the ${RSS_BOUND_MB} MB bound`);
      stopped = true;
      down = false;
      await until(() => inflight.size === 0, 'blocked sends acked after recovery');
      await until(() => [...acked].every((id) => seen.has(id)), 'every acked event delivered');
      t.diagnostic(
        `refused attempts while down: ${refused}, acked while down: ${ackedWhileDown}, total acked: ${acked.size}, child RSS while blocked: ${rss.toFixed(0)} MB`,
      );
    } finally {
      client.close();
      await proc?.stop(10_000);
      server.close();
      await cleanup();
    }
  });
});
