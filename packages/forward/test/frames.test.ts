import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  checkEntries,
  checkPong,
  decodeHandshake,
  decodeMultiple,
  decompressEntries,
  EventTime,
  encode,
  encodeForward,
  encodeMessage,
  encodePackedForward,
  encodePing,
  ForwardProtocolError,
  FrameDecoder,
  makePing,
  parseEventFrame,
  parseHelo,
  parsePing,
  passwordDigest,
  readHelo,
  readPing,
  readPong,
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

  // Fluent Bit writes its salts and nonces as msgpack str holding random bytes, which are
  // rarely valid UTF-8. Decoded to a JS string they lose bytes and no digest matches.
  const rawStr = (b: Buffer) => Buffer.concat([Buffer.from([0xa0 | b.length]), b]);
  const fbSalt = Buffer.from('3b6b45c5e07d49514d94fbedc2600461', 'hex'); // not UTF-8
  const fbNonce = Buffer.from('e54a8748596ffc76080b83a74e6080b7', 'hex'); // not UTF-8

  it("reads a PING whose salt is a str of non-UTF-8 bytes (Fluent Bit's out_forward) without losing a byte", () => {
    const digest = sharedKeyDigest(fbSalt, 'fb-client', fbNonce, 's3cret');
    const frame = Buffer.concat([
      Buffer.from([0x96]),
      rawStr(Buffer.from('PING')),
      rawStr(Buffer.from('fb-client')),
      rawStr(fbSalt),
      Buffer.from([0xd9, 128]),
      Buffer.from(digest),
      rawStr(Buffer.alloc(0)),
      rawStr(Buffer.alloc(0)),
    ]);
    const ping = readPing(frame);
    assert.deepEqual(ping.sharedKeySalt, fbSalt);
    assert.equal(ping.hostname, 'fb-client');
    assert.equal(sharedKeyDigest(ping.sharedKeySalt, ping.hostname, fbNonce, 's3cret'), digest);
    // the shared codec replaces the bad bytes: this is what went wrong before
    const lossy = (decodeMultiple(frame)[0] as unknown[])[2] as string;
    assert.notDeepEqual(Buffer.from(lossy), fbSalt);
  });

  it("reads a HELO whose nonce and auth are str of non-UTF-8 bytes (Fluent Bit's in_forward); our PING salt is a hex str", () => {
    const frame = Buffer.concat([
      Buffer.from([0x92]),
      rawStr(Buffer.from('HELO')),
      Buffer.from([0x82]),
      rawStr(Buffer.from('nonce')),
      rawStr(fbNonce),
      rawStr(Buffer.from('auth')),
      rawStr(fbSalt),
    ]);
    const helo = readHelo(frame);
    assert.deepEqual(helo.nonce, fbNonce);
    assert.deepEqual(helo.auth, fbSalt);
    assert.equal(helo.keepalive, true);
    const ping = makePing(helo, { hostname: 'sluice', sharedKey: 'k' });
    assert.match(String(ping.sharedKeySalt), /^[0-9a-f]{32}$/);
    const bytes = encodePing(ping);
    // element 2, the salt, is a str8 of 32 characters (Fluent Bit refuses a bin salt)
    const at = 1 + 5 + 1 + 'sluice'.length;
    assert.equal(bytes[at], 0xd9);
    assert.equal(bytes[at + 1], 32);
    assert.equal(
      readPing(bytes).sharedKeyDigest,
      sharedKeyDigest(ping.sharedKeySalt, 'sluice', fbNonce, 'k'),
    );
  });

  it('decodeHandshake: str as string when UTF-8, else bytes; bin as bytes; refuses truncation and trailing bytes', () => {
    assert.deepEqual(decodeHandshake(encode(['PONG', true, '', 'h\u00e9', 'x'])), [
      'PONG',
      true,
      '',
      'h\u00e9',
      'x',
    ]);
    assert.deepEqual(decodeHandshake(Buffer.from([0x92, 0xc4, 0x01, 0xff, 0xa1, 0xff])), [
      Buffer.from([0xff]),
      Buffer.from([0xff]),
    ]);
    assert.deepEqual(
      readPong(encode(['PONG', false, 'shared_key mismatch', '', ''])).reason,
      'shared_key mismatch',
    );
    assert.equal(
      code(() => decodeHandshake(Buffer.from([0x92, 0xa1]))),
      'HANDSHAKE',
    );
    assert.equal(
      code(() => decodeHandshake(Buffer.from([0x90, 0x00]))),
      'HANDSHAKE',
    );
    assert.equal(
      code(() => decodeHandshake(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]))),
      'HANDSHAKE',
    );
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
