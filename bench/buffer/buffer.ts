// Throughput of the buffer engine: events/s and MB/s accepted into memory and file
// buffers (chunk_limit_size 1 MB and 8 MB) and written out to a no-op output, with the CPU
// seconds of the process (thread pool included) and peak RSS.
// Run: node --import tsx bench/buffer/buffer.ts [events]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packr } from '@sluice/forward';
import { createBufferedOutput } from '../../packages/sluice/src/buffer/buffered-output.ts';
import { parseConfigText } from '../../packages/sluice/src/config/parser.ts';
import type { EventBatch } from '../../packages/sluice/src/core/batch.ts';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';
import type { PluginDescriptor } from '../../packages/sluice/src/core/plugin.ts';
import { loadPlugin } from '../../packages/sluice/src/engine/registry.ts';
import { testContext } from '../../packages/sluice/src/testing/context.ts';

const TOTAL = Number(process.argv[2] ?? 2_000_000);
const PER_BATCH = 1000;

function makeBatches(): EventBatch[] {
  // ~ a typical access-log record; 200 distinct batches reused (bytes are what matters).
  const out: EventBatch[] = [];
  for (let b = 0; b < 200; b++) {
    const bb = new BatchBuilder();
    for (let i = 0; i < PER_BATCH; i++) {
      const rec = packr.pack({
        host: '10.0.0.1',
        method: 'GET',
        path: `/api/v1/items/${b * PER_BATCH + i}`,
        code: 200,
        size: 5123,
        agent: 'Mozilla/5.0 (X11; Linux x86_64)',
        msg: 'request served',
      });
      bb.addRaw(1_700_000_000 + b, i, rec);
    }
    out.push(bb.take('bench.access'));
  }
  return out;
}

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);

async function run(type: 'memory' | 'file', chunk: string, batches: EventBatch[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-buffer-'));
  const el = parseConfigText(
    `<match x>\n<buffer tag>\n@type ${type}\n${type === 'file' ? `path ${dir}\n` : ''}chunk_limit_size ${chunk}\ntotal_limit_size 256m\noverflow_action block\nflush_mode interval\nflush_interval 1\nflush_thread_count 2\n</buffer>\n</match>`,
    { file: 'bench' },
  ).elements[0]!.elements[0]!;
  let written = 0;
  const ctx = testContext({ id: 'bench', type: 'bench' });
  const descriptor = {
    kind: 'output',
    type: 'null',
    description: '',
    schema: { params: {} },
    create: () => ({}),
  } as PluginDescriptor;
  const bo = await createBufferedOutput({
    descriptor,
    output: {
      write: async (c) => {
        written += c.count;
        return { status: 'ok' };
      },
    },
    bufferElement: el,
    ctx,
    loadStore: (type, at) => loadPlugin('buffer', type, at),
  });
  await bo.start();
  peak = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  let n = 0;
  for (let i = 0; n < TOTAL; i++) {
    const b = batches[i % batches.length]!;
    await bo.emit(b);
    bytes += b.bytes.length;
    n += b.count;
  }
  const accepted = Number(process.hrtime.bigint() - t0) / 1e9;
  await bo.flushAll();
  const all = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await bo.stop();
  console.log(
    `${type.padEnd(6)} chunk ${chunk.padEnd(3)}  accept: ${Math.round(n / accepted).toLocaleString('en')} events/s, ${(bytes / 1048576 / accepted).toFixed(0)} MB/s` +
      `  | accept+write: ${Math.round(written / all).toLocaleString('en')} events/s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s  | peak RSS ${(peak / 1048576).toFixed(0)} MB  (${n} events, ${(bytes / 1048576).toFixed(0)} MB)`,
  );
  await rm(dir, { recursive: true, force: true });
}

const batches = makeBatches();
for (const [type, chunk] of [
  ['memory', '1m'],
  ['memory', '8m'],
  ['file', '1m'],
  ['file', '8m'],
] as const)
  await run(type, chunk, batches);
clearInterval(sampler);
