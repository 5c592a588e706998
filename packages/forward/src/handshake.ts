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
// Salts and nonces are raw bytes (msgpack bin); digests hash them as bytes, strings as UTF-8.

export type Bytes = Buffer | Uint8Array | string;

export function sharedKeyDigest(salt: Bytes, hostname: string, nonce: Bytes, sharedKey: string): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

export function passwordDigest(authSalt: Bytes, username: string, password: string): string {
  return createHash('sha512').update(authSalt).update(username).update(password).digest('hex');
}

export function randomSalt(): Buffer {
  return randomBytes(16);
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
  salt: Bytes = randomSalt(),
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
