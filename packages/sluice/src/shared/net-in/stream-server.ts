// The TCP (and TLS) side of the tcp and syslog inputs: accepts connections, splits each
// stream into messages (framing.ts), hands each message to the input's `MessageSink`, and
// emits what one read produced before reading more: while the outputs have not accepted it,
// the socket is paused, so TCP pushes back on the sender instead of this process buffering.
// The unfinished message each connection holds is counted against one MemoryBudget for the
// whole input (total_partial_size_limit), as in_forward's unfinished frames are.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { BudgetHolder, MemoryBudget } from '../../core/memory-budget.ts';
import type { PluginContext } from '../../core/plugin.ts';
import { TagBatches } from './batches.ts';
import type { FrameProblem, Framer } from './framing.ts';
import { type HostnameCache, type Peer, plainAddress } from './peer.ts';
import type { Reporter } from './report.ts';
import { idleOrGrace } from './stop-grace.ts';

/** What an input does with one message: adds its events (if any) to `out`. */
export type MessageSink = (b: Buffer, start: number, end: number, peer: Peer, out: TagBatches) => void;

export interface StreamServerOptions {
  ctx: PluginContext;
  /** for log lines: 'tcp', 'syslog' */
  name: string;
  port: number;
  bind: string;
  backlog?: number;
  tls?: TlsOptions;
  keepalive: boolean;
  framer: () => Framer;
  sink: MessageSink;
  budget: MemoryBudget;
  reporter: Reporter;
  /** resolve each client's name once per connection (source_hostname_key) */
  hostnames?: HostnameCache;
  /** refuses a client (tcp's <security>): returns false to close the connection */
  allow?: (address: string) => boolean;
}

export class StreamServer {
  private server: Server | undefined;
  private readonly conns = new Set<StreamConnection>();
  port = 0;

  constructor(private readonly o: StreamServerOptions) {}

  async start(): Promise<void> {
    const o = this.o;
    const server = o.tls ? createTlsServer(o.tls) : createServer();
    const onSocket = (s: Socket) => this.accept(s);
    if (o.tls) {
      server.on('secureConnection', onSocket);
      server.on('tlsClientError', (e) =>
        o.ctx.logger.warn(
          { code: 'TLS_HANDSHAKE_FAILED', err: e.message },
          `${o.name}: TLS handshake failed`,
        ),
      );
    } else server.on('connection', onSocket);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: o.port, host: o.bind, backlog: o.backlog }, () => {
        server.off('error', reject);
        server.on('error', (e) =>
          o.ctx.logger.error({ code: 'LISTEN_FAILED', err: e.message }, `${o.name}: listener error`),
        );
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
  }

  private accept(socket: Socket): void {
    const address = plainAddress(socket.remoteAddress);
    if (this.o.allow && !this.o.allow(address)) {
      this.o.reporter.problem('CLIENT_DENIED', 'warn', `anonymous client '${address}' denied`, {
        remote: address,
      });
      socket.destroy();
      return;
    }
    if (this.o.keepalive) socket.setKeepAlive(true);
    const conn = new StreamConnection(socket, address, this.o);
    this.conns.add(conn);
    socket.on('close', () => this.conns.delete(conn));
  }

  /** For tests and monitoring: what each connection holds and whether it is paused. */
  connectionStats(): { remote: string; held: number; paused: boolean }[] {
    return [...this.conns].map((c) => c.stats());
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    // Stop reading, let in-flight emits settle, then drop the connections (a message still
    // unfinished is lost with its connection, as in Fluentd). An emit held by a blocked
    // buffer must not hold shutdown.
    for (const c of this.conns) c.pause();
    await idleOrGrace(Promise.all([...this.conns].map((c) => c.idle)));
    for (const c of this.conns) c.close();
    this.conns.clear();
    await closed;
  }
}

class StreamConnection implements BudgetHolder {
  private readonly framer: Framer;
  private readonly peer: Peer;
  private readonly out = new TagBatches();
  private closed = false;
  private stopping = false;
  private busy = false;
  /** settles when the current emit round ends (for stop) */
  idle: Promise<void> = Promise.resolve();
  private readonly onMessage: (b: Buffer, s: number, e: number) => void;
  private readonly onProblem: (p: FrameProblem) => void;

  constructor(
    private readonly socket: Socket,
    address: string,
    private readonly o: StreamServerOptions,
  ) {
    this.framer = o.framer();
    this.peer = { address };
    this.onMessage = (b, s, e) => {
      try {
        o.sink(b, s, e, this.peer, this.out);
      } catch (err) {
        o.reporter.sinkFailed(o.name, err, address, b, s, e);
      }
    };
    this.onProblem = (p) => {
      o.reporter.problem(p.code, 'warn', `${o.name}: ${p.reason}${p.fatal ? '; connection closed' : ''}`, {
        remote: address,
        head: p.head,
      });
      if (p.fatal) this.close();
    };
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) =>
      o.ctx.logger.debug({ remote: address, err: e.message }, `${o.name}: connection error`),
    );
    socket.on('close', () => {
      this.closed = true;
      this.release();
    });
    if (o.hostnames) {
      const name = o.hostnames.cached(address);
      if (name !== undefined) this.peer.hostname = name;
      else {
        // Nothing is read until the name is known: every record of the connection carries it.
        socket.pause();
        void o.hostnames.lookup(address).then((n) => {
          this.peer.hostname = n;
          if (!this.closed && !this.busy && !this.stopping) socket.resume();
        });
      }
    }
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.read(d);
    // The messages read before a problem closed the connection are still emitted, as
    // Fluentd's handler has emitted each one by then.
    if (this.out.count > 0 && !this.busy) this.idle = this.emit();
  }

  private read(d: Buffer): void {
    try {
      this.framer.push(d, this.onMessage, this.onProblem);
    } catch (err) {
      this.onProblem({
        code: 'SYSLOG_BAD_FRAME',
        reason: `the stream could not be read: ${(err as Error).message}`,
        head: d.toString('utf8', 0, 32),
        fatal: true,
      });
      return;
    }
    if (this.closed) return;
    const held = this.framer.held;
    if (!this.o.budget.claim(this, held)) {
      this.o.reporter.problem(
        'INPUT_MEMORY_LIMIT',
        'warn',
        `${this.o.name}: an unfinished message needs ${held} bytes, past the input's bound of ${this.o.budget.limit} bytes for unfinished messages (total_partial_size_limit); connection closed`,
        { remote: this.peer.address },
      );
      this.close();
    }
  }

  private async emit(): Promise<void> {
    this.busy = true;
    this.socket.pause();
    try {
      // Messages read while an emit waited (a read already under way when the socket paused) go next, in order.
      while (this.out.count > 0) {
        const r = await this.out.emit(this.o.ctx);
        if (r.error) {
          // A stream protocol has no acknowledgement: the client cannot be asked to resend.
          this.o.reporter.problem(
            'EMIT_FAILED',
            'error',
            `${this.o.name}: events not accepted by the outputs (${r.error.message}); ${r.refused} dropped`,
            { remote: this.peer.address, dropped: r.refused },
            r.refused,
          );
        }
      }
    } finally {
      this.busy = false;
      if (!this.closed && !this.stopping && (this.peer.hostname !== undefined || !this.o.hostnames))
        this.socket.resume();
    }
  }

  evict(reason: string): boolean {
    if (this.closed) return true;
    this.o.reporter.problem(
      'INPUT_MEMORY_LIMIT',
      'warn',
      `${this.o.name}: connection closed to free memory: ${reason} (total_partial_size_limit)`,
      { remote: this.peer.address },
    );
    this.close();
    return true;
  }

  stats(): { remote: string; held: number; paused: boolean } {
    return { remote: this.peer.address, held: this.framer.held, paused: this.socket.isPaused() };
  }

  pause(): void {
    this.stopping = true;
    this.socket.pause();
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
    this.release();
  }

  private release(): void {
    this.framer.reset();
    this.o.budget.release(this);
  }
}
