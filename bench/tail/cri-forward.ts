// tail of CRI files with partials -> forward -> a forward receiver counting them (issue 21).
// containerd's format: `TIME STREAM P|F MESSAGE`; 90% of the logical lines are 100-300
// bytes, 10% are 20-50 KB, split into 16 KiB P parts ended by an F line; stdout and stderr
// alternate part by part. `<parse> @type cri` (parts joined in the tail), out_forward with a
// memory buffer flushed at once (64 MiB, overflow_action block), and the receiver (in_forward -> null) in this process.
// Usage: node --import tsx bench/tail/cri-forward.ts [logical lines=200000] [join|nojoin] [long %=10]
// Prints logical lines/s, MB/s of file, peak RSS and CPU of the process; never pass/fail.
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Engine } from '../../packages/sluice/src/core/engine.ts';
import { freePort } from '../../packages/sluice/test/helpers/ports.ts';

const LINES = Number(process.argv[2] ?? 200_000);
/** `nojoin`: join_partials false, one record per CRI line (Fluentd's parser) */
const JOIN = process.argv[3] !== 'nojoin';
/** share of long (20-50 KB, split into parts) lines, in percent */
const LONG = Number(process.argv[4] ?? 10) / 100;
const PART = 16 * 1024;

/** Writes the file; returns its size and how many physical (part) lines it has. */
function writeFile(path: string): { bytes: number; parts: number } {
  const fd = openSync(path, 'w');
  let chunk = '';
  let parts = 0;
  let s = 21;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const filler = 'abcdefghijklmnopqrstuvwxyz0123456789 '.repeat(1500);
  // Each stream's line in progress: its parts left.
  const pending: Record<string, string[]> = { stdout: [], stderr: [] };
  let made = 0;
  let sec = 0;
  const flush = () => {
    writeSync(fd, chunk);
    chunk = '';
  };
  while (made < LINES || pending.stdout!.length + pending.stderr!.length > 0) {
    for (const stream of ['stdout', 'stderr']) {
      let q = pending[stream]!;
      if (q.length === 0 && made < LINES) {
        const long = rand() < LONG;
        const len = long ? 20_000 + Math.floor(rand() * 30_000) : 100 + Math.floor(rand() * 200);
        const msg = `${stream} line ${made++} ${filler.slice(0, len)}`;
        q = [];
        for (let o = 0; o < msg.length; o += PART) q.push(msg.slice(o, o + PART));
        pending[stream] = q;
      }
      const part = q.shift();
      if (part === undefined) continue;
      sec++;
      const ns = String(sec % 1_000_000_000).padStart(9, '0');
      chunk += `2026-12-06T21:00:00.${ns}Z ${stream} ${q.length > 0 ? 'P' : 'F'} ${part}\n`;
      parts++;
      if (chunk.length > 1 << 20) flush();
    }
  }
  flush();
  closeSync(fd);
  return { bytes: statSync(path).size, parts };
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-cri-'));
const logger = pino({ level: 'warn' });
try {
  const file = join(dir, '0.log');
  const { bytes, parts } = writeFile(file);
  global.gc?.();
  peakRss = process.memoryUsage.rss();
  const port = await freePort();
  const receiver = await Engine.fromText(
    `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n</source>\n<match **>\n@type null\n</match>\n`,
    { logger },
  );
  await receiver.start();
  const sender = await Engine.fromText(
    `<source>\n@type tail\npath ${file}\ntag k8s\nread_from_head true\n<parse>\n@type cri\njoin_partials ${JOIN}\n</parse>\n</source>
<match **>
  @type forward
  <server>\n    host 127.0.0.1\n    port ${port}\n  </server>
  <buffer>\n    flush_mode immediate\n    chunk_limit_size 4m\n    total_limit_size 64m\n    overflow_action block\n  </buffer>
</match>\n`,
    { logger },
  );
  const input = receiver.plugins.find((p) => p.kind === 'input')!;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sender.start();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (input.ctx.metrics.emitRecords >= (JOIN ? LINES : parts)) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const got = input.ctx.metrics.emitRecords;
  await sender.stop();
  await receiver.stop();
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  console.log(
    `tail (cri, ${JOIN ? 'partials joined' : 'join_partials false'}) -> forward -> forward -> null: ${LINES.toLocaleString('en')} logical lines, ${LONG * 100}% long ` +
      `(${parts.toLocaleString('en')} CRI lines, ${(bytes / 1e6).toFixed(0)} MB) in ${secs.toFixed(2)} s = ` +
      `${Math.round(LINES / secs).toLocaleString('en')} lines/s, ${(bytes / 1e6 / secs).toFixed(1)} MB/s, ` +
      `peak RSS ${(peakRss / 1048576).toFixed(0)} MiB, CPU ${(((cpu.user + cpu.system) / 1e6 / secs) * 100).toFixed(0)}% of one core ` +
      `(${Math.round(LINES / ((cpu.user + cpu.system) / 1e6)).toLocaleString('en')} lines per CPU-second, sender and receiver); received ${got}`,
  );
} finally {
  clearInterval(sampler);
  await rm(dir, { recursive: true, force: true });
}
