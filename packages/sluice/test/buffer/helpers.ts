import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTime } from '@sluice/forward';
import {
  type BufferedOutput,
  type BufferedOutputOptions,
  createBufferedOutput,
} from '../../src/buffer/buffered-output.ts';
import type { ConfigElement } from '../../src/config/ast.ts';
import { parseConfigText } from '../../src/config/parser.ts';
import { EventBatch, type EventRecord } from '../../src/core/batch.ts';
import type { Chunk, OutputPlugin, PluginDescriptor, WriteResult } from '../../src/core/plugin.ts';
import { loadPlugin } from '../../src/engine/registry.ts';
import { type TestContext, testContext } from '../../src/testing/context.ts';

export const descriptor: PluginDescriptor = {
  kind: 'output',
  type: 'fake',
  description: 'test output',
  schema: { params: {} },
  buffered: 'always',
  create: () => ({}),
};

/** An output whose write() is scripted: `next` results are used in order, then ok. */
export class FakeOutput implements OutputPlugin {
  written: { id: string; keys: Chunk['keys']; count: number; records: EventRecord[]; chunk: Chunk }[] = [];
  attempts = 0;
  next: (WriteResult | 'hang' | Error | Promise<WriteResult>)[] = [];
  /** checks run after every attempt; each returns true once it is satisfied */
  private checks: (() => boolean)[] = [];

  async write(chunk: Chunk): Promise<WriteResult> {
    this.attempts++;
    const r = this.next.shift();
    this.wake();
    if (r === 'hang') return new Promise(() => {});
    if (r instanceof Error) throw r;
    if (r instanceof Promise) {
      const v = await r;
      if (v.status !== 'ok') return v;
    } else if (r && r.status !== 'ok') return r;
    this.written.push({
      id: chunk.id,
      keys: chunk.keys,
      count: chunk.count,
      records: chunk.entries().map((e) => e.record),
      chunk,
    });
    this.wake();
    return { status: 'ok' };
  }

  records(): EventRecord[] {
    return this.written.flatMap((w) => w.records);
  }

  /** Resolves once `n` events were written (or attempts, with `attempts: true`), bounded. */
  waitFor(n: number, what: 'events' | 'attempts' = 'events', timeoutMs = 5000): Promise<void> {
    const done = () => (what === 'events' ? this.records().length : this.attempts) >= n;
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} ${what}`)), timeoutMs);
      this.checks.push(() => {
        if (!done()) return false;
        clearTimeout(t);
        resolve();
        return true;
      });
    });
  }

  private wake(): void {
    this.checks = this.checks.filter((c) => !c());
  }
}

export function bufferElement(text: string): ConfigElement {
  const root = parseConfigText(`<match x>\n${text}\n</match>`, { file: 'test.conf' });
  return root.elements[0]!.elements[0]!;
}

export function outputElement(text: string): ConfigElement {
  return parseConfigText(text, { file: 'test.conf' }).elements[0]!;
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-buffer-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function build(
  buffer: string | undefined,
  extra: Partial<BufferedOutputOptions> & { ctx?: TestContext } = {},
): Promise<{ bo: BufferedOutput; out: FakeOutput; ctx: TestContext }> {
  const out = (extra.output as FakeOutput | undefined) ?? new FakeOutput();
  const ctx = extra.ctx ?? testContext({ id: 'out1' });
  const bo = await createBufferedOutput({
    descriptor,
    output: out,
    bufferElement: buffer === undefined ? undefined : bufferElement(buffer),
    ctx,
    loadStore: (type, at) => loadPlugin('buffer', type, at),
    ...extra,
  });
  return { bo, out, ctx };
}

export function batch(tag: string, n: number, start = 0, sec = 1_700_000_000, pad = 0): EventBatch {
  const entries = [];
  for (let i = 0; i < n; i++)
    entries.push({
      time: new EventTime(sec, i),
      record: { n: start + i, ...(pad ? { p: 'x'.repeat(pad) } : {}) },
    });
  return EventBatch.fromEntries(tag, entries);
}

/**
 * An output whose first write() never settles and keeps its chunk's bytes, as a socket write
 * still in progress would; later writes succeed. Notes the memory behind every write.
 */
export class HoldsFirstWrite extends FakeOutput {
  held: Buffer | undefined;
  heldCopy: Buffer | undefined;
  memories = new Set<ArrayBufferLike>();
  override async write(chunk: Chunk): Promise<WriteResult> {
    this.memories.add(chunk.bytes.buffer);
    if (!this.held) {
      this.held = chunk.bytes;
      this.heldCopy = Buffer.from(chunk.bytes);
      this.attempts++;
      return new Promise(() => {});
    }
    return super.write(chunk);
  }
}

/**
 * 21 batches of 50 events through `<buffer>` settings (flush_mode immediate,
 * delayed_commit_timeout 0.05 and retry_wait 0.01 are added) to a HoldsFirstWrite: the first
 * write times out and is retried while the 20 later chunks go through.
 */
export async function pastAHangingWrite(buffer: string): Promise<HoldsFirstWrite> {
  const out = new HoldsFirstWrite();
  const { bo } = await build(
    `<buffer>\n${buffer}flush_mode immediate\ndelayed_commit_timeout 0.05\nretry_wait 0.01\n</buffer>`,
    { output: out },
  );
  await bo.start();
  try {
    await bo.emit(batch('a', 50, 0, 1_700_000_000, 100));
    await out.waitFor(50);
    for (let i = 1; i <= 20; i++) await bo.emit(batch('a', 50, i * 50, 1_700_000_000, 100));
    await out.waitFor(21 * 50);
  } finally {
    await bo.stop();
  }
  return out;
}
