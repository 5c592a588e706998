import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBatch, EventRecord } from '../../src/core/batch.ts';
import { BatchBuilder, strBytes } from '../../src/core/batch-builder.ts';
import type { InputPlugin } from '../../src/core/plugin.ts';
import { loadPlugin } from '../../src/engine/registry.ts';
import tail from '../../src/plugins/input/tail/index.ts';
import { TailFile } from '../../src/plugins/input/tail/tail-file.ts';
import { Target, type TargetHost } from '../../src/plugins/input/tail/target.ts';
import { NoneEncoder } from '../../src/shared/lines/line-encoder.ts';
import { instantiate, type TestContext, testContext } from '../../src/testing/context.ts';

export async function tempDir(t: { after(fn: () => Promise<void> | void): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export { waitUntil as until } from '../helpers/wait.ts';

export interface Running {
  plugin: InputPlugin;
  ctx: TestContext;
  records(): EventRecord[];
  messages(): string[];
  stop(): Promise<void>;
}

/** Builds and starts a tail input from the body of a <source> (without the tags). */
export async function startTail(
  body: string,
  opts: {
    onEmit?: (b: EventBatch) => Promise<void> | void;
    t?: { after(fn: () => Promise<void>): void };
  } = {},
): Promise<Running> {
  for (const p of ['none', 'json', 'regexp']) await loadPlugin('parser', p);
  const ctx = testContext({ type: 'tail', onEmit: opts.onEmit });
  const { plugin } = instantiate(tail, `<source>\n@type tail\n${body}\n</source>\n`, ctx);
  await plugin.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await plugin.stop();
  };
  opts.t?.after(stop);
  return {
    plugin,
    ctx,
    records: () => ctx.records(),
    messages: () => ctx.records().map((r) => r.message as string),
    stop,
  };
}

/** A target host for tests of the read loop: limits of a default in_tail, the given emit and hint. */
export function targetHost(
  emit: TargetHost['emit'],
  caughtUp: TargetHost['caughtUp'] = () => {},
): TargetHost {
  return {
    writer: new BatchBuilder(),
    stopping: false,
    readLinesLimit: 1000,
    maxLineSize: undefined,
    bytesPerSecond: undefined,
    rotateWaitMs: 5000,
    multilineFlushMs: undefined,
    emit,
    caughtUp,
    sleep: async () => {},
    kickLater: () => {},
    released: () => {},
    warn: (msg) => assert.fail(msg),
  };
}

/** A tail target over one real file (read from its start as plain lines), for tests of the read loop itself. */
export function openTarget(path: string, tag: string, host: TargetHost): { target: Target; close(): void } {
  const encoder = new NoneEncoder('message', {
    emitUnmatchedLines: true,
    unmatched: () => assert.fail('no line is unmatched'),
    warn: (msg) => assert.fail(msg),
  });
  const file = new TailFile(
    path,
    BigInt(statSync(path).ino),
    0,
    { path, tag, pathStr: strBytes(path) },
    encoder,
    Buffer.from('\n'),
    undefined,
    { openOnEveryUpdate: false, warn: (msg) => assert.fail(msg) },
  );
  assert.ok(file.open());
  const target = new Target(path, path, tag, host, undefined);
  target.files.push(file);
  return { target, close: () => file.release() };
}
