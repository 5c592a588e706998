import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EventBatch } from '../../src/core/batch.ts';
import { openTarget, targetHost, tempDir } from './helpers.ts';

const lines = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name} ${i}\n`).join('');

// in_tail emits its lines over the memory it read them into and reuses that memory once
// the emit resolved. Two files share one writer: while one file's batch waits for its
// output, the other file is read. The waiting batch must still hold its own lines when
// its emit resolves.
test('in_tail: a batch waiting for its output keeps its lines while other files are read into the same writer', async (t) => {
  const dir = await tempDir(t);
  const per = 2500;
  const paths = ['a', 'b'].map((name) => {
    const p = join(dir, `${name}.log`);
    writeFileSync(p, lines(name, per));
    return p;
  });
  const delivered = new Map<string, string[]>([
    ['a', []],
    ['b', []],
  ]);
  const waiting: (() => void)[] = [];
  const releaseAll = () => {
    for (const r of waiting.splice(0)) r();
  };
  // An output that accepts a batch only once the next one has arrived (or a file is done):
  // every batch is pending while the other file is read.
  const host = targetHost(async (b: EventBatch) => {
    const accepted = new Promise<void>((resolve) => {
      releaseAll();
      waiting.push(resolve);
    });
    await accepted;
    // What an output reads when it accepts: decoded now, before the emit resolves.
    delivered.get(b.tag)!.push(...b.entries().map((e) => e.record.message as string));
  });
  const targets = paths.map((p, i) => openTarget(p, ['a', 'b'][i]!, host));
  t.after(() => {
    for (const x of targets) x.close();
  });
  await Promise.all(targets.map((x) => x.target.kick().then(releaseAll)));

  for (const name of ['a', 'b']) {
    assert.deepEqual(
      delivered.get(name),
      Array.from({ length: per }, (_, i) => `${name} ${i}`),
      `file ${name}: every line once, in order`,
    );
  }
});
