// in_http bounds the memory held by request bodies in flight across all requests (issue 18,
// point 4): many connections each announcing a big body and sending most of it stay within
// total_body_size_limit, another client is served, and everything is let go when they leave.
// Waits on events only (budget changes, socket closes).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { MemoryBudget } from '../../../src/core/memory-budget.ts';
import httpInput from '../../../src/plugins/input/http/index.ts';
import { instantiate, testContext } from '../../../src/testing/context.ts';
import { json } from './http-helpers.ts';

const MiB = 1024 * 1024;

async function start(body: string) {
  const ctx = testContext({ type: 'http' });
  const lines: { code?: string; msg: string }[] = [];
  ctx.logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const { plugin } = instantiate(
    httpInput,
    `<source>\n@type http\nport 0\nbind 127.0.0.1\n${body}\n</source>\n`,
    ctx,
  );
  await plugin.start();
  return { input: plugin, ctx, port: plugin.receiver.port, budget: plugin.receiver.budget, lines };
}

function waiter(budget: MemoryBudget) {
  const checks = new Set<() => void>();
  const poke = () => {
    for (const c of [...checks]) c();
  };
  const off = budget.onChange(poke);
  return {
    poke,
    off,
    until(done: () => boolean, what: () => string, ms = 20_000): Promise<void> {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done()) return;
          clearTimeout(t);
          checks.delete(check);
          resolve();
        };
        const t = setTimeout(() => {
          checks.delete(check);
          reject(new Error(`timed out waiting: ${what()}`));
        }, ms);
        checks.add(check);
      });
    },
  };
}

/** A raw client that announces `declared` bytes of body and sends `sent` of them. */
class Attacker {
  readonly socket: Socket;
  closed = false;
  constructor(port: number, declared: number, sent: number, onClose: () => void) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.resume(); // read the answer, so the end of a refused connection is seen
    this.socket.on('close', () => {
      this.closed = true;
      onClose();
    });
    this.socket.write(
      `POST /attack HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    this.socket.write(Buffer.alloc(sent, 0x20));
  }
}

describe('in_http memory bound across requests', () => {
  it('many requests each sending most of a big body stay within total_body_size_limit; another client is served; all is released when they leave', async () => {
    const LIMIT = 8 * MiB;
    const DECLARED = 3 * MiB;
    const SENT = DECLARED - 64 * 1024;
    const N = 12;
    const s = await start(`total_body_size_limit ${LIMIT}\nbody_size_limit 4m`);
    const w = waiter(s.budget);
    const attackers: Attacker[] = [];
    try {
      for (let i = 0; i < N; i++) attackers.push(new Attacker(s.port, DECLARED, SENT, w.poke));
      // Each attacker ends up closed or with all it sent counted.
      const holding = () => s.budget.sizes().filter((n) => n >= SENT).length;
      await w.until(
        () => attackers.filter((a) => a.closed).length + holding() === N,
        () =>
          `closed ${attackers.filter((a) => a.closed).length}, holding ${holding()}, budget ${JSON.stringify(s.budget.sizes())}`,
      );
      assert.ok(s.budget.peak <= LIMIT, `peak ${s.budget.peak} within ${LIMIT}`);
      assert.ok(holding() >= 1, 'the first bodies are held');
      assert.ok(
        attackers.some((a) => a.closed),
        'bodies past the bound were refused',
      );
      assert.ok(s.lines.some((l) => l.code === 'INPUT_MEMORY_LIMIT' && /total_body_size_limit/.test(l.msg)));

      // A client with a 2 MiB body is served: the requests holding more make room.
      const answer = await json(s.port, '/good', { big: 'x'.repeat(2 * MiB) });
      assert.equal(answer.status, 200);
      assert.equal(s.ctx.records().length, 1);
      assert.ok(s.budget.peak <= LIMIT, `peak ${s.budget.peak} within ${LIMIT}`);

      for (const a of attackers) a.socket.destroy();
      await w.until(
        () => s.budget.used === 0 && s.budget.holders === 0,
        () => `budget ${s.budget.used} held by ${s.budget.holders}`,
      );
    } finally {
      w.off();
      for (const a of attackers) a.socket.destroy();
      await s.input.stop();
    }
  });

  it('a body bigger than what is left, with no larger request to close, gets 503 INPUT_MEMORY_LIMIT', async () => {
    const s = await start(`total_body_size_limit 1m\nbody_size_limit 4m`);
    try {
      const a = await json(s.port, '/big', { big: 'x'.repeat(2 * MiB) });
      assert.equal(a.status, 503);
      assert.equal(a.headers['retry-after'], '1');
      assert.match(a.text, /INPUT_MEMORY_LIMIT/);
      assert.equal(s.budget.used, 0);
      assert.equal((await json(s.port, '/small', { ok: 1 })).status, 200);
    } finally {
      await s.input.stop();
    }
  });

  it('closes a request whose body gets no byte for body_timeout', async () => {
    const s = await start('body_timeout 0.2');
    const w = waiter(s.budget);
    let a: Attacker | undefined;
    try {
      a = new Attacker(s.port, 100_000, 50_000, w.poke);
      const c = a;
      await w.until(
        () => c.closed,
        () => `closed ${c.closed}`,
      );
      assert.ok(s.lines.some((l) => l.code === 'BODY_TIMEOUT' && /body_timeout/.test(l.msg)));
      assert.equal(s.budget.used, 0);
    } finally {
      w.off();
      a?.socket.destroy();
      await s.input.stop();
    }
  });
});
