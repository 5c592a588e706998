import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import {
  encodeHelo,
  encodePong,
  type Helo,
  type Ping,
  passwordDigest,
  randomSalt,
  sharedKeyDigest,
} from '@sluice/forward';

/** `<security>` of in_forward, resolved. */
export interface SecurityConfig {
  selfHostname: string;
  sharedKey: string;
  userAuth: boolean;
  allowAnonymousSource: boolean;
  users: { username: string; password: string }[];
  clients: ClientRule[];
}

export interface ClientRule {
  host?: string;
  network?: string;
  sharedKey?: string;
  /** usernames allowed from this client (all users when empty) */
  users: string[];
}

interface CompiledClient {
  match: BlockList;
  sharedKey?: string;
  users: string[];
}

/**
 * Server side of the v1 handshake. Client rules are compiled once (hosts resolved at
 * start, networks as CIDR block lists), then each connection gets a Session.
 */
export class Security {
  private clients: CompiledClient[] = [];

  constructor(readonly config: SecurityConfig) {}

  async prepare(): Promise<void> {
    this.clients = [];
    for (const c of this.config.clients) {
      const match = new BlockList();
      if (c.network) {
        const [addr, bits] = c.network.split('/');
        const family = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
        match.addSubnet(addr!, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
      }
      if (c.host) {
        const addrs = isIP(c.host)
          ? [{ address: c.host, family: isIP(c.host) }]
          : await lookup(c.host, { all: true });
        for (const a of addrs) match.addAddress(a.address, a.family === 6 ? 'ipv6' : 'ipv4');
      }
      this.clients.push({ match, sharedKey: c.sharedKey, users: c.users });
    }
  }

  session(keepalive: boolean): Session {
    return new Session(this, keepalive);
  }

  findClient(address: string): CompiledClient | undefined {
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    return this.clients.find((c) => c.match.check(plain, family));
  }
}

export class Session {
  private readonly nonce = randomSalt();
  private readonly authSalt: Buffer;
  readonly helo: Helo;

  constructor(
    private readonly security: Security,
    keepalive: boolean,
  ) {
    this.authSalt = security.config.userAuth ? randomSalt() : Buffer.alloc(0);
    this.helo = { nonce: this.nonce, auth: this.authSalt, keepalive };
  }

  heloBytes(): Buffer {
    return encodeHelo(this.helo);
  }

  /** Checks a PING; returns the PONG to send and whether the client is authenticated. */
  answer(ping: Ping, remoteAddress: string): { ok: boolean; reason: string; pong: Buffer } {
    const cfg = this.security.config;
    const fail = (reason: string) => ({
      ok: false,
      reason,
      pong: encodePong({ ok: false, reason, hostname: '', sharedKeyDigest: '' }),
    });
    const client = this.security.findClient(remoteAddress);
    if (!client && !cfg.allowAnonymousSource) return fail(`anonymous source host '${remoteAddress}' denied`);
    const key = client?.sharedKey ?? cfg.sharedKey;
    if (ping.sharedKeyDigest !== sharedKeyDigest(ping.sharedKeySalt, ping.hostname, this.nonce, key)) {
      return fail('shared_key mismatch');
    }
    if (cfg.userAuth) {
      const allowed = client && client.users.length > 0 ? client.users : undefined;
      const ok = cfg.users.some(
        (u) =>
          u.username === ping.username &&
          (!allowed || allowed.includes(u.username)) &&
          passwordDigest(this.authSalt, u.username, u.password) === ping.passwordDigest,
      );
      if (!ok) return fail('username/password mismatch');
    }
    const digest = sharedKeyDigest(ping.sharedKeySalt, cfg.selfHostname, this.nonce, key);
    return {
      ok: true,
      reason: '',
      pong: encodePong({ ok: true, reason: '', hostname: cfg.selfHostname, sharedKeyDigest: digest }),
    };
  }
}
