// The UDP side of the udp and syslog inputs. UDP cannot push back on a sender: datagrams
// that arrive while the outputs have not yet accepted the previous ones wait in a queue
// whose bytes are counted against a MemoryBudget (queue_size_limit); past it they are
// dropped, counted and reported (UDP_QUEUE_FULL), never held. Datagrams longer than
// message_length_limit are cut to it, as Fluentd's recvfrom(max_bytes) cuts them, but
// reported (UDP_TRUNCATED) rather than silently.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { BudgetHolder, MemoryBudget } from '../../core/memory-budget.ts';
import type { PluginContext } from '../../core/plugin.ts';
import { TagBatches } from './batches.ts';
import { type HostnameCache, type Peer, plainAddress } from './peer.ts';
import type { Reporter } from './report.ts';
import { idleOrGrace } from './stop-grace.ts';
import type { MessageSink } from './stream-server.ts';

export interface UdpReceiverOptions {
  ctx: PluginContext;
  name: string;
  port: number;
  bind: string;
  /** datagrams are cut to this many bytes (message_length_limit) */
  maxBytes: number;
  /** SO_RCVBUF (receive_buffer_size) */
  receiveBufferSize?: number;
  /** strip one trailing "\r\n", "\n" or "\r" (Ruby's chomp) from each datagram */
  chomp: boolean;
  sink: MessageSink;
  /** bounds the bytes of datagrams waiting for the outputs */
  budget: MemoryBudget;
  reporter: Reporter;
  hostnames?: HostnameCache;
}

/** Most datagrams in one round of emits. */
const MAX_ROUND = 5000;

interface Datagram {
  data: Buffer;
  address: string;
}

export class UdpReceiver implements BudgetHolder {
  private socket: Socket | undefined;
  private queue: Datagram[] = [];
  private queued = 0;
  private draining = false;
  private stopped = false;
  private readonly out = new TagBatches(16 * 1024);
  /** settles when the queue has been worked through (for stop and tests) */
  idle: Promise<void> = Promise.resolve();
  port = 0;
  /** datagrams read from the socket (queued or dropped) */
  received = 0;
  /** called after each datagram was queued or dropped (tests wait on it) */
  readonly watchers = new Set<() => void>();

  constructor(private readonly o: UdpReceiverOptions) {}

  async start(): Promise<void> {
    const o = this.o;
    const socket = createSocket({
      type: isIPv6(o.bind) ? 'udp6' : 'udp4',
      reuseAddr: o.ctx.workers > 1,
      recvBufferSize: o.receiveBufferSize,
    });
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(o.port, o.bind, () => {
        socket.off('error', reject);
        socket.on('error', (e) =>
          o.ctx.logger.warn({ code: 'UDP_SOCKET_ERROR', err: e.message }, `${o.name}: UDP socket error`),
        );
        resolve();
      });
    });
    this.socket = socket;
    this.port = socket.address().port;
  }

  private onMessage(msg: Buffer, from: string): void {
    if (this.stopped) return;
    this.received++;
    this.take(msg, from);
    for (const w of this.watchers) w();
  }

  private take(msg: Buffer, from: string): void {
    const o = this.o;
    let data = msg;
    if (data.length > o.maxBytes) {
      o.reporter.problem(
        'UDP_TRUNCATED',
        'warn',
        `${o.name}: a datagram of ${data.length} bytes was cut to message_length_limit (${o.maxBytes})`,
        { remote: plainAddress(from) },
      );
      data = data.subarray(0, o.maxBytes);
    }
    if (!o.budget.claim(this, this.queued + data.length)) {
      o.reporter.problem(
        'UDP_QUEUE_FULL',
        'warn',
        `${o.name}: datagrams waiting for the outputs passed queue_size_limit (${o.budget.limit} bytes); dropping datagrams`,
        { remote: plainAddress(from) },
      );
      return;
    }
    this.queued += data.length;
    this.queue.push({ data, address: from });
    if (!this.draining) {
      this.draining = true;
      // After the poll phase: every datagram read in it goes into one round of batches.
      this.idle = new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    const o = this.o;
    try {
      while (this.queue.length > 0) {
        const round = this.queue.length <= MAX_ROUND ? this.queue : this.queue.slice(0, MAX_ROUND);
        this.queue = round === this.queue ? [] : this.queue.slice(MAX_ROUND);
        const names = o.hostnames ? await this.names(round) : undefined;
        let bytes = 0;
        for (const d of round) {
          bytes += d.data.length;
          const address = plainAddress(d.address);
          const peer: Peer = { address, hostname: names?.get(address) };
          let e = d.data.length;
          if (o.chomp) {
            if (e > 0 && d.data[e - 1] === 0x0a) e--;
            if (e > 0 && d.data[e - 1] === 0x0d) e--;
          }
          try {
            o.sink(d.data, 0, e, peer, this.out);
          } catch (err) {
            o.reporter.sinkFailed(o.name, err, address, d.data, 0, e);
          }
        }
        const r = await this.out.emit(o.ctx);
        if (r.error) {
          o.reporter.problem(
            'EMIT_FAILED',
            'error',
            `${o.name}: events not accepted by the outputs (${r.error.message}); ${r.refused} dropped`,
            { dropped: r.refused },
            r.refused,
          );
        }
        this.queued -= bytes;
        o.budget.claim(this, this.queued);
      }
    } finally {
      this.draining = false;
    }
  }

  private async names(round: Datagram[]): Promise<Map<string, string>> {
    const m = new Map<string, string>();
    const cache = this.o.hostnames!;
    for (const d of round) {
      const a = plainAddress(d.address);
      if (m.has(a)) continue;
      m.set(a, cache.cached(a) ?? (await cache.lookup(a)));
    }
    return m;
  }

  /** BudgetHolder: the queue is not a client connection; it cannot be closed to make room. */
  evict(): boolean {
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    // What was received is emitted before stop resolves; an emit held by a blocked buffer
    // must not hold shutdown.
    await idleOrGrace(this.idle);
    this.o.budget.release(this);
  }
}
