// tail -> null: 1,000,000 lines of ~150 bytes read from head, with `none` and `json` parsing.
// Usage: node --import tsx bench/tail/tail-null.ts [lines] [none|json ...]
// Prints lines/s, MB/s, peak RSS and CPU use; never pass/fail.
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Engine } from '../../packages/sluice/src/engine/engine.ts';

const LINES = Number(process.argv[2] ?? 1_000_000);
const modes = process.argv.slice(3).length ? process.argv.slice(3) : ['none', 'json'];

function writeFile(path: string, mode: string): number {
  const fd = openSync(path, 'w');
  const pad = 'x'.repeat(60);
  let chunk = '';
  for (let i = 0; i < LINES; i++) {
    chunk +=
      mode === 'json'
        ? `{"ts":"2026-11-21T23:00:00.${String(i % 1000).padStart(3, '0')}Z","level":"info","seq":${i},"msg":"request handled ${pad}","status":200}\n`
        : `2026-11-21T23:00:00.${String(i % 1000).padStart(3, '0')}Z INFO seq=${String(i).padStart(8, '0')} request handled status=200 ${pad}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  return statSync(path).size;
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-tail-'));
try {
  for (const mode of modes) {
    const file = join(dir, `${mode}.log`);
    const bytes = writeFile(file, mode);
    global.gc?.();
    peakRss = process.memoryUsage.rss();
    const conf = `<source>\n@type tail\npath ${file}\ntag bench\nread_from_head true\n<parse>\n@type ${mode}\n</parse>\n</source>\n<match **>\n@type null\n</match>\n`;
    const engine = await Engine.fromText(conf, { logger: pino({ level: 'warn' }) });
    const input = engine.plugins.find((p) => p.kind === 'input')!;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await engine.start();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (input.ctx.metrics.emitRecords >= LINES) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    await engine.stop();
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    console.log(
      `tail -> null, parse ${mode}: ${LINES} lines (${(bytes / LINES).toFixed(0)} B/line) in ${secs.toFixed(2)} s = ` +
        `${Math.round(LINES / secs).toLocaleString('en')} lines/s, ${(bytes / 1e6 / secs).toFixed(1)} MB/s, ` +
        `peak RSS ${(peakRss / 1048576).toFixed(0)} MiB, CPU ${(((cpu.user + cpu.system) / 1e6 / secs) * 100).toFixed(0)}% of one core ` +
        `(${Math.round(LINES / ((cpu.user + cpu.system) / 1e6)).toLocaleString('en')} lines per CPU-second)`,
    );
  }
} finally {
  clearInterval(sampler);
  await rm(dir, { recursive: true, force: true });
}
