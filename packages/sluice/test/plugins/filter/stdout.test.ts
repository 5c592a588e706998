import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import { parseConfigText } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import { EventBatch } from '../../../src/core/batch.ts';
import type { FormatterPlugin } from '../../../src/core/plugin.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import stdoutFilter, { createStdoutFilter } from '../../../src/plugins/filter/stdout.ts';
import { testContext } from '../../../src/testing/context.ts';
import { compileStrftime } from '../../../src/time/time-format.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString('utf8');
    cb();
  }
}

const t = new EventTime(1682675863, 291989606);

describe('stdout filter', () => {
  test('prints every event in the stdout line format and passes the batch on unchanged', async () => {
    await loadPlugin('formatter', 'stdout');
    const el = parseConfigText('<filter **>\n@type stdout\n</filter>', { file: 'test.conf' }).elements[0]!;
    const sink = new Capture();
    const f = createStdoutFilter(resolve(stdoutFilter.schema, el, 'x'), testContext(), sink);
    const batch = EventBatch.fromEntries('web', [
      { time: t, record: { a: 1 } },
      { time: t, record: { b: 'two' } },
    ]);
    assert.equal(await f.filter(batch), batch);
    const h = compileStrftime('%Y-%m-%d %H:%M:%S.%N %z')(t);
    assert.equal(sink.text, `${h} web: {"a":1}\n${h} web: {"b":"two"}\n`);
  });

  test('an event the formatter cannot render goes to @ERROR and still passes', async () => {
    const ctx = testContext();
    ctx.createNested = <T>() =>
      ({
        format: (_t: string, _tm: EventTime, r: Record<string, unknown>) => {
          if (r.bad) throw new Error('cannot format');
          return `ok ${JSON.stringify(r)}\n`;
        },
      }) as FormatterPlugin as T;
    const el = parseConfigText('<filter **>\n@type stdout\n</filter>', { file: 'test.conf' }).elements[0]!;
    const sink = new Capture();
    const f = createStdoutFilter(resolve(stdoutFilter.schema, el, 'x'), ctx, sink);
    const batch = EventBatch.fromEntries('web', [
      { time: t, record: { bad: true } },
      { time: t, record: { good: 1 } },
    ]);
    assert.equal(await f.filter(batch), batch);
    assert.equal(sink.text, 'ok {"good":1}\n');
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!.error.message, /cannot format/);
  });
});
