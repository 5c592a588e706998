import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import { EventBatch } from '../../../src/core/batch.ts';
import type { Chunk } from '../../../src/core/plugin.ts';
import nullOut from '../../../src/plugins/output/null.ts';
import { instantiate } from '../../../src/testing/context.ts';

const batch = EventBatch.fromEntries('a', [
  { time: new EventTime(1, 0), record: { x: 1 } },
  { time: new EventTime(2, 0), record: { x: 2 } },
]);
const chunk: Chunk = {
  id: 'c',
  keys: { tag: 'a', vars: {} },
  bytes: batch.bytes,
  count: 2,
  entries: () => batch.entries(),
  expand: (s) => s,
};

describe('null output', () => {
  test('accepts and counts every batch and chunk, without decoding', async () => {
    const { plugin, ctx } = instantiate(nullOut, '<match **>\n@type null\n</match>');
    const raw = EventBatch.fromPacked('a', batch.bytes, 2);
    await plugin.process!(raw);
    assert.deepEqual(await plugin.write!(chunk), { status: 'ok' });
    assert.equal(plugin.records, 4);
    assert.equal(plugin.batches, 2);
    assert.equal(ctx.metrics.dropRecords, 4);
  });

  test('never_flush true makes every delivery fail, so buffers retry', async () => {
    const { plugin } = instantiate(nullOut, '<match **>\n@type null\nnever_flush true\n</match>');
    assert.throws(() => plugin.process!(batch), /failed to flush/);
    const r = await plugin.write!(chunk);
    assert.equal(r.status, 'retry');
    assert.equal(plugin.records, 0);
  });

  test('a wrong value is a config error with its line', () => {
    assert.throws(
      () => instantiate(nullOut, '<match **>\n@type null\nnever_flush maybe\n</match>'),
      /test\.conf:3:\d+: parameter 'never_flush': expected true or false/,
    );
  });
});
