import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { ConfigElement } from '../../../src/config/ast.ts';
import { StdinInput, stdinEvents } from '../../../src/plugins/input/stdin.ts';
import type { TailOptions } from '../../../src/plugins/input/tail/config.ts';
import { buildParsing } from '../../../src/shared/lines/parsing.ts';
import { testContext } from '../../../src/testing/context.ts';

const loc = { file: 't', line: 1, column: 1 };
function input(ctx: ReturnType<typeof testContext>, stream: PassThrough, type = 'none', limit = 1000) {
  const parse: ConfigElement = {
    name: 'parse',
    arg: '',
    params: [{ key: '@type', value: type, location: loc }],
    elements: [],
    location: loc,
  };
  const parsing = buildParsing({ parse, emitUnmatchedLines: false } as unknown as TailOptions, ctx);
  return new StdinInput(ctx, 'in.stdin', parsing, limit, () => stream);
}

const ended = () => new Promise<number>((r) => stdinEvents.once('end', r));

describe('stdin input', () => {
  it('lines cut across reads, CRLF, and a last line without newline are whole records', async () => {
    const ctx = testContext();
    const s = new PassThrough();
    const inp = input(ctx, s);
    await inp.start();
    const done = ended();
    s.write('first li');
    s.write('ne\r\nsecond\nthi');
    s.end('rd');
    assert.equal(await done, 3);
    assert.deepEqual(ctx.records(), [{ message: 'first line' }, { message: 'second' }, { message: 'third' }]);
    assert.ok(ctx.emitted.every((b) => b.tag === 'in.stdin'));
  });

  it('a batch holds at most read_lines_limit lines; json lines become records', async () => {
    const ctx = testContext();
    const s = new PassThrough();
    const inp = input(ctx, s, 'json', 2);
    await inp.start();
    const done = ended();
    s.end('{"a":1}\n{"a":2}\n{"a":3}\n');
    await done;
    assert.deepEqual(ctx.records(), [{ a: 1 }, { a: 2 }, { a: 3 }]);
    assert.deepEqual(
      ctx.emitted.map((b) => b.count),
      [2, 1],
    );
  });

  it('stops reading while a batch waits for the outputs, and retries a refused batch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let refusals = 1;
    const ctx = testContext({
      onEmit: async () => {
        if (refusals-- > 0) throw new Error('buffer full');
        await gate;
      },
    });
    const s = new PassThrough();
    const inp = input(ctx, s);
    await inp.start();
    const done = ended();
    s.write('a\n');
    // refused once (retried after 1 s), then held at the gate: the stream is paused meanwhile
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (s.isPaused()) {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    s.end('b\n');
    release();
    await done;
    assert.deepEqual(ctx.records(), [{ message: 'a' }, { message: 'b' }]);
  });
});
