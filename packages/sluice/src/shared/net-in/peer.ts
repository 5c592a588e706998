import { reverse } from 'node:dns/promises';

/** Where a message came from: the address (IPv4-mapped IPv6 shown as IPv4, as Ruby does) and, when asked for, its name. */
export interface Peer {
  address: string;
  hostname?: string;
}

export function plainAddress(a: string | undefined): string {
  if (!a) return '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

const TTL_MS = 60_000;
const MAX_NAMES = 1024;

/**
 * Reverse lookups of client addresses (resolve_hostname), cached for a minute: a UDP input
 * would otherwise ask the resolver once per datagram. An address without a name is its own
 * name, as Fluentd's getnameinfo gives.
 */
export class HostnameCache {
  private readonly names = new Map<string, { name: string; at: number }>();
  private readonly inflight = new Map<string, Promise<string>>();

  /** The cached name, or undefined when it must be looked up. */
  cached(address: string): string | undefined {
    const hit = this.names.get(address);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.name;
    return undefined;
  }

  lookup(address: string): Promise<string> {
    const hit = this.cached(address);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = this.inflight.get(address);
    if (!p) {
      p = reverse(address)
        .then((names) => names[0] ?? address)
        .catch(() => address)
        .then((name) => {
          this.inflight.delete(address);
          if (this.names.size >= MAX_NAMES) this.names.delete(this.names.keys().next().value!);
          this.names.set(address, { name, at: Date.now() });
          return name;
        });
      this.inflight.set(address, p);
    }
    return p;
  }
}
