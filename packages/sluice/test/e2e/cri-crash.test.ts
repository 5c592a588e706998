// tail (cri, partial lines joined) -> file buffer -> http, the sluice binary killed with
// SIGKILL under load: every logical line arrives at least once and whole, none cut into
// parts, however the kills fall between a line's P parts and its F.
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSluice } from '../helpers/sluice-process.ts';
import { tempDir, until } from '../tail/helpers.ts';

const PART = 16 * 1024;

/** The logical line number `n`: 10 digits, a colon, then a body; every seventh is long (2-3 parts). */
function line(n: number): string {
  const id = `${String(n).padStart(10, '0')}:`;
  const len = n % 7 === 0 ? PART + 1 + ((n * 7919) % (2 * PART)) : 20 + (n % 80);
  return id + String.fromCharCode(97 + (n % 26)).repeat(len);
}

/** An HTTP sink counting each logical line it receives whole, and every record that is not one. */
function sink(): Promise<{ server: Server; port: number; seen: Map<number, number>; cut: string[] }> {
  const seen = new Map<number, number>();
  const cut: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      for (const l of body.split('\n')) {
        if (!l) continue;
        const r = JSON.parse(l) as { message: string; logtag: string };
        const n = /^\d{10}:/.test(r.message) ? Number(r.message.slice(0, 10)) : -1;
        if (n < 0 || r.message !== line(n) || r.logtag !== 'F')
          cut.push(`${r.logtag} ${r.message.slice(0, 40)}`);
        else seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as AddressInfo).port, seen, cut }),
    ),
  );
}

test('tail cri -> file buffer -> http, sluice killed with SIGKILL 5 times under load: every logical line whole, at least once', {
  timeout: 180_000,
}, async (t) => {
  const dir = await tempDir(t);
  const s = await sink();
  t.after(() => new Promise<void>((r) => s.server.close(() => r())));
  const log = join(dir, '0.log');
  const conf = join(dir, 'sluice.conf');
  writeFileSync(
    conf,
    `<source>
  @type tail
  path ${log}
  pos_file ${join(dir, 'tail.pos')}
  tag k8s
  read_from_head true
  read_lines_limit 200
  <parse>
    @type cri
  </parse>
</source>
<match k8s>
  @type http
  endpoint http://127.0.0.1:${s.port}/ingest
  <buffer>
    @type file
    path ${join(dir, 'buffer')}
    flush_mode interval
    flush_interval 0.2s
    retry_wait 0.2s
    retry_max_interval 1s
  </buffer>
</match>
`,
  );
  const fd = openSync(log, 'a');
  let next = 0;
  let writing = true;
  // containerd: stdout and stderr each write their lines part by part, interleaved, in
  // writes of a few parts every 5 ms, until told to stop (then both finish their line).
  const writer = (async () => {
    const queue: Record<string, string[]> = { stdout: [], stderr: [] };
    let ns = 0;
    for (;;) {
      let chunk = '';
      for (let i = 0; i < 40; i++) {
        const stream = (i + next) % 3 === 0 ? 'stderr' : 'stdout';
        let q = queue[stream]!;
        if (q.length === 0) {
          if (!writing) continue;
          const l = line(next++);
          q = [];
          for (let o = 0; o < l.length; o += PART) q.push(l.slice(o, o + PART));
          queue[stream] = q;
        }
        const part = q.shift()!;
        ns++;
        chunk += `2026-12-06T21:00:00.${String(ns).padStart(9, '0')}Z ${stream} ${q.length > 0 ? 'P' : 'F'} ${part}\n`;
      }
      if (chunk) writeSync(fd, chunk);
      if (!writing && queue.stdout!.length === 0 && queue.stderr!.length === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  t.after(async () => {
    writing = false;
    await writer;
    closeSync(fd);
  });

  for (let round = 0; round < 5; round++) {
    const sl = spawnSluice(['-c', conf]);
    t.after(() => sl.stop(2000));
    const before = s.seen.size;
    await until(() => s.seen.size > before + 300, `new lines delivered in round ${round}`, 60_000);
    sl.proc.kill('SIGKILL');
    await sl.exited;
  }
  writing = false;
  await writer;
  const total = next;
  const last = spawnSluice(['-c', conf]);
  t.after(() => last.stop());
  await until(() => s.seen.size >= total, `all ${total} logical lines`, 90_000).catch((e) => {
    const missing = [...Array(total).keys()].filter((n) => !s.seen.has(n));
    throw new Error(
      `${(e as Error).message}: ${missing.length} missing, first ${missing.slice(0, 5).join(',')}`,
    );
  });
  await last.stop();
  const dups = [...s.seen.values()].reduce((a, c) => a + (c - 1), 0);
  t.diagnostic(`${total} logical lines written, ${dups} received twice or more, ${s.cut.length} cut`);
  assert.deepEqual(s.cut, [], 'no record is a part of a line');
  assert.equal(s.seen.size, total);
});
