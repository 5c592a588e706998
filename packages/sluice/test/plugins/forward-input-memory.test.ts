// in_forward bounds the memory its connections hold for unfinished frames (issue 18, point
// 4): many connections each declaring a big bin32 and sending most of it must not take the
// process past total_partial_size_limit; other clients keep being served; the memory is let
// go when the attackers leave. Everything waits on events (budget changes, socket closes).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { EventTime, encode, encodePackedForward, FrameDecoder, parseAck, unpackr } from '@sluice/forward';
import pino from 'pino';
import type { MemoryBudget } from '../../src/core/memory-budget.ts';
import forwardInput from '../../src/plugins/input/forward/index.ts';
import { instantiate, testContext } from '../../src/testing/context.ts';

const MiB = 1024 * 1024;

function capturedLogger() {
  const lines: { code?: string; msg: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

async function start(body: string) {
  const ctx = testContext({ type: 'forward' });
  const log = capturedLogger();
  ctx.logger = log.logger;
  const { plugin } = instantiate(
    forwardInput,
    `<source>\n@type forward\nbind 127.0.0.1\nport 0\n${body}\n</source>\n`,
    ctx,
  );
  await plugin.start();
  return { input: plugin, ctx, port: plugin.address.port, lines: log.lines };
}

/** Resolves once `done()` holds, checked after every budget change and every `poke()`. */
function waiter(budget: MemoryBudget) {
  const checks = new Set<() => void>();
  const off = budget.onChange(() => {
    for (const c of [...checks]) c();
  });
  return {
    poke: () => {
      for (const c of [...checks]) c();
    },
    until(done: () => boolean, what: () => string, ms = 20_000): Promise<void> {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          checks.delete(check);
          reject(new Error(`timed out waiting: ${what()}`));
        }, ms);
        const check = () => {
          if (!done()) return;
          clearTimeout(t);
          checks.delete(check);
          resolve();
        };
        checks.add(check);
      });
    },
    off,
  };
}

/** `[tag, bin32 of `declared` bytes` ...: the start of a PackedForward frame. */
function frameStart(declared: number): Buffer {
  const h = Buffer.from([0x93, 0xa1, 0x61, 0xc6, 0, 0, 0, 0]);
  h.writeUInt32BE(declared, 4);
  return h;
}

class Client {
  readonly socket: Socket;
  closed = false;
  readonly acks: string[] = [];
  private readonly dec = new FrameDecoder({ maxFrameSize: 1 << 20, expect: 'any' });
  constructor(port: number, onChange: () => void) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      onChange();
    });
    this.socket.on('data', (d: Buffer) => {
      this.dec.push(d);
      for (let f = this.dec.next(); f; f = this.dec.next()) {
        const a = parseAck(unpackr.unpack(f));
        if (a) this.acks.push(a);
      }
      onChange();
    });
  }
}

describe('in_forward memory bound across connections', () => {
  it('many connections each sending most of a huge bin32 stay within total_partial_size_limit; another client is served; all is released when they leave', async () => {
    const LIMIT = 8 * MiB;
    const DECLARED = 3 * MiB;
    const SENT = DECLARED - 64 * 1024;
    const N = 12;
    const s = await start(`total_partial_size_limit ${LIMIT}\nmax_frame_size 4m`);
    const w = waiter(s.input.budget);
    const attackers: Client[] = [];
    try {
      const payload = Buffer.concat([frameStart(DECLARED), Buffer.alloc(SENT, 0x61)]);
      for (let i = 0; i < N; i++) {
        const c = new Client(s.port, w.poke);
        attackers.push(c);
        c.socket.write(payload);
      }
      // Each attacker ends up either closed by the input or with its whole frame's memory
      // counted (reserved once its bin32 header was read; the rest of it is copied in place).
      const holding = () => s.input.budget.sizes().filter((n) => n >= DECLARED).length;
      await w.until(
        () => attackers.filter((c) => c.closed).length + holding() === N,
        () =>
          `closed ${attackers.filter((c) => c.closed).length}, holding ${holding()}, budget ${s.input.budget.used}`,
      );
      assert.ok(s.input.budget.peak <= LIMIT, `peak ${s.input.budget.peak} within ${LIMIT}`);
      assert.ok(holding() >= 1, 'the first attackers are held, not refused');
      assert.ok(
        attackers.some((c) => c.closed),
        'attackers past the bound were closed',
      );
      assert.ok(
        s.lines.some((l) => l.code === 'INPUT_MEMORY_LIMIT' && /total_partial_size_limit/.test(l.msg)),
      );

      // A client sending a frame bigger than what is left is served: the connection holding
      // the most is closed to make room for it.
      const good = new Client(s.port, w.poke);
      const t0 = new EventTime(1700000000, 0);
      const big = Buffer.alloc(2 * MiB, 0x20).toString();
      const entries = Buffer.concat([encode([t0, { big }]), encode([t0, { small: 1 }])]);
      good.socket.write(encodePackedForward('good', entries, { chunk: 'g1', size: 2 }));
      await w.until(
        () => good.acks.includes('g1') || good.closed,
        () => `good client: acks ${good.acks}, closed ${good.closed}`,
      );
      assert.deepEqual(good.acks, ['g1']);
      assert.equal(s.ctx.records().length, 2);
      assert.ok(s.input.budget.peak <= LIMIT, `peak ${s.input.budget.peak} within ${LIMIT}`);
      good.socket.destroy();

      // The attackers leave: the input holds nothing any more.
      for (const c of attackers) c.socket.destroy();
      await w.until(
        () => s.input.budget.used === 0 && s.input.budget.holders === 0,
        () => `budget ${s.input.budget.used} held by ${s.input.budget.holders}`,
      );
    } finally {
      w.off();
      for (const c of attackers) c.socket.destroy();
      await s.input.stop();
    }
  });

  it('drops an unfinished frame that gets no byte for partial_frame_timeout', async () => {
    const s = await start('partial_frame_timeout 0.2');
    const w = waiter(s.input.budget);
    let client: Client | undefined;
    try {
      client = new Client(s.port, w.poke);
      const c = client;
      c.socket.write(Buffer.concat([frameStart(100_000), Buffer.alloc(50_000)]));
      await w.until(
        () => c.closed,
        () => `closed ${c.closed}, budget ${s.input.budget.used}`,
      );
      assert.ok(s.lines.some((l) => l.code === 'FRAME_TIMEOUT' && /partial_frame_timeout/.test(l.msg)));
      assert.equal(s.input.budget.used, 0);
    } finally {
      w.off();
      client?.socket.destroy();
      await s.input.stop();
    }
  });
});
