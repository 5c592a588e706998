import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FluentClient, EventTime as OrgEventTime } from '@fluent-org/logger';
import { EventTime } from '@sluice/forward';
import fluentLoggerModule from 'fluent-logger';
import { selfSignedCert } from '../helpers/tls.ts';
import { type Started, startInput } from './forward-helpers.ts';

// Interop: the two real npm clients send to Sluice's forward input in every mode they
// offer; records and times are compared field by field.

const record = (i: number) => ({
  i,
  msg: `hello ${i}`,
  nested: { a: [1, 'two', null], ok: true },
  f: 1.5,
  uni: 'é✓',
});

function assertEvents(s: Started, n: number, tag: string, expectTime: (i: number) => EventTime) {
  const entries = s.ctx.emitted.filter((b) => b.tag === tag).flatMap((b) => b.entries());
  assert.equal(entries.length, n);
  const byI = new Map(entries.map((e) => [e.record.i as number, e]));
  for (let i = 0; i < n; i++) {
    const e = byI.get(i);
    assert.ok(e, `event ${i} missing`);
    assert.deepEqual(e.record, record(i));
    assert.ok(e.time.equals(expectTime(i)), `event ${i}: time ${e.time} != ${expectTime(i)}`);
  }
}

describe('forward input + fluent-logger (v3)', () => {
  const modes = ['Message', 'PackedForward', 'CompressedPackedForward'] as const;
  for (const mode of modes) {
    for (const ack of [false, true]) {
      it(`${mode}${ack ? ' with acks' : ''}: EventTime and integer times`, async () => {
        const s = await startInput('');
        const sender = fluentLogger.createFluentSender('', {
          host: '127.0.0.1',
          port: s.port,
          eventMode: mode,
          requireAckResponse: ack,
          flushInterval: 5,
          internalLogger: silent,
        });
        try {
          const sent: Promise<void>[] = [];
          for (let i = 0; i < 20; i++) {
            const time = i % 2 === 0 ? new fluentLogger.EventTime(1700000000 + i, i * 1000) : 1700000000 + i;
            sent.push(
              new Promise((res, rej) =>
                sender.emit('app.logger', record(i), time, (err: unknown) => (err ? rej(err) : res())),
              ),
            );
          }
          await Promise.all(sent); // with acks: resolved only when our input acked
          await s.counter.waitFor(20);
          assertEvents(s, 20, 'app.logger', (i) => new EventTime(1700000000 + i, i % 2 === 0 ? i * 1000 : 0));
        } finally {
          sender.end();
          await s.stop();
        }
      });
    }
  }

  it('shared key: right key delivers, wrong key is refused and delivers nothing', async () => {
    const s = await startInput('<security>\nself_hostname server.test\nshared_key s3cret\n</security>');
    try {
      const good = fluentLogger.createFluentSender('', {
        host: '127.0.0.1',
        port: s.port,
        requireAckResponse: true,
        security: { clientHostname: 'client.test', sharedKey: 's3cret' },
        internalLogger: silent,
      });
      await new Promise<void>((res, rej) =>
        good.emit('auth.ok', record(0), 1700000000, (e: unknown) => (e ? rej(e) : res())),
      );
      good.end();
      await s.counter.waitFor(1);
      const bad = fluentLogger.createFluentSender('', {
        host: '127.0.0.1',
        port: s.port,
        enableReconnect: false,
        security: { clientHostname: 'client.test', sharedKey: 'wrong' },
        internalLogger: silent,
      });
      const err = await new Promise<unknown>((res) => {
        bad.on('error', res);
        bad.emit('auth.bad', record(1), 1700000000, (e: unknown) => e && res(e));
      });
      bad.end();
      assert.match(String((err as Error).message ?? err), /shared_key mismatch|Authentication failed/);
      assert.equal(s.ctx.emitted.filter((b) => b.tag === 'auth.bad').length, 0);
    } finally {
      await s.stop();
    }
  });
});

describe('forward input + @fluent-org/logger', () => {
  const modes = ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as const;
  for (const mode of modes) {
    it(`${mode} with acks, EventTime and integer times`, async () => {
      const s = await startInput('');
      const client = new FluentClient('org', {
        socket: { host: '127.0.0.1', port: s.port },
        eventMode: mode,
        ack: { ackTimeout: 5000 },
        flushInterval: 5,
      });
      try {
        const sent: Promise<void>[] = [];
        for (let i = 0; i < 30; i++) {
          const time = i % 2 === 0 ? new OrgEventTime(1700000000 + i, i) : (1700000000 + i) * 1000;
          sent.push(client.emit('m', record(i), time));
        }
        await Promise.all(sent);
        await s.counter.waitFor(30);
        // @fluent-org sends millisecond numbers as EventTime-less integers of seconds
        assertEvents(s, 30, 'org.m', (i) => new EventTime(1700000000 + i, i % 2 === 0 ? i : 0));
      } finally {
        await client.shutdown();
        await s.stop();
      }
    });
  }

  it('user auth: right password delivers, wrong one is refused', async () => {
    const s = await startInput(
      '<security>\nself_hostname server.test\nshared_key k\nuser_auth true\n<user>\nusername alice\npassword pw\n</user>\n</security>',
    );
    const ok = new FluentClient('u', {
      socket: { host: '127.0.0.1', port: s.port },
      security: { clientHostname: 'c', sharedKey: 'k', username: 'alice', password: 'pw' },
      ack: { ackTimeout: 5000 },
    });
    const bad = new FluentClient('u', {
      socket: { host: '127.0.0.1', port: s.port },
      security: { clientHostname: 'c', sharedKey: 'k', username: 'alice', password: 'nope' },
      disconnect: { waitForPending: false, socketDisconnectDelay: 0 },
    });
    const refused = new Promise<unknown>((res) => bad.socketOn('error' as never, res));
    try {
      await ok.emit('good', { i: 0 });
      await s.counter.waitFor(1);
      void bad.emit('bad', { i: 1 }).catch(() => undefined); // stays queued on the client: the server refused it
      assert.match(String(((await refused) as Error).message), /username\/password mismatch/);
      assert.equal(s.ctx.emitted.filter((b) => b.tag === 'u.bad').length, 0);
    } finally {
      await ok.shutdown();
      await bad.disconnect().catch(() => undefined);
      await s.stop();
    }
  });
});

describe('forward input over TLS', () => {
  let cert: ReturnType<typeof selfSignedCert>;
  before(() => {
    cert = selfSignedCert();
  });
  after(() => cert.cleanup());

  it('both clients deliver over <transport tls> with acks', async () => {
    const s = await startInput(
      `<transport tls>\ncert_path ${cert.cert}\nprivate_key_path ${cert.key}\n</transport>`,
    );
    const ca = readFileSync(cert.cert);
    const org = new FluentClient('tls', {
      socket: { host: '127.0.0.1', port: s.port, tls: { ca } },
      ack: { ackTimeout: 5000 },
    });
    const legacy = fluentLogger.createFluentSender('tls', {
      host: '127.0.0.1',
      port: s.port,
      tls: true,
      tlsOptions: { ca },
      requireAckResponse: true,
      internalLogger: silent,
    });
    try {
      await org.emit('org', record(0), new OrgEventTime(1700000000, 0));
      await new Promise<void>((res, rej) =>
        legacy.emit('legacy', record(0), new fluentLogger.EventTime(1700000000, 0), (e: unknown) =>
          e ? rej(e) : res(),
        ),
      );
      await s.counter.waitFor(2);
      assertEvents(s, 1, 'tls.org', () => new EventTime(1700000000, 0));
      assertEvents(s, 1, 'tls.legacy', () => new EventTime(1700000000, 0));
    } finally {
      legacy.end();
      await org.shutdown();
      await s.stop();
    }
  });
});

// fluent-logger's bundled types lag behind its API (EventTime class, callbacks, events).
interface LegacySender {
  emit(label: string, data: object, time: unknown, cb: (err?: unknown) => void): void;
  on(event: 'error', cb: (e: unknown) => void): void;
  end(): void;
}
const fluentLogger = fluentLoggerModule as unknown as {
  createFluentSender(prefix: string, opts: Record<string, unknown>): LegacySender;
  EventTime: new (sec: number, nsec: number) => unknown;
};

const silent = { info() {}, error() {}, warn() {}, debug() {}, log() {} };
