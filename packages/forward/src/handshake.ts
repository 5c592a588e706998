import { createHash, randomBytes } from 'node:crypto';
import { packr } from './codec.ts';
import { ForwardProtocolError } from './errors.ts';

// The handshake of Forward Protocol v1 (Fluentd in_forward / out_forward <security>):
//   server -> HELO  ['HELO', {nonce, auth, keepalive}]
//   client -> PING  ['PING', client_hostname, shared_key_salt,
//                    sha512_hex(shared_key_salt + client_hostname + nonce + shared_key),
//                    username, sha512_hex(auth_salt + username + password)]   ('' , '' without user auth)
//   server -> PONG  ['PONG', auth_result, reason, server_hostname,
//                    sha512_hex(shared_key_salt + server_hostname + nonce + shared_key)]
// Digests hash every part as the bytes that were on the wire. Peers differ in the types:
//   Fluentd in_forward:   HELO nonce and auth as bin (16 random bytes).
//   Fluentd out_forward:  PING salt as str (32 hex characters, SecureRandom.hex(16)).
//   Fluent Bit in_forward:  HELO nonce and auth as str holding 16 random bytes (not UTF-8);
//                           refuses a PING whose salt (or any field) is not a str.
//   Fluent Bit out_forward: PING salt as str holding 16 random bytes (not UTF-8).
// So handshake messages are decoded with decodeHandshake (a str that is not valid UTF-8
// stays bytes; msgpackr would replace the bad bytes and the digest would not match), and
// our PING sends its salt as Fluentd does: a str of 32 hex characters.

export type Bytes = Buffer | Uint8Array | string;

export function sharedKeyDigest(salt: Bytes, hostname: string, nonce: Bytes, sharedKey: string): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

export function passwordDigest(authSalt: Bytes, username: string, password: string): string {
  return createHash('sha512').update(authSalt).update(username).update(password).digest('hex');
}

let random: (size: number) => Buffer = randomBytes;

/**
 * Replaces the source of nonces and salts, for tests that replay a recorded handshake
 * (a recorded PING only matches the nonce it answered). Returns the function that puts
 * the default (crypto.randomBytes) back.
 */
export function setHandshakeRandom(source: (size: number) => Buffer): () => void {
  random = source;
  return () => {
    random = randomBytes;
  };
}

/** 16 random bytes: our HELO nonce and user-auth salt (sent as bin, as Fluentd does). */
export function randomSalt(): Buffer {
  return random(16);
}

/**
 * The salt of our PING: 32 hex characters sent as str, as Fluentd's out_forward does
 * (SecureRandom.hex(16)). Fluent Bit's in_forward refuses a salt that is not a str.
 */
export function pingSalt(): string {
  return random(16).toString('hex');
}

export interface Helo {
  nonce: Bytes;
  /** user-auth salt; empty when the server does not require username/password */
  auth: Bytes;
  keepalive: boolean;
}

export interface Ping {
  hostname: string;
  sharedKeySalt: Bytes;
  sharedKeyDigest: string;
  username: string;
  passwordDigest: string;
}

export interface Pong {
  ok: boolean;
  reason: string;
  hostname: string;
  sharedKeyDigest: string;
}

export function encodeHelo(h: Helo): Buffer {
  return packr.pack(['HELO', { nonce: h.nonce, auth: h.auth, keepalive: h.keepalive }]);
}

export function encodePing(p: Ping): Buffer {
  return packr.pack(['PING', p.hostname, p.sharedKeySalt, p.sharedKeyDigest, p.username, p.passwordDigest]);
}

export function encodePong(p: Pong): Buffer {
  return packr.pack(['PONG', p.ok, p.reason, p.hostname, p.sharedKeyDigest]);
}

const isBytes = (v: unknown): v is Bytes => typeof v === 'string' || v instanceof Uint8Array;

function bad(what: string): never {
  throw new ForwardProtocolError('HANDSHAKE', what);
}

export function parseHelo(v: unknown): Helo {
  if (!Array.isArray(v) || v[0] !== 'HELO' || v.length !== 2) bad('expected a HELO message');
  const o = v[1] as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') bad('HELO options must be a map');
  const nonce = o.nonce;
  if (!isBytes(nonce)) bad('HELO nonce missing');
  const auth = o.auth ?? '';
  if (!isBytes(auth)) bad('HELO auth salt must be bytes');
  return { nonce, auth, keepalive: o.keepalive !== false };
}

export function parsePing(v: unknown): Ping {
  if (!Array.isArray(v) || v[0] !== 'PING') bad('expected a PING message');
  if (v.length !== 6) bad(`a PING message has 6 elements, got ${v.length}`);
  const [, hostname, salt, digest, username, pw] = v;
  if (typeof hostname !== 'string' || !isBytes(salt) || typeof digest !== 'string')
    bad('malformed PING message');
  return {
    hostname,
    sharedKeySalt: salt,
    sharedKeyDigest: digest,
    username: typeof username === 'string' ? username : '',
    passwordDigest: typeof pw === 'string' ? pw : '',
  };
}

export function parsePong(v: unknown): Pong {
  if (!Array.isArray(v) || v[0] !== 'PONG' || v.length !== 5) bad('expected a PONG message');
  const [, ok, reason, hostname, digest] = v;
  return {
    ok: ok === true,
    reason: typeof reason === 'string' ? reason : '',
    hostname: typeof hostname === 'string' ? hostname : '',
    sharedKeyDigest: typeof digest === 'string' ? digest : '',
  };
}

/** Client side: builds the PING answering a HELO. */
export function makePing(
  helo: Helo,
  c: { hostname: string; sharedKey: string; username?: string; password?: string },
  salt: Bytes = pingSalt(),
): Ping {
  const userAuth = helo.auth.length > 0;
  return {
    hostname: c.hostname,
    sharedKeySalt: salt,
    sharedKeyDigest: sharedKeyDigest(salt, c.hostname, helo.nonce, c.sharedKey),
    username: userAuth ? (c.username ?? '') : '',
    passwordDigest: userAuth ? passwordDigest(helo.auth, c.username ?? '', c.password ?? '') : '',
  };
}

/** Client side: checks a PONG; returns the failure reason, or undefined when the server is authenticated. */
export function checkPong(pong: Pong, ping: Ping, helo: Helo, sharedKey: string): string | undefined {
  if (!pong.ok) return `authentication failed: ${pong.reason}`;
  if (pong.hostname === ping.hostname) return 'same hostname between input and output: invalid configuration';
  if (pong.sharedKeyDigest !== sharedKeyDigest(ping.sharedKeySalt, pong.hostname, helo.nonce, sharedKey)) {
    return 'shared key mismatch';
  }
  return undefined;
}

// A small msgpack reader for handshake messages (a few hundred bytes at most). Unlike the
// shared codec it keeps every byte: a str is a JS string only when it is valid UTF-8 (then
// its UTF-8 encoding is the wire bytes again), otherwise a Buffer; bin is a Buffer.
const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_DEPTH = 8;

/** Decodes one handshake message (HELO, PING or PONG) without losing the bytes of its strings. */
export function decodeHandshake(bytes: Uint8Array): unknown {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n: number) => {
    if (p + n > b.length) bad('truncated handshake message');
  };
  const raw = (n: number): Buffer => {
    need(n);
    const v = b.subarray(p, p + n);
    p += n;
    return v;
  };
  const str = (n: number): string | Buffer => {
    const v = raw(n);
    try {
      return utf8.decode(v);
    } catch {
      return Buffer.from(v);
    }
  };
  const uint = (n: 1 | 2 | 4): number => {
    need(n);
    const v = n === 1 ? b.readUInt8(p) : n === 2 ? b.readUInt16BE(p) : b.readUInt32BE(p);
    p += n;
    return v;
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) bad('handshake message nested too deep');
    const t = uint(1);
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xf0) === 0x80) return map(t & 0x0f, depth);
    if ((t & 0xf0) === 0x90) return array(t & 0x0f, depth);
    if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return Buffer.from(raw(uint(1)));
      case 0xc5:
        return Buffer.from(raw(uint(2)));
      case 0xc6:
        return Buffer.from(raw(uint(4)));
      case 0xca:
        return raw(4).readFloatBE(0);
      case 0xcb:
        return raw(8).readDoubleBE(0);
      case 0xcc:
        return uint(1);
      case 0xcd:
        return uint(2);
      case 0xce:
        return uint(4);
      case 0xcf:
        return Number(raw(8).readBigUInt64BE(0));
      case 0xd0:
        return raw(1).readInt8(0);
      case 0xd1:
        return raw(2).readInt16BE(0);
      case 0xd2:
        return raw(4).readInt32BE(0);
      case 0xd3:
        return Number(raw(8).readBigInt64BE(0));
      case 0xd9:
        return str(uint(1));
      case 0xda:
        return str(uint(2));
      case 0xdb:
        return str(uint(4));
      case 0xdc:
        return array(uint(2), depth);
      case 0xdd:
        return array(uint(4), depth);
      case 0xde:
        return map(uint(2), depth);
      case 0xdf:
        return map(uint(4), depth);
      default:
        return bad(`unexpected msgpack type 0x${t.toString(16)} in a handshake message`);
    }
  };
  const array = (n: number, depth: number): unknown[] => {
    if (n > b.length - p) bad('truncated handshake message');
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(value(depth + 1));
    return a;
  };
  const map = (n: number, depth: number): Record<string, unknown> => {
    if (n > b.length - p) bad('truncated handshake message');
    const o: Record<string, unknown> = Object.create(null);
    for (let i = 0; i < n; i++) {
      const k = value(depth + 1);
      const v = value(depth + 1);
      if (typeof k === 'string') o[k] = v;
    }
    return o;
  };
  const v = value(0);
  if (p !== b.length) bad('trailing bytes after a handshake message');
  return v;
}

/** parseHelo over the bytes of one frame. */
export function readHelo(frame: Uint8Array): Helo {
  return parseHelo(decodeHandshake(frame));
}

/** parsePing over the bytes of one frame. */
export function readPing(frame: Uint8Array): Ping {
  return parsePing(decodeHandshake(frame));
}

/** parsePong over the bytes of one frame. */
export function readPong(frame: Uint8Array): Pong {
  return parsePong(decodeHandshake(frame));
}
