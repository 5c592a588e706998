// Replays what a real Fluent Bit 4.2.8 and a real Fluentd 1.14.6 sent and answered
// (test/fixtures/{fluent-bit,fluentd}/*.hex, captured through a TCP proxy; the procedure
// is in docs/forward-protocol.md) against real
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
import forwardInput from '../../src/plugins/input/forward/index.ts';
import forwardOutput from '../../src/plugins/output/forward/index.ts';
import { instantiate, testContext } from '../../src/testing/context.ts';
import { Counter } from './forward-helpers.ts';

interface Recorded {
  title: string;
  messages: { dir: '>' | '<'; bytes: Buffer }[];
  closedBy: 'server' | 'client' | undefined;
}

/** One .hex fixture: '>' client to server, '<' server to client, one msgpack message a line. */
function fixture(dir: string, name: string): Recorded {
  const text = readFileSync(new URL(`../fixtures/${dir}/${name}.hex`, import.meta.url), 'utf8');
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
const KEY = 's3cret';

/** What differs between the recorded peers. */
interface PeerSpec {
  name: string;
  dir: string;
  prefix: string;
  /** the record each recorded frame carries (three of them) */
  record: object;
  clientHost: string;
  serverHost: string;
  /** fixtures of the peer as client without a shared key */
  plain: string[];
  /** header byte(s) of the salt in the peer's PING, of the nonce in its HELO */
  pingSalt: number[];
  heloNonce: number[];
  /** how Sluice's output reports the peer refusing a wrong key */
  wrongKeyError: RegExp;
}

const PEERS: PeerSpec[] = [
  {
    name: 'Fluent Bit 4.2.8',
    dir: 'fluent-bit',
    prefix: 'fb',
    record: { message: 'hello from fluent bit', n: 1 },
    clientHost: 'fb-client',
    serverHost: 'fb-server',
    plain: ['plain', 'ack', 'gzip'],
    // str holding 16 random bytes (not UTF-8): hashed as the bytes sent
    pingSalt: [0xb0],
    heloNonce: [0xb0],
    // Fluent Bit closes without a PONG
    wrongKeyError: /forward handshake failed: no PONG to our PING .*shared_key does not match/,
  },
  {
    name: 'Fluentd 1.14.6',
    dir: 'fluentd',
    prefix: 'fd',
    record: { message: 'hello from fluentd', n: 1 },
    clientHost: 'fd-client',
    serverHost: 'fd-server',
    plain: ['ack', 'gzip'],
    // str of 32 hex characters; the nonce a bin of 16 bytes
    pingSalt: [0xd9, 32],
    heloNonce: [0xc4, 16],
    wrongKeyError: /forward handshake failed: authentication failed: shared_key mismatch/,
  },
];

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

for (const peer of PEERS) {
  const fx = (variant: string) => fixture(peer.dir, `${peer.prefix}-client-${variant}`);
  const three = [peer.record, peer.record, peer.record];

  describe(`${peer.name} out_forward replayed against Sluice in_forward`, () => {
    for (const variant of peer.plain) {
      it(`${peer.prefix}-client-${variant}: every event delivered, the acks are the recorded bytes`, async () => {
        const rec = fx(variant);
        const s = await sluiceInput('');
        try {
          const { answers, socket } = await playClient(s.port, rec);
          await s.counter.waitFor(3);
          socket.end();
          assert.deepEqual(hex(answers), hex(sent(rec, '<')), rec.title);
          assert.deepEqual(s.ctx.records(), three);
          for (const [i, frame] of sent(rec, '>').entries()) {
            const option = (unpackr.unpack(frame) as unknown[])[2] as { chunk?: string } | undefined;
            // the protocol fixes the ack: {ack: <the frame's chunk>}
            if (option?.chunk) assert.equal(hex(answers[i]!), hex(encodeAck(option.chunk)));
          }
          if (variant === 'plain') assert.equal(answers.length, 0, 'no ack without a chunk option');
        } finally {
          await s.plugin.stop();
        }
      });
    }

    it(`${peer.prefix}-client-key: Sluice sends the recorded HELO, PONG and ack; digests are sha512(salt + host + nonce + key)`, async () => {
      const rec = fx('key');
      const [helo, pong, ack] = sent(rec, '<') as [Buffer, Buffer, Buffer];
      const [ping] = sent(rec, '>') as [Buffer];
      const nonce = raw((decodeHandshake(helo) as [string, { nonce: unknown }])[1].nonce);
      const p = decodeHandshake(ping) as unknown[];
      const salt = raw(p[2]);
      const at = 1 + 5 + 1 + peer.clientHost.length;
      assert.deepEqual(
        [...ping.subarray(at, at + peer.pingSalt.length)],
        peer.pingSalt,
        'type of the PING salt',
      );
      assert.equal(p[3], sha512hex(salt, peer.clientHost, nonce, KEY), `${peer.name}'s PING digest`);
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
        assert.deepEqual(s.ctx.records(), three);
      } finally {
        restore();
        await s.plugin.stop();
      }
    });

    it(`${peer.prefix}-client-wrongkey: refused with the recorded PONG, closed, HANDSHAKE_REFUSED logged, nothing emitted`, async () => {
      const rec = fx('wrongkey');
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
        assert.equal(line.hostname, peer.clientHost);
      } finally {
        restore();
        await s.plugin.stop();
      }
    });
  });
}

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

for (const peer of PEERS) {
  const fx = (variant: string) => fixture(peer.dir, `${peer.prefix}-server-${variant}`);

  describe(`Sluice out_forward replayed against ${peer.name} in_forward`, () => {
    for (const [variant, body] of [
      ['ack', ''],
      ['gzip', 'compress gzip'],
    ] as const) {
      it(`${peer.prefix}-server-${variant}: the frame is the recorded one and the peer's ack completes the write`, async () => {
        const rec = fx(variant);
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

    it(`${peer.prefix}-server-key: Sluice's PING is the recorded one byte for byte (salt a 32-hex str), the PONG is accepted, the chunk acked`, async () => {
      const rec = fx('key');
      const [helo, pong] = sent(rec, '<') as [Buffer, Buffer];
      const [ping, frame] = sent(rec, '>') as [Buffer, Buffer];
      const h = decodeHandshake(helo) as [string, { nonce: unknown; auth: unknown }];
      const nonce = raw(h[1].nonce);
      const at = 2 + 4 + 1 + 6;
      assert.deepEqual(
        [...helo.subarray(at, at + peer.heloNonce.length)],
        peer.heloNonce,
        'type of the HELO nonce',
      );
      const p = decodeHandshake(ping) as string[];
      assert.match(p[2]!, /^[0-9a-f]{32}$/);
      assert.equal(ping[1 + 5 + 1 + 'sluice-out'.length], 0xd9, 'our salt is a str');
      assert.equal(p[3], sha512hex(p[2]!, 'sluice-out', nonce, KEY), "Sluice's PING digest");
      assert.equal(
        (decodeHandshake(pong) as unknown[])[4],
        sha512hex(p[2]!, peer.serverHost, nonce, KEY),
        `${peer.name}'s PONG`,
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

    it(`${peer.prefix}-server-wrongkey: refused; the write is retried, HANDSHAKE_FAILED logged with the reason`, async () => {
      const rec = fx('wrongkey');
      const [ping] = sent(rec, '>') as [Buffer];
      const salt = (decodeHandshake(ping) as string[])[2]!;
      const restore = setHandshakeRandom(() => Buffer.from(salt, 'hex'));
      const srv = await playServer(rec, (live, recorded) => assert.equal(hex(live), hex(recorded), 'PING'));
      const out = await sluiceOutput(
        srv.port,
        '<security>\nself_hostname sluice-out\nshared_key wrong-key\n</security>',
      );
      try {
        const frame = sent(fx('key'), '>')[1]!;
        const r = await out.plugin.write(chunkFrom(frame));
        assert.equal(r.status, 'retry');
        assert.match((r as { error: Error }).error.message, peer.wrongKeyError);
        await srv.finished;
        assert.deepEqual(srv.errors, []);
        const line = out.log.lines.find((l) => l.code === 'HANDSHAKE_FAILED');
        assert.ok(line, 'a HANDSHAKE_FAILED log line');
        assert.match(String(line.err), peer.wrongKeyError);
      } finally {
        restore();
        await out.plugin.stop();
        await srv.close();
      }
    });
  });
}
