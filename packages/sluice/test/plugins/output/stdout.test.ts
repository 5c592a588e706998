import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import type { ConfigElement } from '../../../src/config/ast.ts';
import { parseConfigText } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import { EventBatch } from '../../../src/core/batch.ts';
import type { Chunk, OutputPlugin } from '../../../src/core/plugin.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import formatterStdout, { defaultTimeFormatter } from '../../../src/plugins/formatter/stdout.ts';
import stdout, { createStdoutOutput } from '../../../src/plugins/output/stdout.ts';
import { testContext } from '../../../src/testing/context.ts';
import { compileStrftime } from '../../../src/time/time-format.ts';

/** A stream recording each write() call, so "one write per batch" can be checked. */
class Capture extends Writable {
  writes: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.writes.push(chunk.toString('utf8'));
    cb();
  }
}

async function build(snippet: string): Promise<{ out: OutputPlugin; sink: Capture }> {
  // Nested formatters are created synchronously: load them first, as the engine does.
  await loadPlugin('formatter', 'stdout');
  const el = parseConfigText(snippet, { file: 'test.conf' }).elements[0]!;
  const sink = new Capture();
  const out = createStdoutOutput(resolve(stdout.schema, el, '<match> @type stdout'), testContext(), sink);
  return { out, sink };
}

const t = new EventTime(1682675863, 291989606);
/** What Fluentd prints for `t`, computed with Date (the process's time zone). */
const header = compileStrftime('%Y-%m-%d %H:%M:%S.%N %z')(t);

describe('stdout output', () => {
  test("prints Fluentd's line format, one write per batch", async () => {
    const { out, sink } = await build('<match **>\n@type stdout\n</match>');
    const batch = EventBatch.fromEntries('app.log', [
      { time: t, record: { message: 'hello', n: 1 } },
      { time: new EventTime(1682675864, 5), record: { nested: { a: [1, 'x'] } } },
    ]);
    await out.process!(batch);
    assert.equal(sink.writes.length, 1);
    const lines = sink.writes[0]!.split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    assert.equal(lines[0], `${header} app.log: {"message":"hello","n":1}`);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.291989606 [+-]\d{4} app\.log: /);
    assert.match(lines[1]!, /:\d\d\.000000005 [+-]\d{4} app\.log: \{"nested":\{"a":\[1,"x"\]\}\}$/);
  });

  test('the header uses the local time zone offset (TZ), as Ruby Time#localtime', () => {
    const fmt = defaultTimeFormatter();
    const d = new Date(t.sec * 1000);
    const off = -d.getTimezoneOffset();
    const sign = off < 0 ? '-' : '+';
    const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
    const mm = String(Math.abs(off) % 60).padStart(2, '0');
    assert.ok(fmt(t).endsWith(`.291989606 ${sign}${hh}${mm}`));
    assert.equal(fmt(t), header);
    // A second in another day still formats correctly after the per-second cache.
    assert.equal(fmt(new EventTime(0, 1)), compileStrftime('%Y-%m-%d %H:%M:%S.%N %z')(new EventTime(0, 1)));
  });

  test('<format> time_format', async () => {
    const custom = await build(
      '<match **>\n@type stdout\n<format>\n@type stdout\ntime_format %Y\n</format>\n</match>',
    );
    await custom.out.process!(EventBatch.single('a', t, { x: 1 }));
    assert.equal(custom.sink.writes[0], `${compileStrftime('%Y')(t)} a: {"x":1}\n`);
  });

  test('output_type (legacy top-level or in <format>) renders the record with that formatter', async () => {
    for (const snippet of [
      '<match **>\n@type stdout\noutput_type hash\n</match>',
      '<match **>\n@type stdout\n<format>\n@type stdout\noutput_type hash\n</format>\n</match>',
    ]) {
      const ctx = testContext();
      const seen: string[] = [];
      ctx.createNested = <T>(kind: string, el: ConfigElement, def?: string): T => {
        const type = el.params.findLast((p) => p.key === '@type')?.value ?? def;
        seen.push(`${kind}:${type}:${el.params.map((p) => p.key).join(',')}`);
        if (type === 'stdout')
          return formatterStdout.create(resolve(formatterStdout.schema, el, 'format'), ctx) as T;
        // A stand-in for the hash formatter, ending with a newline that must be chomped.
        return {
          format: (_tag: string, _t: EventTime, r: Record<string, unknown>) =>
            `HASH ${Object.keys(r).join('|')}\n`,
        } as T;
      };
      const el = parseConfigText(snippet, { file: 'test.conf' }).elements[0]!;
      const sink = new Capture();
      const out = createStdoutOutput(resolve(stdout.schema, el, 'x'), ctx, sink);
      await out.process!(EventBatch.single('a.b', t, { x: 1, y: 2 }));
      assert.equal(sink.writes[0], `${header} a.b: HASH x|y\n`);
      // The sub-formatter gets its own @type and never sees output_type (it would reject it).
      assert.equal(seen[1], 'formatter:hash:@type');
    }
  });

  test('buffered write() formats the chunk with its tag key', async () => {
    const { out, sink } = await build('<match **>\n@type stdout\n</match>');
    const batch = EventBatch.fromEntries('k.v', [{ time: t, record: { a: 1 } }]);
    const chunk: Chunk = {
      id: 'c1',
      keys: { tag: 'k.v', vars: {} },
      bytes: batch.bytes,
      count: 1,
      entries: () => batch.entries(),
      expand: (s) => s,
    };
    assert.deepEqual(await out.write!(chunk), { status: 'ok' });
    assert.equal(sink.writes[0], `${header} k.v: {"a":1}\n`);
  });

  test('a failing stream rejects process() and makes write() ask for a retry', async () => {
    await loadPlugin('formatter', 'stdout');
    const el = parseConfigText('<match **>\n@type stdout\n</match>', { file: 'test.conf' }).elements[0]!;
    const broken = new Writable({ write: (_c, _e, cb) => cb(new Error('EPIPE')) });
    broken.on('error', () => {});
    const out = createStdoutOutput(resolve(stdout.schema, el, 'x'), testContext(), broken);
    await assert.rejects(Promise.resolve(out.process!(EventBatch.single('a', t, { x: 1 }))), /EPIPE/);
  });

  test('unknown parameters are a config error naming the closest one', async () => {
    await assert.rejects(
      build('<match **>\n@type stdout\nuse_loger false\n</match>'),
      /test\.conf:3:\d+: .*did you mean 'use_logger'/,
    );
  });

  test('the descriptor is an optional-buffered output defaulting to tag chunks', () => {
    assert.equal(stdout.buffered, 'optional');
    assert.deepEqual(stdout.bufferDefaults?.chunkKeys, ['tag']);
    assert.equal(formatterStdout.kind, 'formatter');
  });
});
