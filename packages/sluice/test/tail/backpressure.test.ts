import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import type { EventBatch } from '../../src/core/batch.ts';
import type { OutputPlugin, PluginDescriptor } from '../../src/core/plugin.ts';
import { Engine } from '../../src/engine/engine.ts';
import { registerPlugin } from '../../src/engine/registry.ts';
import { tempDir, until } from './helpers.ts';

// An output that can be "down" (acceptance held) and that checks, without keeping the
// events, that sequence numbers arrive complete and in order.
const state = { down: true, up: () => {}, waiting: 0, next: 0, errors: [] as string[] };
let release: Promise<void> = new Promise((res) => {
  state.up = res;
});
const seqOutput: PluginDescriptor<OutputPlugin> = {
  kind: 'output',
  type: 'test_seq_sink',
  description: 'test-only: counts sequence numbers in order',
  schema: { params: {} },
  buffered: 'never',
  create() {
    return {
      async process(batch: EventBatch) {
        if (state.down) {
          state.waiting++;
          await release;
        }
        for (const e of batch.entries()) {
          const n = Number((e.record.message as string).slice(0, 10));
          if (n !== state.next && state.errors.length < 5)
            state.errors.push(`expected ${state.next}, got ${n}`);
          state.next = n + 1;
        }
      },
    };
  },
};

test('sink down while the file grows by ~200 MB: RSS stays flat; when the sink returns every line arrives in order', async (t) => {
  registerPlugin(seqOutput as PluginDescriptor);
  const dir = await tempDir(t);
  const log = join(dir, 'big.log');
  const fd = openSync(log, 'w');
  const engine = await Engine.fromText(
    `<source>\n@type tail\npath ${log}\ntag big\nread_from_head true\n<parse>\n@type none\n</parse>\n</source>\n<match **>\n@type test_seq_sink\n</match>\n`,
    { logger: pino({ level: 'silent' }) },
  );
  await engine.start();
  t.after(() => engine.stop());
  const pad = 'x'.repeat(140);
  let seq = 0;
  const writeMB = () => {
    let s = '';
    while (s.length < 1 << 20) s += `${String(seq++).padStart(10, '0')} ${pad}\n`;
    writeSync(fd, s);
  };
  writeMB();
  await until(() => state.waiting > 0, 'the reader to block on the sink');
  global.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  for (let mb = 0; mb < 200; mb++) {
    writeMB();
    if (mb % 10 === 0) await new Promise((res) => setImmediate(res)); // let the tail react to its watch events
    peak = Math.max(peak, process.memoryUsage.rss());
  }
  closeSync(fd);
  // Stated bound: the reader holds one read buffer and one batch, whatever the backlog.
  const BOUND = 64 * 1024 * 1024;
  assert.ok(
    peak - base < BOUND,
    `RSS grew by ${((peak - base) / 1048576).toFixed(1)} MiB while the sink was down (bound 64 MiB)`,
  );
  assert.equal(state.waiting, 1, 'nothing more was read while the first batch waited');
  state.down = false;
  state.up();
  release = Promise.resolve();
  await until(() => state.next >= seq, `all ${seq} lines (at ${state.next})`, 60_000);
  assert.deepEqual(state.errors, []);
  assert.equal(state.next, seq);
});
