import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  EventTime,
  encode,
  encodeMessage,
  encodePackedForward,
  FrameDecoder,
  parseAck,
  unpackr,
} from '@sluice/forward';
import forwardInput from '../../src/plugins/input/forward/index.ts';
import { instantiate, testContext } from '../../src/testing/context.ts';
import { Counter, startInput } from './forward-helpers.ts';

const t0 = new EventTime(1700000000, 5);

/** A raw TCP client that collects every msgpack value the server sends back. */
class RawClient {
  readonly socket: Socket;
  readonly replies: unknown[] = [];
  readonly closed: Promise<void>;
  private readonly dec = new FrameDecoder({ maxFrameSize: 1 << 20, expect: 'any' });
  private waiters: (() => void)[] = [];
  constructor(port: number | string) {
    this.socket = typeof port === 'string' ? connect(port) : connect(port, '127.0.0.1');
    this.socket.on('data', (d) => {
      this.dec.push(d);
      for (let f = this.dec.next(); f; f = this.dec.next()) this.replies.push(unpackr.unpack(f));
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
  }
  async reply(n: number, ms = 5000): Promise<unknown> {
    const t = Date.now();
    while (this.replies.length < n) {
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no reply ${n} within ${ms}ms`)), ms - (Date.now() - t));
        const done = () => {
          clearTimeout(timer);
          res();
        };
        this.waiters.push(done);
        this.closed.then(done);
      });
      if (this.socket.destroyed && this.replies.length < n)
        throw new Error('connection closed before the reply');
    }
    return this.replies[n - 1];
  }
}

describe('forward input behaviour', () => {
  it('acks only after emit resolved, and stops reading while it waits', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let emits = 0;
    const s = await startInput('', async () => {
      emits++;
      await gate;
    });
    const c = new RawClient(s.port);
    try {
      c.socket.write(encodeMessage('a', t0, { n: 1 }, { chunk: 'c1' }));
      await new Promise<void>((r) => {
        const check = () => (emits > 0 ? r() : setImmediate(check));
        check();
      });
      // A second frame arrives while the first emit waits: it must not be emitted yet.
      c.socket.write(encodeMessage('a', t0, { n: 2 }, { chunk: 'c2' }));
      await new Promise((r) => setImmediate(r));
      assert.equal(c.replies.length, 0, 'no ack before the emit resolved');
      assert.equal(emits, 1, 'the second frame waits for the first');
      assert.deepEqual(
        s.input.connectionStats().map((c) => c.paused),
        [true],
        'the socket is paused while its emit waits',
      );
      release();
      assert.equal(parseAck(await c.reply(1)), 'c1');
      assert.equal(parseAck(await c.reply(2)), 'c2');
      await s.counter.waitFor(2);
      assert.deepEqual(s.ctx.records(), [{ n: 1 }, { n: 2 }]);
    } finally {
      c.socket.destroy();
      await s.stop();
    }
  });

  it('a refused emit is not acked and closes only that connection', async () => {
    const s = await startInput('', (b) => {
      if (b.tag === 'refuse') throw new Error('buffer full');
    });
    const bad = new RawClient(s.port);
    const good = new RawClient(s.port);
    try {
      bad.socket.write(encodeMessage('refuse', t0, { n: 1 }, { chunk: 'x' }));
      await bad.closed;
      assert.equal(bad.replies.length, 0);
      good.socket.write(encodeMessage('ok', t0, { n: 2 }, { chunk: 'y' }));
      assert.equal(parseAck(await good.reply(1)), 'y');
    } finally {
      good.socket.destroy();
      await s.stop();
    }
  });

  it('add_tag_prefix, source_address_key, source_hostname_key', async () => {
    const s = await startInput(
      'add_tag_prefix relay\nsource_address_key src_ip\nsource_hostname_key src_host\nresolve_hostname false',
    );
    const c = new RawClient(s.port);
    try {
      c.socket.write(
        encodePackedForward('app', Buffer.concat([encode([t0, { a: 1 }]), encode([t0, { a: 2 }])]), {
          size: 2,
          chunk: 'k',
        }),
      );
      await c.reply(1);
      assert.equal(s.ctx.emitted[0]!.tag, 'relay.app');
      assert.deepEqual(s.ctx.records(), [
        { a: 1, src_ip: '127.0.0.1', src_host: '127.0.0.1' },
        { a: 2, src_ip: '127.0.0.1', src_host: '127.0.0.1' },
      ]);
    } finally {
      c.socket.destroy();
      await s.stop();
    }
  });

  it('skip_invalid_event keeps the good entries; without it the frame is refused', async () => {
    const frame = encodePackedForward(
      't',
      Buffer.concat([encode([t0, { ok: 1 }]), encode([t0, 'bad']), encode([t0, { ok: 2 }])]),
      { chunk: 'k' },
    );
    const skip = await startInput('skip_invalid_event true');
    const strict = await startInput('');
    const a = new RawClient(skip.port);
    const b = new RawClient(strict.port);
    try {
      a.socket.write(frame);
      await a.reply(1);
      assert.deepEqual(skip.ctx.records(), [{ ok: 1 }, { ok: 2 }]);
      b.socket.write(frame);
      await b.closed;
      assert.equal(strict.ctx.emitted.length, 0);
      assert.equal(strict.ctx.metrics.protocolErrors, 1);
    } finally {
      a.socket.destroy();
      await skip.stop();
      await strict.stop();
    }
  });

  it('deny_keepalive closes after the first message and its ack', async () => {
    const s = await startInput('deny_keepalive true');
    const c = new RawClient(s.port);
    try {
      c.socket.write(encodeMessage('a', t0, { n: 1 }, { chunk: 'only' }));
      assert.equal(parseAck(await c.reply(1)), 'only');
      await c.closed;
    } finally {
      await s.stop();
    }
  });

  it('deny_keepalive with <security>: the handshake does not close the connection, the first message does', async () => {
    const s = await startInput(
      'deny_keepalive true\n<security>\nself_hostname srv\nshared_key k\n</security>',
    );
    const c = new RawClient(s.port);
    try {
      const { makePing, encodePing, parseHelo } = await import('@sluice/forward');
      const helo = parseHelo(await c.reply(1));
      assert.equal(helo.keepalive, false);
      c.socket.write(encodePing(makePing(helo, { hostname: 'cli', sharedKey: 'k' })));
      assert.equal(((await c.reply(2)) as unknown[])[1], true);
      c.socket.write(encodeMessage('a', t0, { n: 1 }, { chunk: 'first' }));
      assert.equal(parseAck(await c.reply(3)), 'first');
      await c.closed;
      assert.deepEqual(s.ctx.records(), [{ n: 1 }]);
    } finally {
      await s.stop();
    }
  });

  it('chunk_size_limit refuses a larger frame and closes that connection', async () => {
    const s = await startInput('chunk_size_limit 1k');
    const c = new RawClient(s.port);
    try {
      c.socket.write(encodeMessage('a', t0, { big: 'x'.repeat(5000) }, { chunk: 'k' }));
      await c.closed;
      assert.equal(s.ctx.emitted.length, 0);
    } finally {
      await s.stop();
    }
  });

  it('answers UDP heartbeats on the same port with one zero byte', async () => {
    const s = await startInput('');
    const udp = createSocket('udp4');
    try {
      const reply = new Promise<Buffer>((r) => udp.once('message', r));
      udp.send(Buffer.from([0]), s.port, '127.0.0.1');
      assert.deepEqual(await reply, Buffer.from([0]));
    } finally {
      udp.close();
      await s.stop();
    }
  });

  it('<client> rules: an unlisted source is denied when allow_anonymous_source is false', async () => {
    const s = await startInput(
      '<security>\nself_hostname srv\nshared_key k\nallow_anonymous_source false\n<client>\nnetwork 10.0.0.0/8\n</client>\n</security>',
    );
    const c = new RawClient(s.port);
    try {
      const helo = (await c.reply(1)) as [string, { nonce: Buffer }];
      assert.equal(helo[0], 'HELO');
      const { makePing, encodePing, parseHelo } = await import('@sluice/forward');
      c.socket.write(encodePing(makePing(parseHelo(helo), { hostname: 'cli', sharedKey: 'k' })));
      const pong = (await c.reply(2)) as unknown[];
      assert.equal(pong[0], 'PONG');
      assert.equal(pong[1], false);
      assert.match(String(pong[2]), /anonymous source host '127.0.0.1' denied/);
      await c.closed;
    } finally {
      await s.stop();
    }
  });

  it('listens on a unix socket (in_unix)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-unix-'));
    const path = join(dir, 'fluent.sock');
    const counter = new Counter();
    const ctx = testContext({ type: 'unix', onEmit: (b) => queueMicrotask(() => counter.add(b.count)) });
    const { plugin } = instantiate(forwardInput, `<source>\n@type unix\npath ${path}\n</source>`, ctx);
    await plugin.start();
    const c = new RawClient(path);
    try {
      c.socket.write(encodeMessage('u', t0, { via: 'unix' }, { chunk: 'k' }));
      assert.equal(parseAck(await c.reply(1)), 'k');
      assert.deepEqual(ctx.records(), [{ via: 'unix' }]);
    } finally {
      c.socket.destroy();
      await plugin.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('forward input under hostile input', () => {
  it('keeps serving a well-behaved client through garbage, truncation, wrong types, huge declared sizes and a connection flood', async () => {
    const s = await startInput('chunk_size_limit 1m');
    const good = new RawClient(s.port);
    const heapBefore = process.memoryUsage().heapUsed;
    let acked = 0;
    const hostile = async (payload: Buffer, end = true) => {
      const h = new RawClient(s.port);
      await new Promise<void>((r) => h.socket.once('connect', () => r()));
      h.socket.write(payload);
      if (end) h.socket.end();
      return h;
    };
    try {
      const rand = (n: number, seed: number) => {
        const b = Buffer.allocUnsafe(n);
        let x = seed;
        for (let i = 0; i < n; i++) {
          x = (x * 1103515245 + 12345) >>> 0;
          b[i] = x >>> 24;
        }
        return b;
      };
      const attacks: Buffer[] = [
        ...Array.from({ length: 20 }, (_, i) => rand(200 + i * 37, i + 1)),
        encodeMessage('t', t0, { a: 1 }).subarray(0, 7), // truncated
        encode([42, t0, {}]), // tag not a string
        encode(['t', 'not-a-time', {}, {}]), // wrong types
        encode(['t', [[t0, 'record-not-map']]]),
        Buffer.from([0x93, 0xa1, 0x74, 0xc6, 0xff, 0xff, 0xff, 0xf0]), // bin32 of ~4 GiB declared
        Buffer.from([0x92, 0xa1, 0x74, 0xdd, 0xff, 0xff, 0xff, 0xff]), // array32 of 4G elements declared
        Buffer.from('{"json": true}'),
      ];
      const open: RawClient[] = [];
      for (let round = 0; round < 10; round++) {
        // The good client sends and is acked between every wave of attacks.
        good.socket.write(encodeMessage('good', t0, { round }, { chunk: `r${round}` }));
        assert.equal(parseAck(await good.reply(++acked)), `r${round}`);
        for (const a of attacks) open.push(await hostile(a));
        // A flood of tiny connections that send one byte and stay open.
        for (let i = 0; i < 30; i++) open.push(await hostile(Buffer.from([0x93]), false));
      }
      await Promise.all(open.filter((h) => !h.socket.writableEnded).map(async (h) => h.socket.destroy()));
      await s.counter.waitFor(10);
      assert.deepEqual(
        s.ctx.records().map((r) => r.round),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
      assert.ok(
        (s.ctx.metrics.protocolErrors as number) >= 10 * 7,
        `protocol errors counted: ${s.ctx.metrics.protocolErrors}`,
      );
      global.gc?.();
      const grown = process.memoryUsage().heapUsed - heapBefore;
      assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`);
    } finally {
      good.socket.destroy();
      await s.stop();
    }
  });
});
