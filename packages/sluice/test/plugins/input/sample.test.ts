import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventBatch } from '../../../src/core/batch.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { canonicalType } from '../../../src/engine/registry.ts';
import sample from '../../../src/plugins/input/sample.ts';
import { instantiate, testContext } from '../../../src/testing/context.ts';

/** A context whose emit calls `onEmit`, and a way to wait until a condition holds (checked every loop turn, bounded). */
function harness(onEmit?: (b: EventBatch, n: number) => Promise<void> | void) {
  let n = 0;
  const ctx = testContext({
    onEmit: async (b) => {
      n++;
      await onEmit?.(b, n);
    },
  });
  const until = (cond: () => boolean, what: string, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else setImmediate(check);
      };
      check();
    });
  return { ctx, until };
}

describe('sample input', () => {
  test('emits batches of `size` events cycling through the samples, with auto_increment_key', async () => {
    const { ctx, until } = harness();
    const { plugin } = instantiate(
      sample,
      `<source>\n@type sample\ntag app.sample\nsize 3\nrate 1000\nauto_increment_key seq\nsample [{"m":"a"},{"m":"b","seq":"x"}]\n</source>`,
      ctx,
    );
    await plugin.start();
    await until(() => ctx.emitted.length >= 3, '3 batches');
    await plugin.stop();
    const first = ctx.emitted.slice(0, 3);
    assert.ok(first.every((b) => b.tag === 'app.sample' && b.count === 3));
    const recs = first.flatMap((b) => b.entries().map((e) => e.record));
    assert.deepEqual(recs.slice(0, 5), [
      { m: 'a', seq: 0 },
      { m: 'b', seq: 1 },
      { m: 'a', seq: 2 },
      { m: 'b', seq: 3 },
      { m: 'a', seq: 4 },
    ]);
    const times = first.flatMap((b) => b.entries().map((e) => e.time.toFloat()));
    assert.ok(
      times.every((tm) => Math.abs(tm - Date.now() / 1000) < 60),
      'event times are now',
    );
  });

  test('defaults to {"message":"sample"}; the legacy `dummy` parameter and type alias work', async () => {
    assert.equal(canonicalType('input', 'dummy'), 'sample');
    const { ctx, until } = harness();
    const { plugin } = instantiate(sample, '<source>\n@type dummy\ntag t\n</source>', ctx);
    await plugin.start();
    // rate 1: the first event is emitted at once, not after a second.
    await until(() => ctx.emitted.length >= 1, 'first event');
    await plugin.stop();
    assert.deepEqual(ctx.records()[0], { message: 'sample' });
    const h2 = harness();
    const p2 = instantiate(
      sample,
      '<source>\n@type dummy\ntag t\nrate 100\ndummy {"legacy":true}\n</source>',
      h2.ctx,
    ).plugin;
    await p2.start();
    await h2.until(() => h2.ctx.emitted.length >= 1, 'first event');
    await p2.stop();
    assert.deepEqual(h2.ctx.records()[0], { legacy: true });
  });

  test('never has more than one emit in flight (backpressure)', async () => {
    let inFlight = 0;
    let max = 0;
    const { ctx, until } = harness(async () => {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
    });
    const { plugin } = instantiate(sample, '<source>\n@type sample\ntag t\nrate 100000\n</source>', ctx);
    await plugin.start();
    await until(() => ctx.emitted.length >= 200, '200 emits');
    await plugin.stop();
    assert.equal(max, 1);
  });

  test('a refused emit does not stop the generator', async () => {
    const { ctx, until } = harness((_b, n) => {
      if (n <= 3) throw new Error('buffer full');
    });
    const { plugin } = instantiate(sample, '<source>\n@type sample\ntag t\nrate 10000\n</source>', ctx);
    await plugin.start();
    await until(() => ctx.emitted.length >= 5, 'emits after the failures');
    await plugin.stop();
  });

  test('stop() and an aborted signal end emitting for good', async () => {
    let stopped = false;
    let late = 0;
    const { ctx, until } = harness(() => {
      if (stopped) late++;
    });
    const { plugin } = instantiate(
      sample,
      '<source>\n@type sample\ntag t\nrate 100000\nsize 10\n</source>',
      ctx,
    );
    await plugin.start();
    await until(() => ctx.emitted.length >= 10, '10 emits');
    await plugin.stop();
    stopped = true;
    const count = ctx.emitted.length;
    await new Promise((r) => setImmediate(r));
    assert.equal(late, 0);
    assert.equal(ctx.emitted.length, count);

    const h = harness();
    const p = instantiate(sample, '<source>\n@type sample\ntag t\nrate 100000\n</source>', h.ctx).plugin;
    await p.start();
    await h.until(() => h.ctx.emitted.length >= 5, '5 emits');
    h.ctx.abort();
    await p.stop();
    const after = h.ctx.emitted.length;
    await new Promise((r) => setImmediate(r));
    assert.equal(h.ctx.emitted.length, after);
  });

  test('bad configuration is a ConfigError with the line', () => {
    const cases: [string, RegExp][] = [
      ['sample nope', /test\.conf:4:\d+: parameter 'sample': invalid JSON/],
      ['sample [{"a":1}, 2]', /element 1 \(2\) is not a hash/],
      ['sample []', /the array is empty/],
      ['rate 0', /parameter 'rate' must be at least 1/],
      ['size -1', /parameter 'size' must be at least 1/],
      ['rate fast', /expected an integer/],
    ];
    for (const [line, re] of cases) {
      assert.throws(
        () => instantiate(sample, `<source>\n@type sample\ntag t\n${line}\n</source>`),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
        line,
      );
    }
    assert.throws(
      () => instantiate(sample, '<source>\n@type sample\n</source>'),
      /missing required parameter 'tag'/,
    );
  });
});
