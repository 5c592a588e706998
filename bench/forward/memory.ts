// bench/forward/memory.ts: issue 18's hostile-client memory figure. A real `sluice run`
// process with `forward -> null`; N connections each declare a bin32 of DECLARED bytes and
// send SENT of them, then stay; meanwhile a well-behaved client sends a frame with an ack.
// Prints the server's RSS before, its peak (VmHWM) during the attack, and its RSS after the
// attackers leave (right away and after a few seconds).
//   node --import tsx bench/forward/memory.ts [conns=30] [declaredMB=60] [sentMB=59] [extra sluice params...]
// Never pass/fail.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTime, encodeMessage, FrameDecoder, parseAck, unpackr } from '@sluice/forward';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { spawnSluice } from '../../packages/sluice/test/helpers/sluice-process.ts';

const CONNS = Number(process.argv[2] ?? 30);
const DECLARED = Number(process.argv[3] ?? 60) * 1_000_000;
const SENT = Number(process.argv[4] ?? 59) * 1_000_000;
const EXTRA = process.argv.slice(5).join('\n');
const MiB = 1024 * 1024;

function status(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-mem-'));
const conf = join(dir, 'sluice.conf');
writeFileSync(
  conf,
  `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n  ${EXTRA}\n</source>\n<match **>\n  @type null\n</match>\n`,
);
const proc = spawnSluice(['run', '-c', conf, '-q']);
const pid = proc.proc.pid!;
try {
  await waitForPort(port, 30_000);
  const before = status(pid);
  console.log(`sluice pid ${pid}; RSS before ${mib(before.rss)}`);

  const header = Buffer.from([0x93, 0xa1, 0x61, 0xc6, 0, 0, 0, 0]);
  header.writeUInt32BE(DECLARED, 4);
  const payload = Buffer.concat([header, Buffer.alloc(SENT, 0x61)]);
  const attackers: Socket[] = [];
  let closedByServer = 0;
  const flushed: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < CONNS; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('close', () => closedByServer++);
    attackers.push(s);
    // resolves when the bytes left this process (or the server closed the connection)
    flushed.push(
      new Promise<void>((resolve) => {
        s.write(payload, () => resolve());
        s.on('close', () => resolve());
      }),
    );
  }
  await Promise.all(flushed);
  const during = status(pid);
  console.log(
    `${CONNS} connections x ${DECLARED / 1e6} MB declared, ${SENT / 1e6} MB sent each, in ${Date.now() - t0} ms; ` +
      `closed by the server: ${closedByServer}; RSS ${mib(during.rss)}, peak ${mib(during.hwm)}`,
  );

  // A well-behaved client meanwhile.
  const good = connect(port, '127.0.0.1');
  const dec = new FrameDecoder({ maxFrameSize: 1 << 20, expect: 'any' });
  const ta = Date.now();
  await new Promise<void>((resolve, reject) => {
    good.on('error', reject);
    good.on('data', (d) => {
      dec.push(d);
      for (let f = dec.next(); f; f = dec.next()) if (parseAck(unpackr.unpack(f)) === 'good') resolve();
    });
    good.write(encodeMessage('good', new EventTime(1700000000, 0), { ok: 1 }, { chunk: 'good' }));
  });
  console.log(`a well-behaved client was acked in ${Date.now() - ta} ms`);
  good.destroy();

  for (const s of attackers) s.destroy();
  const after0 = status(pid);
  console.log(`attackers gone: RSS ${mib(after0.rss)} at once`);
  for (const sec of [1, 5, 10]) {
    await new Promise((r) => setTimeout(r, sec * 1000 - (sec === 1 ? 0 : sec === 5 ? 1000 : 5000)));
    console.log(`  RSS ${mib(status(pid).rss)} after ${sec} s`);
  }
  console.log(`peak RSS (VmHWM) ${mib(status(pid).hwm)}`);
} finally {
  await proc.stop();
  rmSync(dir, { recursive: true, force: true });
}
