// Replays what a real Fluent Bit 4.2.8 sent and answered (test/fixtures/fluent-bit/*.hex,
// captured through a TCP proxy; the procedure is in docs/forward-protocol.md) against real
// Sluice sockets on 127.0.0.1, and checks Sluice's side byte for byte where the protocol
// fixes it: acks, HELO, PONG, PING. Nonces and salts are random on a live run, so the test
// makes Sluice draw the recorded ones (setHandshakeRandom); digests are also recomputed
// from the recorded bytes with the known keys.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decodeHandshake, encodeAck, FrameDecoder, setHandshakeRandom, unpackr } from '@sluice/forward';
import pino from 'pino';
import { decodeEntries } from '../../src/core/batch.ts';
import type { Chunk } from '../../src/core/plugin.ts';
import forwardInput from '../../src/plugins/input/forward.ts';
import forwardOutput from '../../src/plugins/output/forward.ts';
import { instantiate, testContext } from '../../src/testing/context.ts';
import { Counter } from './forward-helpers.ts';

interface Recorded {
  title: string;
  messages: { dir: '>' | '<'; bytes: Buffer }[];
  closedBy: 'server' | 'client' | undefined;
}

/** One .hex fixture: '>' client to server, '<' server to client, one msgpack message a line. */
function fixture(name: string): Recorded {
  const text = readFileSync(new URL(`../fixtures/fluent-bit/${name}.hex`, import.meta.url), 'utf8');
  const lines = text.split('\n');
  return {
    title: lines[0]!.slice(2),
    messages: lines
      .filter((l) => l.startsWith('> ') || l.startsWith('< '))
      .map((l) => ({ dir: l[0] as '>' | '<', bytes: Buffer.from(l.slice(2), 'hex') })),
    closedBy: /# closed by the (server|client)/.exec(text)?.[1] as Recorded['closedBy'],
  };
}

const sent = (r: Recorded, dir: '>' | '<') => r.messages.filter((m) => m.dir === dir).map((m) => m.bytes);
const raw = (v: unknown): Buffer => (typeof v === 'string' ? Buffer.from(v) : Buffer.from(v as Uint8Array));
const sha512hex = (...parts: (Buffer | string)[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
/** Byte equality shown as hex (msgpackr leaves a dataView property on what it unpacked). */
function hex(b: Uint8Array): string;
function hex(b: Uint8Array[]): string[];
function hex(b: Uint8Array | Uint8Array[]): string | string[] {
  return Array.isArray(b) ? b.map((x) => Buffer.from(x).toString('hex')) : Buffer.from(b).toString('hex');
}
const FB_RECORD = { message: 'hello from fluent bit', n: 1 };
const KEY = 's3cret';

/** Log lines of a plugin at warn and above, parsed. */
function logSink(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** A Sluice forward input on 127.0.0.1, port 0. */
async function sluiceInput(body: string) {
  const counter = new Counter();
  const ctx = testContext({ type: 'forward', onEmit: (b) => queueMicrotask(() => counter.add(b.count)) });
  const log = logSink();
  ctx.logger = log.logger;
  const { plugin } = instantiate(
    forwardInput,
    `<source>\n@type forward\nbind 127.0.0.1\nport 0\n${body}\n</source>\n`,
    ctx,
  );
  await plugin.start();
  return { plugin, ctx, counter, log, port: plugin.address.port };
}

/** Plays the recorded client: writes its messages, and waits for each recorded answer's bytes. */
async function playClient(
  port: number,
  rec: Recorded,
): Promise<{ answers: Buffer[]; closed: Promise<void>; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  let got = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('data', (d) => {
    got = Buffer.concat([got, d]);
    wake?.();
  });
  socket.on('error', () => undefined);
  closed.then(() => wake?.());
  const answers: Buffer[] = [];
  let at = 0;
  for (const m of rec.messages) {
    if (m.dir === '>') {
      socket.write(m.bytes);
      continue;
    }
    // the answer the peer gave at this point: wait for as many bytes from Sluice
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer of ${m.bytes.length} bytes within 5 s`)),
        5000,
      );
      const check = () => {
        if (got.length >= at + m.bytes.length || socket.destroyed) {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
      };
      wake = check;
      check();
    });
    answers.push(got.subarray(at, at + m.bytes.length));
    at += m.bytes.length;
  }
  return { answers, closed, socket };
}

describe('Fluent Bit 4.2.8 out_forward replayed against Sluice in_forward', () => {
  for (const name of ['fb-client-plain', 'fb-client-ack', 'fb-client-gzip']) {
    it(`${name}: every event delivered, the acks are the recorded bytes`, async () => {
      const rec = fixture(name);
      const s = await sluiceInput('');
      try {
        const { answers, socket } = await playClient(s.port, rec);
        await s.counter.waitFor(3);
        socket.end();
        assert.deepEqual(hex(answers), hex(sent(rec, '<')), rec.title);
        assert.deepEqual(s.ctx.records(), [FB_RECORD, FB_RECORD, FB_RECORD]);
        for (const [i, frame] of sent(rec, '>').entries()) {
          const option = (unpackr.unpack(frame) as unknown[])[2] as { chunk?: string } | undefined;
          // the protocol fixes the ack: {ack: <the frame's chunk>}
          if (option?.chunk) assert.equal(hex(answers[i]!), hex(encodeAck(option.chunk)));
        }
        if (name === 'fb-client-plain') assert.equal(answers.length, 0, 'no ack without a chunk option');
      } finally {
        await s.plugin.stop();
      }
    });
  }

  it('fb-client-key: Sluice sends the recorded HELO and PONG and acks; the digests are sha512(salt + host + nonce + key)', async () => {
    const rec = fixture('fb-client-key');
    const [helo, pong, ack] = sent(rec, '<') as [Buffer, Buffer, Buffer];
    const [ping] = sent(rec, '>') as [Buffer];
    const nonce = raw((decodeHandshake(helo) as [string, { nonce: unknown }])[1].nonce);
    const p = decodeHandshake(ping) as unknown[];
    const salt = raw(p[2]);
    // Fluent Bit's salt: a str of 16 random bytes (not UTF-8), hashed as the bytes sent
    assert.equal(ping[1 + 5 + 1 + 'fb-client'.length], 0xb0, 'PING salt is a fixstr of 16 bytes');
    assert.equal(p[3], sha512hex(salt, 'fb-client', nonce, KEY), "Fluent Bit's PING digest");
    assert.equal((decodeHandshake(pong) as unknown[])[4], sha512hex(salt, 'sluice-in', nonce, KEY));
    const restore = setHandshakeRandom(() => Buffer.from(nonce));
    const s = await sluiceInput(`<security>\nself_hostname sluice-in\nshared_key ${KEY}\n</security>`);
    try {
      const { answers, socket } = await playClient(s.port, rec);
      assert.equal(hex(answers[0]!), hex(helo), 'HELO');
      assert.equal(hex(answers[1]!), hex(pong), 'PONG');
      assert.equal(hex(answers[2]!), hex(ack), 'ack');
      await s.counter.waitFor(3);
      socket.end();
      assert.deepEqual(s.ctx.records(), [FB_RECORD, FB_RECORD, FB_RECORD]);
    } finally {
      restore();
      await s.plugin.stop();
    }
  });

  it('fb-client-wrongkey: refused with the recorded PONG, connection closed, HANDSHAKE_REFUSED logged, nothing emitted', async () => {
    const rec = fixture('fb-client-wrongkey');
    const [helo, pong] = sent(rec, '<') as [Buffer, Buffer];
    const nonce = raw((decodeHandshake(helo) as [string, { nonce: unknown }])[1].nonce);
    const restore = setHandshakeRandom(() => Buffer.from(nonce));
    const s = await sluiceInput(`<security>\nself_hostname sluice-in\nshared_key ${KEY}\n</security>`);
    try {
      const { answers, closed } = await playClient(s.port, rec);
      assert.deepEqual(hex(answers), hex([helo, pong]));
      assert.deepEqual(decodeHandshake(pong), ['PONG', false, 'shared_key mismatch', '', '']);
      await closed;
      assert.equal(s.ctx.emitted.length, 0);
      const line = s.log.lines.find((l) => l.code === 'HANDSHAKE_REFUSED');
      assert.ok(line, 'a HANDSHAKE_REFUSED log line');
      assert.equal(line.msg, 'forward handshake refused: shared_key mismatch');
      assert.equal(line.hostname, 'fb-client');
    } finally {
      restore();
      await s.plugin.stop();
    }
  });
});

/** The recorded Sluice frame as a chunk to write again: tag, entries (gunzipped), size. */
function chunkFrom(frame: Buffer): Chunk {
  const [tag, entries, option] = unpackr.unpack(frame) as [string, Buffer, Record<string, unknown>];
  const bytes = option.compressed === 'gzip' ? gunzipSync(entries) : Buffer.from(entries);
  return {
    id: 'replay',
    keys: { tag, vars: {} },
    bytes,
    count: option.size as number,
    entries: () => decodeEntries(bytes),
    expand: (t) => t,
  };
}

/**
 * Plays the recorded Fluent Bit in_forward: writes its messages (its acks carry the chunk id
 * Sluice sent this time), checks each message Sluice sends against the recorded one.
 */
async function playServer(rec: Recorded, check: (live: Buffer, recorded: Buffer) => void) {
  const errors: unknown[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined);
    const dec = new FrameDecoder({ maxFrameSize: 1 << 20 });
    let i = 0;
    let lastChunk: { live?: string; recorded?: string } = {};
    const step = () => {
      for (; i < rec.messages.length && rec.messages[i]!.dir === '<'; i++) {
        const m = rec.messages[i]!.bytes;
        const ack = (unpackr.unpack(m) as { ack?: string }).ack;
        if (ack !== undefined) {
          // Fluent Bit's ack is {ack: <chunk>} as the protocol fixes it: the same for the live chunk
          assert.equal(ack, lastChunk.recorded);
          assert.equal(hex(m), hex(encodeAck(ack)));
          s.write(encodeAck(lastChunk.live!));
        } else s.write(m);
      }
      if (i >= rec.messages.length) {
        if (rec.closedBy === 'server') s.destroy();
        done();
      }
    };
    s.on('data', (d) => {
      dec.push(d);
      try {
        for (let f = dec.next(); f; f = dec.next()) {
          const recorded = rec.messages[i++]!.bytes;
          const live = Buffer.from(f);
          const option = (unpackr.unpack(live) as unknown[])[2] as { chunk?: string } | undefined;
          if (typeof option === 'object' && option?.chunk) {
            lastChunk = {
              live: option.chunk,
              recorded: ((unpackr.unpack(recorded) as unknown[])[2] as { chunk: string }).chunk,
            };
          }
          check(live, recorded);
          step();
        }
      } catch (e) {
        errors.push(e);
        s.destroy();
        done();
      }
    });
    step();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    finished,
    errors,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function sluiceOutput(port: number, body: string) {
  const ctx = testContext({ type: 'forward' });
  const log = logSink();
  ctx.logger = log.logger;
  const { plugin } = instantiate(
    forwardOutput,
    `<match **>\n@type forward\nheartbeat_type none\nrequire_ack_response true\n${body}\n<server>\nhost 127.0.0.1\nport ${port}\n</server>\n</match>`,
    ctx,
  );
  await plugin.start();
  return { plugin, log };
}

/** Sluice's event frame equals the recorded one but for the chunk id (random per send) and gzip bytes. */
function sameFrame(live: Buffer, recorded: Buffer): void {
  const [lt, le, lo] = unpackr.unpack(live) as [string, Buffer, Record<string, unknown>];
  const [rt, re, ro] = unpackr.unpack(recorded) as [string, Buffer, Record<string, unknown>];
  assert.equal(lt, rt);
  assert.deepEqual({ ...lo, chunk: 'x' }, { ...ro, chunk: 'x' });
  if (ro.compressed === 'gzip') assert.equal(hex(gunzipSync(le)), hex(gunzipSync(re)));
  else {
    assert.equal(hex(le), hex(re));
    // the whole frame, byte for byte, once the recorded chunk id is swapped for this send's
    const swapped = hex(recorded).replace(hex(raw(ro.chunk)), hex(raw(lo.chunk)));
    assert.equal(hex(live), swapped);
  }
}

describe('Sluice out_forward replayed against Fluent Bit 4.2.8 in_forward', () => {
  for (const [name, body] of [
    ['fb-server-ack', ''],
    ['fb-server-gzip', 'compress gzip'],
  ] as const) {
    it(`${name}: the frame is the recorded one and Fluent Bit's ack completes the write`, async () => {
      const rec = fixture(name);
      const srv = await playServer(rec, sameFrame);
      const out = await sluiceOutput(srv.port, body);
      try {
        assert.deepEqual(await out.plugin.write(chunkFrom(sent(rec, '>')[0]!)), { status: 'ok' });
        await srv.finished;
        assert.deepEqual(srv.errors, []);
      } finally {
        await out.plugin.stop();
        await srv.close();
      }
    });
  }

  it("fb-server-key: Sluice's PING is the recorded one byte for byte (salt a 32-hex str), Fluent Bit's PONG is accepted, the chunk acked", async () => {
    const rec = fixture('fb-server-key');
    const [helo, pong] = sent(rec, '<') as [Buffer, Buffer];
    const [ping, frame] = sent(rec, '>') as [Buffer, Buffer];
    const h = decodeHandshake(helo) as [string, { nonce: unknown; auth: unknown }];
    const nonce = raw(h[1].nonce);
    // Fluent Bit's HELO: nonce and auth as fixstr of 16 random bytes
    assert.equal(helo[2 + 4 + 1 + 6], 0xb0);
    const p = decodeHandshake(ping) as string[];
    assert.match(p[2]!, /^[0-9a-f]{32}$/);
    assert.equal(p[3], sha512hex(p[2]!, 'sluice-out', nonce, KEY), "Sluice's PING digest");
    assert.equal(
      (decodeHandshake(pong) as unknown[])[4],
      sha512hex(p[2]!, 'fb-server', nonce, KEY),
      "Fluent Bit's PONG",
    );
    const restore = setHandshakeRandom(() => Buffer.from(p[2]!, 'hex'));
    const srv = await playServer(rec, (live, recorded) =>
      recorded === ping ? assert.equal(hex(live), hex(ping), 'PING') : sameFrame(live, recorded),
    );
    const out = await sluiceOutput(
      srv.port,
      `<security>\nself_hostname sluice-out\nshared_key ${KEY}\n</security>`,
    );
    try {
      assert.deepEqual(await out.plugin.write(chunkFrom(frame)), { status: 'ok' });
      await srv.finished;
      assert.deepEqual(srv.errors, []);
    } finally {
      restore();
      await out.plugin.stop();
      await srv.close();
    }
  });

  it('fb-server-wrongkey: Fluent Bit closes after our PING; the write is retried with HANDSHAKE_FAILED and a clear reason', async () => {
    const rec = fixture('fb-server-wrongkey');
    const [ping] = sent(rec, '>') as [Buffer];
    const salt = (decodeHandshake(ping) as string[])[2]!;
    const restore = setHandshakeRandom(() => Buffer.from(salt, 'hex'));
    const srv = await playServer(rec, (live, recorded) => assert.equal(hex(live), hex(recorded), 'PING'));
    const out = await sluiceOutput(
      srv.port,
      '<security>\nself_hostname sluice-out\nshared_key wrong-key\n</security>',
    );
    try {
      const frame = fixture('fb-server-key').messages.filter((m) => m.dir === '>')[1]!.bytes;
      const r = await out.plugin.write(chunkFrom(frame));
      assert.equal(r.status, 'retry');
      assert.match((r as { error: Error }).error.message, /forward handshake failed: no PONG to our PING/);
      await srv.finished;
      assert.deepEqual(srv.errors, []);
      const line = out.log.lines.find((l) => l.code === 'HANDSHAKE_FAILED');
      assert.ok(line, 'a HANDSHAKE_FAILED log line');
      assert.match(String(line.err), /shared_key does not match/);
    } finally {
      restore();
      await out.plugin.stop();
      await srv.close();
    }
  });
});
