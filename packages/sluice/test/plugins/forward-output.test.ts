import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  decodeMultiple,
  EventTime,
  encode,
  encodeAck,
  encodeHelo,
  FrameDecoder,
  parsePing,
  unpackr,
} from '@sluice/forward';
import { decodeEntries } from '../../src/core/batch.ts';
import type { Chunk } from '../../src/core/plugin.ts';
import { FailureDetector } from '../../src/plugins/output/forward/failure-detector.ts';
import forwardOutput, { type ForwardOutput } from '../../src/plugins/output/forward/index.ts';
import { instantiate, testContext } from '../../src/testing/context.ts';
import { freePort } from '../helpers/ports.ts';
import { selfSignedCert } from '../helpers/tls.ts';
import { startInput } from './forward-helpers.ts';

const require = createRequire(import.meta.url);
const ref = require('@fluent-org/logger/build/src/protocol.js');

const t0 = new EventTime(1700000000, 999);

function chunkOf(tag: string | undefined, records: object[]): Chunk {
  const bytes = Buffer.concat(records.map((r) => encode([t0, r])));
  return {
    id: 'c1',
    keys: { tag, vars: {} },
    bytes,
    count: records.length,
    entries: () => decodeEntries(bytes),
    expand: (s) => s,
  };
}

/** A raw forward server: decodes every frame it gets and lets the test script the replies. */
class RawServer {
  readonly server: Server;
  readonly frames: unknown[] = [];
  readonly sockets: Socket[] = [];
  port = 0;
  private waiters: (() => void)[] = [];
  constructor(
    private readonly onFrame: (v: unknown, s: Socket) => void = () => undefined,
    private readonly onConnect: (s: Socket) => void = () => undefined,
  ) {
    this.server = createServer((s) => {
      this.sockets.push(s);
      s.on('error', () => undefined);
      const dec = new FrameDecoder({ maxFrameSize: 1 << 24 });
      this.onConnect(s);
      s.on('data', (d) => {
        dec.push(d);
        for (let f = dec.next(); f; f = dec.next()) {
          const v = unpackr.unpack(f);
          this.frames.push(v);
          this.onFrame(v, s);
          for (const w of this.waiters.splice(0)) w();
        }
      });
    });
  }
  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function output(body: string): ForwardOutput {
  return instantiate(
    forwardOutput,
    `<match **>\n@type forward\nheartbeat_type none\n${body}\n</match>`,
    testContext({ type: 'forward' }),
  ).plugin;
}

describe('forward output on the wire', () => {
  it('sends a chunk as ONE PackedForward message whose entries are the chunk bytes', async () => {
    const srv = await new RawServer().listen();
    const out = output(`<server>\nhost 127.0.0.1\nport ${srv.port}\n</server>`);
    await out.start();
    try {
      const c = chunkOf('app.web', [{ a: 1 }, { b: 'two' }]);
      assert.deepEqual(await out.write(c), { status: 'ok' });
      await waitFrames(srv, 1);
      const [tag, entries, option] = srv.frames[0] as [string, Buffer, Record<string, unknown>];
      assert.equal(tag, 'app.web');
      assert.ok(Buffer.isBuffer(entries), 'entries are msgpack bin');
      assert.deepEqual(entries, c.bytes);
      assert.deepEqual(option, { size: 2 });
    } finally {
      await out.stop();
      await srv.close();
    }
  });

  it('require_ack_response: ok only after the ack; no ack = retry after ack_response_timeout', async () => {
    let ackThem = true;
    const srv = await new RawServer((v, s) => {
      const opt = (v as unknown[])[2] as { chunk?: string };
      if (ackThem && opt.chunk) s.write(encodeAck(opt.chunk));
    }).listen();
    const out = output(
      `require_ack_response true\nack_response_timeout 0.3\n<server>\nhost 127.0.0.1\nport ${srv.port}\n</server>`,
    );
    await out.start();
    try {
      assert.deepEqual(await out.write(chunkOf('t', [{ a: 1 }])), { status: 'ok' });
      const opt = (srv.frames[0] as unknown[])[2] as { chunk: string; size: number };
      assert.equal(typeof opt.chunk, 'string');
      assert.equal(Buffer.from(opt.chunk, 'base64').length, 16);
      ackThem = false;
      const r = await out.write(chunkOf('t', [{ a: 2 }]));
      assert.equal(r.status, 'retry');
      assert.match((r as { error: Error }).error.message, /ack_response_timeout/);
    } finally {
      await out.stop();
      await srv.close();
    }
  });

  it('handshake: PING digest verified by the reference implementation, PONG checked', async () => {
    const nonce = Buffer.from('nonce-0123456789');
    const auth = Buffer.from('authsalt-0123456');
    const serverKey = { current: 'k3y' };
    const srv = await new RawServer(
      (v, s) => {
        const m = v as unknown[];
        if (m[0] === 'PING') {
          const ping = parsePing(m);
          try {
            const info = ref.checkPing(
              m,
              'server.test',
              { key: serverKey.current, nonce },
              { salt: auth, userDict: { bob: 'pw' } },
            );
            s.write(encode(ref.generatePong('server.test', true, '', info.sharedKeyInfo)));
          } catch (e) {
            s.write(encode(ref.generatePong('server.test', false, (e as Error).message)));
          }
          assert.equal(ping.hostname, 'client.test');
          return;
        }
        const opt = m[2] as { chunk?: string };
        if (opt.chunk) s.write(encodeAck(opt.chunk));
      },
      (s) => s.write(encodeHelo({ nonce, auth, keepalive: true })),
    ).listen();
    const out = output(
      `require_ack_response true\n<security>\nself_hostname client.test\nshared_key k3y\n</security>\n<server>\nhost 127.0.0.1\nport ${srv.port}\nusername bob\npassword pw\n</server>`,
    );
    await out.start();
    try {
      assert.deepEqual(await out.write(chunkOf('auth', [{ a: 1 }])), { status: 'ok' });
      assert.equal((srv.frames[1] as unknown[])[0], 'auth');
      serverKey.current = 'other';
      const r = await out.write(chunkOf('auth', [{ a: 2 }]));
      assert.equal(r.status, 'retry');
      assert.match((r as { error: Error }).error.message, /shared key mismatch/);
    } finally {
      await out.stop();
      await srv.close();
    }
  });

  it('compress gzip sends CompressedPackedForward; time_as_integer sends integer seconds', async () => {
    const srv = await new RawServer().listen();
    const gz = output(`compress gzip\n<server>\nhost 127.0.0.1\nport ${srv.port}\n</server>`);
    const int = output(`time_as_integer true\n<server>\nhost 127.0.0.1\nport ${srv.port}\n</server>`);
    await gz.start();
    await int.start();
    try {
      const c = chunkOf('z', [{ a: 1 }, { a: 2 }]);
      await gz.write(c);
      await waitFrames(srv, 1);
      const [, payload, option] = srv.frames[0] as [string, Buffer, Record<string, unknown>];
      assert.deepEqual(option, { size: 2, compressed: 'gzip' });
      assert.deepEqual(gunzipSync(payload), c.bytes);
      await int.write(c);
      await waitFrames(srv, 2);
      assert.deepEqual(decodeMultiple((srv.frames[1] as [string, Buffer])[1]), [
        [1700000000, { a: 1 }],
        [1700000000, { a: 2 }],
      ]);
    } finally {
      await gz.stop();
      await int.stop();
      await srv.close();
    }
  });

  it('fails over to a standby server when the primary is down', async () => {
    const dead = await new RawServer().listen();
    const deadPort = dead.port;
    await dead.close();
    const standby = await new RawServer().listen();
    const out = output(
      `connect_timeout 1\n<server>\nname primary\nhost 127.0.0.1\nport ${deadPort}\n</server>\n<server>\nname backup\nhost 127.0.0.1\nport ${standby.port}\nstandby true\n</server>`,
    );
    await out.start();
    try {
      assert.deepEqual(await out.write(chunkOf('f', [{ a: 1 }])), { status: 'ok' });
      await waitFrames(standby, 1);
      assert.equal(out.nodes[0]!.available, false);
      assert.equal((await out.write(chunkOf(undefined, [{ a: 1 }]))).status, 'fatal');
    } finally {
      await out.stop();
      await standby.close();
    }
  });

  it('keepalive: connects to the active servers at start and sends the chunks over that one connection', async () => {
    const connected: (() => void)[] = [];
    const srv = await new RawServer(undefined, () => {
      for (const w of connected.splice(0)) w();
    }).listen();
    const standby = await new RawServer().listen();
    const out = output(
      `keepalive true\n<server>\nhost 127.0.0.1\nport ${srv.port}\n</server>\n<server>\nhost 127.0.0.1\nport ${standby.port}\nstandby true\n</server>`,
    );
    let timer: NodeJS.Timeout | undefined;
    const first = new Promise<void>((resolve, reject) => {
      connected.push(resolve);
      timer = setTimeout(() => reject(new Error('no connection within 5 s of start')), 5000);
    }).finally(() => clearTimeout(timer));
    await out.start();
    try {
      await first; // before any chunk
      assert.equal(srv.frames.length, 0);
      assert.equal(srv.sockets.length, 1);
      await out.write(chunkOf('k', [{ a: 1 }]));
      await out.write(chunkOf('k', [{ a: 2 }]));
      await waitFrames(srv, 2);
      assert.equal(srv.sockets.length, 1);
      assert.equal(standby.sockets.length, 0, 'a standby server is not connected ahead');
    } finally {
      await out.stop();
      await srv.close();
      await standby.close();
    }
  });

  it('keepalive: a server down at start is connected by the first chunk', async () => {
    const port = await freePort();
    const out = output(`keepalive true\n<server>\nhost 127.0.0.1\nport ${port}\n</server>`);
    await out.start();
    const again = new RawServer();
    try {
      await new Promise<void>((r) => again.server.listen(port, '127.0.0.1', r));
      assert.deepEqual(await out.write(chunkOf('k', [{ a: 1 }])), { status: 'ok' });
      await waitFrames(again, 1);
    } finally {
      await out.stop();
      await again.close();
    }
  });

  it('a write to no reachable server is a retry with the reasons', async () => {
    const dead = await new RawServer().listen();
    const port = dead.port;
    await dead.close();
    const out = output(`connect_timeout 1\n<server>\nhost 127.0.0.1\nport ${port}\n</server>`);
    await out.start();
    try {
      const r = await out.write(chunkOf('x', [{ a: 1 }]));
      assert.equal(r.status, 'retry');
      assert.match((r as { error: Error }).error.message, /ECONNREFUSED/);
    } finally {
      await out.stop();
    }
  });
});

describe('forward output startup and TLS', () => {
  it("an empty host and port 0 (the DaemonSet's FLUENT_FOWARD_HOST/PORT unset) start as in Fluentd; writes are retried", async () => {
    // Fluentd resolves host "" as Ruby's getaddrinfo does, to 0.0.0.0 (INADDR_ANY), and
    // reads the empty port as 0: it starts, and nothing answers there.
    const out = output('connect_timeout 1\n<server>\nhost ""\nport 0\n</server>');
    await out.start();
    try {
      const r = await out.write(chunkOf('t', [{ a: 1 }]));
      assert.equal(r.status, 'retry');
    } finally {
      await out.stop();
    }
  });

  it('verify_connection_at_startup fails start for an unreachable server unless ignore_network_errors_at_startup', async () => {
    const dead = await new RawServer().listen();
    const port = dead.port;
    await dead.close();
    const strict = output(
      `verify_connection_at_startup true\nconnect_timeout 1\n<server>\nhost 127.0.0.1\nport ${port}\n</server>`,
    );
    await assert.rejects(strict.start(), /not usable at startup: .*ECONNREFUSED/);
    await strict.stop();
    const lenient = output(
      `verify_connection_at_startup true\nignore_network_errors_at_startup true\nconnect_timeout 1\n<server>\nhost 127.0.0.1\nport ${port}\n</server>`,
    );
    await lenient.start();
    await lenient.stop();
  });

  it('sends over TLS to a Sluice forward input, acked, verifying the server certificate', async () => {
    const cert = selfSignedCert();
    const s = await startInput(
      `<transport tls>\ncert_path ${cert.cert}\nprivate_key_path ${cert.key}\n</transport>`,
    );
    const good = output(
      `transport tls\ntls_cert_path ${cert.cert}\nrequire_ack_response true\nverify_connection_at_startup true\n<server>\nhost 127.0.0.1\nport ${s.port}\n</server>`,
    );
    const untrusted = output(
      `transport tls\nconnect_timeout 2\n<server>\nhost 127.0.0.1\nport ${s.port}\n</server>`,
    );
    try {
      await good.start();
      assert.deepEqual(await good.write(chunkOf('tls.out', [{ a: 1 }, { a: 2 }])), { status: 'ok' });
      assert.deepEqual(s.ctx.records(), [{ a: 1 }, { a: 2 }]);
      await untrusted.start();
      const r = await untrusted.write(chunkOf('tls.out', [{ a: 3 }]));
      assert.equal(r.status, 'retry');
      assert.match((r as { error: Error }).error.message, /self[- ]signed|certificate/i);
    } finally {
      await good.stop();
      await untrusted.stop();
      await s.stop();
      cert.cleanup();
    }
  });
});

describe('phi accrual failure detector', () => {
  it('matches Fluentd: steady 1s heartbeats keep phi low; a long silence passes the threshold', () => {
    const d = new FailureDetector(1, 60, 0);
    for (let t = 1; t <= 20; t++) d.add(t);
    assert.ok(d.phi(21) < 1);
    // mean gap 1s -> phi = (now - last) / ln 10: over 16 after ~37 s of silence
    assert.ok(d.phi(20 + 30) < 16);
    assert.ok(d.phi(20 + 40) > 16);
    assert.equal(d.hardTimedOut(20 + 61), true);
  });
});

async function waitFrames(srv: RawServer, n: number): Promise<void> {
  const waiters = (srv as unknown as { waiters: (() => void)[] }).waiters;
  while (srv.frames.length < n) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`expected ${n} frames, got ${srv.frames.length}`)),
        5000,
      );
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
