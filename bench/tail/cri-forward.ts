// tail of CRI files with partials -> forward -> a forward receiver counting them (issue 21).
// containerd's format: `TIME STREAM P|F MESSAGE`; 90% of the logical lines are 100-300
// bytes, 10% are 20-50 KB, split into 16 KiB P parts ended by an F line; stdout and stderr
// alternate part by part. `<parse> @type cri` (parts joined in the tail), out_forward with a
// memory buffer flushed at once (64 MiB, overflow_action block), and the receiver (in_forward -> null) in this process.
// Usage: node --import tsx bench/tail/cri-forward.ts [logical lines=200000] [join|nojoin] [long %=10]
// Prints logical lines/s, MB/s of file, peak RSS and CPU of the process; never pass/fail.
// With FLUENT_BIT_BIN set, the same file is then read by Fluent Bit (in_tail with
// `multiline.parser cri`, out_forward) into the same receiver, in the same sitting.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Engine } from '../../packages/sluice/src/engine/engine.ts';
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
  if (process.env.FLUENT_BIT_BIN) await fluentBit(process.env.FLUENT_BIT_BIN, file, bytes, parts);
} finally {
  clearInterval(sampler);
  await rm(dir, { recursive: true, force: true });
}

/** CPU seconds and peak RSS (bytes) of a process, from /proc. */
function procUsage(pid: number): { cpu: number; hwm: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return { cpu: ticks / 100, hwm };
}

/** The same file through Fluent Bit's in_tail (multiline.parser cri) -> out_forward into a fresh receiver. */
async function fluentBit(bin: string, file: string, bytes: number, parts: number): Promise<void> {
  const port = await freePort();
  const receiver = await Engine.fromText(
    `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n</source>\n<match **>\n@type null\n</match>\n`,
    { logger },
  );
  await receiver.start();
  const input = receiver.plugins.find((p) => p.kind === 'input')!;
  const conf = join(dir, 'fluent-bit.conf');
  writeFileSync(
    conf,
    `[SERVICE]\n    Flush 0.2\n    Log_Level warn\n[INPUT]\n    Name tail\n    Path ${file}\n    Tag k8s\n    Read_from_Head true\n    multiline.parser cri\n    Mem_Buf_Limit 64MB\n    DB ${join(dir, 'fb.db')}\n` +
      `[OUTPUT]\n    Name forward\n    Match *\n    Host 127.0.0.1\n    Port ${port}\n`,
  );
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const fb = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  let usage = { cpu: 0, hwm: 0 };
  const sample = setInterval(() => {
    try {
      usage = procUsage(fb.pid!);
    } catch {
      // exited
    }
  }, 50);
  try {
    // Bounded: Fluent Bit's cri parser joins the parts, so the receiver counts logical lines.
    await new Promise<void>((resolve, reject) => {
      const limit = setTimeout(
        () => reject(new Error(`fluent-bit: ${input.ctx.metrics.emitRecords} of ${LINES} in 600 s`)),
        600_000,
      );
      const poll = setInterval(() => {
        if (input.ctx.metrics.emitRecords >= LINES) {
          clearInterval(poll);
          clearTimeout(limit);
          resolve();
        }
      }, 5);
      fb.once('exit', (code) => reject(new Error(`fluent-bit exited (${code})`)));
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    usage = procUsage(fb.pid!);
    const recv = process.cpuUsage(cpu0);
    console.log(
      `fluent-bit (tail, multiline.parser cri) -> forward -> forward -> null: ${LINES.toLocaleString('en')} logical lines ` +
        `(${parts.toLocaleString('en')} CRI lines, ${(bytes / 1e6).toFixed(0)} MB) in ${secs.toFixed(2)} s = ` +
        `${Math.round(LINES / secs).toLocaleString('en')} lines/s, ${(bytes / 1e6 / secs).toFixed(1)} MB/s, ` +
        `Fluent Bit peak RSS ${(usage.hwm / 1048576).toFixed(0)} MiB, CPU ${((usage.cpu / secs) * 100).toFixed(0)}% of one core ` +
        `(${Math.round(LINES / usage.cpu).toLocaleString('en')} lines per CPU-second; the receiver took ${((recv.user + recv.system) / 1e6).toFixed(1)} s more); received ${input.ctx.metrics.emitRecords}`,
    );
  } finally {
    clearInterval(sample);
    fb.kill('SIGKILL');
    await receiver.stop();
  }
}
