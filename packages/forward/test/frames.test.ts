import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  checkEntries,
  checkPong,
  decodeMultiple,
  decompressEntries,
  EventTime,
  encode,
  encodeForward,
  encodeMessage,
  encodePackedForward,
  ForwardProtocolError,
  FrameDecoder,
  makePing,
  parseEventFrame,
  parseHelo,
  parsePing,
  passwordDigest,
  sharedKeyDigest,
} from '../src/index.ts';

const require = createRequire(import.meta.url);
// An independent implementation of the protocol (Fluent's own Node client) to check ours against.
const ref = require('@fluent-org/logger/build/src/protocol.js');

const t0 = new EventTime(1700000000, 123456789);
const entryBytes = (entries: [unknown, object][]) => Buffer.concat(entries.map((e) => encode(e)));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ForwardProtocolError, `expected ForwardProtocolError, got ${e}`);
    return e.code;
  }
  assert.fail('expected a ForwardProtocolError');
}

describe('FrameDecoder', () => {
  it('splits frames arriving one byte at a time and in one block', () => {
    const frames = [
      encodeMessage('a', t0, { x: 1 }),
      encodeForward('b', [[t0, { y: 'z'.repeat(300) }]]),
      encodePackedForward('c', entryBytes([[1, { k: 1 }]]), { size: 1 }),
    ];
    const all = Buffer.concat(frames);
    for (const step of [1, 7, all.length]) {
      const d = new FrameDecoder({ maxFrameSize: 1 << 20 });
      const got: Buffer[] = [];
      for (let i = 0; i < all.length; i += step) {
        d.push(all.subarray(i, i + step));
        for (let f = d.next(); f; f = d.next()) got.push(Buffer.from(f));
      }
      assert.deepEqual(got, frames);
      assert.equal(d.buffered, 0);
    }
  });

  it('refuses a declared size over the limit before the bytes arrive', () => {
    const d = new FrameDecoder({ maxFrameSize: 1024 });
    const head = Buffer.from([0x93, 0xa1, 0x61, 0xc6, 0x7f, 0xff, 0xff, 0xff]); // bin32 of 2 GiB
    d.push(head);
    assert.equal(
      code(() => d.next()),
      'FRAME_TOO_LARGE',
    );
  });

  it('refuses a container declaring more elements than the limit can hold', () => {
    const d = new FrameDecoder({ maxFrameSize: 1024 });
    d.push(Buffer.from([0x92, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff]));
    assert.equal(
      code(() => d.next()),
      'FRAME_TOO_LARGE',
    );
  });

  it('refuses invalid msgpack, non-array frames and JSON', () => {
    const d1 = new FrameDecoder({ maxFrameSize: 1024 });
    d1.push(Buffer.from([0x92, 0xc1]));
    assert.equal(
      code(() => d1.next()),
      'INVALID_MSGPACK',
    );
    const d2 = new FrameDecoder({ maxFrameSize: 1024 });
    d2.push(Buffer.from([0xa3, 0x61, 0x62, 0x63]));
    assert.equal(
      code(() => d2.next()),
      'NOT_AN_ARRAY',
    );
    const d3 = new FrameDecoder({ maxFrameSize: 1024 });
    d3.push(Buffer.from('["tag", 1, {}]'));
    assert.equal(
      code(() => d3.next()),
      'JSON_NOT_SUPPORTED',
    );
  });

  it('survives deeply nested input without recursion', () => {
    const depth = 100_000;
    const buf = Buffer.alloc(depth + 1, 0x91);
    buf[depth] = 0xc0;
    const d = new FrameDecoder({ maxFrameSize: 1 << 20 });
    d.push(buf);
    assert.equal(d.next()?.length, depth + 1);
  });
});

describe('parseEventFrame', () => {
  it('Message mode becomes one entry, option read', () => {
    const f = parseEventFrame(encodeMessage('app.web', t0, { msg: 'hi' }, { chunk: 'abc' }));
    assert.equal(f.mode, 'message');
    assert.equal(f.tag, 'app.web');
    assert.equal(f.count, 1);
    assert.equal(f.option?.chunk, 'abc');
    assert.deepEqual(decodeMultiple(f.entries), [[t0, { msg: 'hi' }]]);
  });

  it('Forward mode entries are the frame bytes, not re-encoded records', () => {
    const entries: [unknown, object][] = [
      [t0, { a: 1 }],
      [1700000001, { b: [1, 2] }],
    ];
    const f = parseEventFrame(encodeForward('t', entries, { size: 2 }));
    assert.equal(f.mode, 'forward');
    assert.equal(f.count, 2);
    assert.deepEqual(f.entries, entryBytes(entries));
  });

  it('PackedForward passes the payload through and counts entries', () => {
    const payload = entryBytes([
      [t0, { a: 1 }],
      [t0, { a: 2 }],
      [t0, { a: 3 }],
    ]);
    const f = parseEventFrame(encodePackedForward('t', payload, { size: 3, chunk: 'c1' }));
    assert.equal(f.mode, 'packed');
    assert.equal(f.count, 3);
    assert.deepEqual(f.entries, payload);
    assert.equal(f.option?.chunk, 'c1');
  });

  it('accepts entries sent as msgpack str (older clients)', () => {
    const payload = entryBytes([[t0, { a: 1 }]]);
    const frame = Buffer.concat([
      Buffer.from([0x92, 0xa1, 0x74, 0xdb]),
      Buffer.from([0, 0, 0, payload.length]),
      payload,
    ]);
    const f = parseEventFrame(frame);
    assert.equal(f.count, 1);
  });

  it('CompressedPackedForward (gzip, several members) decompresses to the entries', async () => {
    const a = entryBytes([[t0, { a: 1 }]]);
    const b = entryBytes([[t0, { b: 2 }]]);
    const f = parseEventFrame(
      encodePackedForward('t', Buffer.concat([gzipSync(a), gzipSync(b)]), { compressed: 'gzip', size: 2 }),
    );
    assert.equal(f.mode, 'compressed');
    const plain = await decompressEntries('gzip', f.entries, 1 << 20);
    assert.deepEqual(plain, Buffer.concat([a, b]));
    await assert.rejects(
      decompressEntries('gzip', gzipSync(Buffer.alloc(100_000)), 1000),
      (e: ForwardProtocolError) => e.code === 'DECOMPRESSED_TOO_LARGE',
    );
    await assert.rejects(
      decompressEntries('zstd', f.entries, 1 << 20),
      (e: ForwardProtocolError) => e.code === 'UNSUPPORTED_COMPRESSION',
    );
  });

  it('rejects wrong types with a code per violation', () => {
    assert.equal(
      code(() => parseEventFrame(encode([1, t0, {}]))),
      'BAD_TAG',
    );
    assert.equal(
      code(() => parseEventFrame(encode(['', t0, {}]))),
      'BAD_TAG',
    );
    assert.equal(
      code(() => parseEventFrame(encode(['t']))),
      'BAD_FRAME',
    );
    assert.equal(
      code(() => parseEventFrame(encode(['t', t0, 'not a map']))),
      'BAD_ENTRY',
    );
    assert.equal(
      code(() => parseEventFrame(encode(['t', 'x', {}, 5]))),
      'BAD_FRAME',
    );
    assert.equal(
      code(() => parseEventFrame(encode(['t', [[t0, {}]], 'opt']))),
      'BAD_OPTION',
    );
    assert.equal(
      code(() => parseEventFrame(encode(['t', [['time', {}]]]))),
      'BAD_ENTRY',
    );
  });

  it('skip_invalid drops bad entries and keeps the others byte for byte', () => {
    const good1 = encode([t0, { a: 1 }]);
    const good2 = encode([t0, { a: 2 }]);
    const bytes = Buffer.concat([good1, encode([t0, 'bad']), good2, encode(['t', {}])]);
    const dropped: number[] = [];
    const r = checkEntries(bytes, { skipInvalid: true, onInvalid: (i) => dropped.push(i) });
    assert.equal(r.count, 2);
    assert.deepEqual(r.bytes, Buffer.concat([good1, good2]));
    assert.deepEqual(dropped, [1, 3]);
  });

  it('a nil or 0 time becomes now; [[time, meta], record] is flattened', () => {
    const r = checkEntries(Buffer.concat([encode([0, { a: 1 }]), encode([[t0, {}], { b: 2 }])]), {
      now: () => ({ sec: 42, nsec: 7 }),
    });
    assert.equal(r.count, 2);
    assert.deepEqual(decodeMultiple(r.bytes), [
      [new EventTime(42, 7), { a: 1 }],
      [t0, { b: 2 }],
    ]);
  });
});

describe('handshake', () => {
  const nonce = Buffer.from('0123456789abcdef');
  const auth = Buffer.from('fedcba9876543210');

  it('our PING is accepted by the reference implementation, with and without user auth', () => {
    const helo = parseHelo(ref.generateHelo(nonce, auth, true));
    const ping = makePing(helo, { hostname: 'client', sharedKey: 'secret', username: 'u', password: 'p' });
    assert.doesNotThrow(() =>
      ref.checkPing(
        encodeRoundTrip(ping),
        'server',
        { key: 'secret', nonce },
        { salt: auth, userDict: { u: 'p' } },
      ),
    );
    assert.throws(
      () => ref.checkPing(encodeRoundTrip(ping), 'server', { key: 'other', nonce }),
      /shared key mismatch/,
    );
    const noAuth = makePing(parseHelo(ref.generateHelo(nonce, '', true)), {
      hostname: 'client',
      sharedKey: 'secret',
    });
    assert.equal(noAuth.username, '');
    assert.equal(noAuth.passwordDigest, '');
  });

  it('the reference PONG passes our check, a wrong key or same hostname does not', () => {
    const helo = parseHelo(ref.generateHelo(nonce, '', true));
    const ping = makePing(helo, { hostname: 'client', sharedKey: 'secret' });
    const info = { salt: ping.sharedKeySalt, nonce, key: 'secret' };
    const pong = (host: string, key = 'secret') => {
      const [, ok, reason, h, digest] = ref.generatePong(host, true, '', { ...info, key });
      return { ok, reason, hostname: h, sharedKeyDigest: digest };
    };
    assert.equal(checkPong(pong('server'), ping, helo, 'secret'), undefined);
    assert.equal(checkPong(pong('server', 'wrong'), ping, helo, 'secret'), 'shared key mismatch');
    assert.match(checkPong(pong('client'), ping, helo, 'secret') ?? '', /same hostname/);
    assert.match(
      checkPong({ ok: false, reason: 'nope', hostname: '', sharedKeyDigest: '' }, ping, helo, 'secret') ?? '',
      /nope/,
    );
  });

  it('digests are sha512 hex of the concatenated parts as the spec says', () => {
    const d = sharedKeyDigest('salt', 'host', nonce, 'key');
    assert.equal(
      d,
      require('node:crypto')
        .createHash('sha512')
        .update(Buffer.concat([Buffer.from('salthost'), nonce, Buffer.from('key')]))
        .digest('hex'),
    );
    assert.equal(passwordDigest(auth, 'u', 'p').length, 128);
  });

  it('parsePing refuses malformed messages', () => {
    assert.equal(
      code(() => parsePing(['PING', 'h'])),
      'HANDSHAKE',
    );
    assert.equal(
      code(() => parsePing(['PONG', 1, 2, 3, 4, 5])),
      'HANDSHAKE',
    );
  });
});

function encodeRoundTrip(p: ReturnType<typeof makePing>): unknown[] {
  return ['PING', p.hostname, p.sharedKeySalt, p.sharedKeyDigest, p.username, p.passwordDigest];
}
