// What the forward -> store benches (bench/elasticsearch, bench/s3, bench/firehose) share: the
// record they send, a number printer, the CPU and peak RSS of a process tree read from /proc,
// the sluice they start and how they stop it, and the bounded wait for what the store received.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventTime, encode } from '@sluice/forward';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';

/** A typical access-log record, 9 fields. */
export const RECORD = {
  host: 'web-1',
  level: 'info',
  method: 'GET',
  path: '/api/items/42',
  status: 200,
  bytes: 5120,
  duration_ms: 12.5,
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
  message: 'request served',
};
/** Its size as a JSON line. */
export const JSON_BYTES = JSON.stringify(RECORD).length + 1;

/** `batch` copies of RECORD, timed now, as the msgpack entries of one PackedForward message. */
export function recordEntries(batch: number): Buffer {
  const b = new BatchBuilder();
  const rec = encode(RECORD);
  const t = EventTime.now();
  for (let i = 0; i < batch; i++) b.addRaw(t.sec, t.nsec, rec);
  return b.finish();
}

/** The sluice a bench runs: SLUICE_BENCH_BIN (e.g. a compiled tree's bin/sluice.js) or this tree's. */
export const SLUICE_BIN =
  process.env.SLUICE_BENCH_BIN ??
  fileURLToPath(new URL('../../packages/sluice/bin/sluice.js', import.meta.url));

/** Stops a collector as its service manager would: SIGTERM, then SIGKILL if it is not gone in 15 s. */
export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const late = setTimeout(() => p.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(late);
}

/**
 * Polls `count` (what the store holds) every `intervalMs` until it reaches `target`, or stops
 * growing for 60 s, or 600 s have passed; returns the last count.
 */
export async function countUntil(
  count: () => number | Promise<number>,
  target: number,
  intervalMs = 250,
): Promise<number> {
  let last = -1;
  let grewAt = performance.now();
  const deadline = performance.now() + 600_000;
  for (;;) {
    const n = await count();
    if (n > last) grewAt = performance.now();
    last = n;
    if (n >= target || performance.now() > deadline || performance.now() - grewAt > 60_000) return n;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The collector's CPU (a share of one core and per event) and peak RSS, as the benches print them. */
export function cpuAndRss(cpuSec: number, seconds: number, events: number, hwmMb: number): string {
  return (
    `CPU ${((cpuSec / seconds) * 100).toFixed(0)}% of one core = ${((cpuSec / Math.max(1, events)) * 1e6).toFixed(2)} us/event, ` +
    `peak RSS ${hwmMb.toFixed(0)} MiB`
  );
}

export const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

export function tree(pid: number): number[] {
  try {
    const kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    return [pid, ...kids.map(Number)];
  } catch {
    return [pid];
  }
}

export function usage(pids: number[]): { cpuSec: number; hwmMb: number } {
  let cpuSec = 0;
  let kb = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpuSec += (Number(stat[11]) + Number(stat[12])) / 100;
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += hwm ? Number(hwm[1]) : 0;
    } catch {
      /* gone */
    }
  }
  return { cpuSec, hwmMb: kb / 1024 };
}

const MiB = (n: number) => (n / 1048576).toFixed(0);

/**
 * The environment that loads bench/lib/mem-sampler.mjs into a Node process, writing its samples to
 * `file` (read back by peakBreakdown).
 */
export function memSamplerEnv(file: string): Record<string, string> {
  const sampler = new URL('./mem-sampler.mjs', import.meta.url).pathname;
  return {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${sampler}`.trim(),
    SLUICE_MEM_SAMPLES: file,
  };
}

/** Where the sampled process's peak RSS went, as one line of text. */
export function peakBreakdown(file: string): string {
  let peak: Record<string, number> | undefined;
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const s = JSON.parse(line) as Record<string, number>;
      if (!peak || s.rss! > peak.rss!) peak = s;
    }
  } catch {
    return 'no memory samples';
  }
  if (!peak) return 'no memory samples';
  const p = peak as Record<
    | 'rss'
    | 'heapTotal'
    | 'heapUsed'
    | 'external'
    | 'arrayBuffers'
    | 'newSpace'
    | 'oldSpace'
    | 'largeObjects'
    | 'code',
    number
  >;
  const other = p.rss - p.heapTotal - p.external;
  return (
    `at the sampled peak RSS ${MiB(p.rss)} MiB: V8 heap ${MiB(p.heapTotal)} (new space ${MiB(p.newSpace)}, old ${MiB(p.oldSpace)}, ` +
    `large objects ${MiB(p.largeObjects)}, code ${MiB(p.code)}; used ${MiB(p.heapUsed)}), external ${MiB(p.external)} ` +
    `(ArrayBuffers ${MiB(p.arrayBuffers)}), the rest ${MiB(other)} (code, stacks, allocator)`
  );
}

/**
 * Sends PackedForward batches of `entries` (count `batch`) with acks, 8 in flight, for `seconds`,
 * to a forward input on 127.0.0.1:port, as a forward client with require_ack_response does: a
 * batch counts once acked, and a closed connection is opened again and the unacked batches sent
 * again (Fluent Bit's in_forward closes every connection when its Mem_Buf_Limit pauses it, and
 * refuses new ones until it resumes; a client waiting on acks over the closed socket would wait
 * forever). Every wait is bounded: no ack for `ackTimeoutMs` ends the run with an error.
 */
export async function sendForward(
  port: number,
  tag: string,
  entries: Buffer,
  batch: number,
  seconds: number,
  ackTimeoutMs = 120_000,
): Promise<{ accepted: number; t0: number; acceptedAt: number; reconnects: number }> {
  const { connect } = await import('node:net');
  const { randomBytes } = await import('node:crypto');
  const { decodeMultiple, encode } = await import('@sluice/forward');
  const pending = new Map<string, Buffer>();
  let acked = 0;
  let reconnects = -1;
  let lastAck = performance.now();
  let sock: import('node:net').Socket | undefined;
  let wake: (() => void) | undefined;
  const nudge = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  const checkStalled = () => {
    if (performance.now() - lastAck > ackTimeoutMs)
      throw new Error(
        `no ack for ${ackTimeoutMs / 1000} s (${pending.size} batches unacked, ${reconnects} reconnects)`,
      );
  };
  const open = () =>
    new Promise<import('node:net').Socket | undefined>((resolve) => {
      const s = connect(port, '127.0.0.1');
      const fail = () => {
        s.destroy();
        resolve(undefined);
      };
      const timer = setTimeout(fail, 5_000);
      s.once('error', fail);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeListener('error', fail);
        s.on('error', () => s.destroy());
        s.on('close', () => {
          if (sock === s) sock = undefined;
          nudge();
        });
        s.on('data', (d: Buffer) => {
          for (const v of decodeMultiple(d)) {
            const id = (v as { ack?: string }).ack;
            if (id !== undefined && pending.delete(id)) {
              acked++;
              lastAck = performance.now();
            }
          }
          nudge();
        });
        resolve(s);
      });
    });
  const connected = async (): Promise<import('node:net').Socket> => {
    let backoff = 20;
    while (!sock) {
      checkStalled();
      const s = await open();
      if (s && !s.destroyed) {
        sock = s;
        reconnects++;
        for (const msg of pending.values()) s.write(msg);
        break;
      }
      await pause(backoff);
      backoff = Math.min(backoff * 2, 500);
    }
    return sock;
  };
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  try {
    while (performance.now() < end) {
      const s = await connected();
      if (pending.size >= 8) {
        await pause(1_000);
        checkStalled();
        continue;
      }
      const id = randomBytes(8).toString('base64');
      const msg = encode([tag, entries, { chunk: id, size: batch }]);
      pending.set(id, msg);
      s.write(msg);
    }
    while (pending.size > 0) {
      await connected();
      if (pending.size > 0) await pause(1_000);
      checkStalled();
    }
  } finally {
    sock?.destroy();
  }
  return { accepted: acked * batch, t0, acceptedAt: performance.now(), reconnects: Math.max(0, reconnects) };
}
