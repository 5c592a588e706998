import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';
import type { ForwardOption } from '@sluice/forward';
import type { Logger } from 'pino';
import { errorCodeOf, SluiceError } from '../../../core/errors.ts';
import { type ClientAuth, ForwardConnection } from './connection.ts';
import { FailureDetector } from './failure-detector.ts';

export interface NodeSettings {
  name: string;
  host: string;
  port: number;
  weight: number;
  standby: boolean;
  auth?: ClientAuth;
  tls?: TlsConnectOptions;
  heartbeatType: 'transport' | 'tcp' | 'udp' | 'none';
  heartbeatIntervalS: number;
  phiFailureDetector: boolean;
  phiThreshold: number;
  hardTimeoutS: number;
  recoverWaitS: number;
  connectTimeoutMs: number;
  sendTimeoutMs: number;
  ackTimeoutMs: number;
  keepalive: boolean;
  keepaliveTimeoutS: number | undefined;
  sendKeepalivePacket: boolean;
  /** seconds a resolved address is reused; undefined = forever, 0 = resolve every time */
  expireDnsCacheS: number | undefined;
  dnsRoundRobin: boolean;
}

/**
 * One `<server>`: its address (with the DNS cache), availability as judged by heartbeats
 * and the phi accrual detector, and the connection(s) chunks are sent over.
 */
export class ForwardNode {
  available = true;
  private readonly failure: FailureDetector;
  private conn: ForwardConnection | undefined;
  private connecting: Promise<ForwardConnection> | undefined;
  private addrs: string[] = [];
  private addrAt = 0;
  private rr = 0;
  private udp: UdpSocket | undefined;
  private failedAt = 0;
  /** how many times close() ran: a connection opened across one is closed at once */
  private closes = 0;
  /** warm()'s connect while it runs (never rejects) */
  private warming: Promise<void> | undefined;

  constructor(
    readonly s: NodeSettings,
    private readonly log: Logger,
  ) {
    this.failure = new FailureDetector(s.heartbeatIntervalS, s.hardTimeoutS, now());
  }

  toString(): string {
    return `${this.s.name} (${this.s.host}:${this.s.port})`;
  }

  async resolve(): Promise<string> {
    // An empty host (`host "#{ENV['X']}"` with X unset) is Ruby's INADDR_ANY: Fluentd's
    // getaddrinfo("") gives 0.0.0.0, which a connect reaches as this machine.
    const host = this.s.host === '' ? '0.0.0.0' : this.s.host;
    if (isIP(host)) return host;
    const fresh =
      this.addrs.length > 0 &&
      (this.s.expireDnsCacheS === undefined || now() - this.addrAt < this.s.expireDnsCacheS);
    if (!fresh) {
      const found = await lookup(host, { all: true });
      this.addrs = found.map((a) => a.address);
      this.addrAt = now();
      if (this.addrs.length === 0) throw new SluiceError('FORWARD_NO_SERVER', `${host} does not resolve`);
    }
    if (!this.s.dnsRoundRobin) return this.addrs[0]!;
    return this.addrs[this.rr++ % this.addrs.length]!;
  }

  private async open(): Promise<ForwardConnection> {
    const host = await this.resolve();
    return ForwardConnection.open({
      host,
      port: this.s.port,
      tls: this.s.tls
        ? {
            ...this.s.tls,
            servername: this.s.tls.servername ?? (isIP(this.s.host) ? undefined : this.s.host),
          }
        : undefined,
      connectTimeoutMs: this.s.connectTimeoutMs,
      auth: this.s.auth,
      keepAliveProbe: this.s.sendKeepalivePacket,
    });
  }

  /** A connection to send over: the kept-alive one when usable, else a new one. */
  private async connection(): Promise<{ conn: ForwardConnection; reuse: boolean }> {
    if (!this.s.keepalive) return { conn: await this.open(), reuse: false };
    // A chunk during warm()'s connect takes that connection; if it failed, connects itself.
    if (this.warming !== undefined) await this.warming;
    const c = this.conn;
    const expired =
      c &&
      this.s.keepaliveTimeoutS !== undefined &&
      c.inflight === 0 &&
      Date.now() - c.lastUsed > this.s.keepaliveTimeoutS * 1000;
    if (c?.alive && c.keepalive && !expired) return { conn: c, reuse: true };
    if (c && expired) c.close();
    this.conn = undefined;
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    const fresh = await this.connecting;
    if (fresh.keepalive) this.conn = fresh;
    return { conn: fresh, reuse: fresh.keepalive };
  }

  /**
   * With keepalive, opens the connection now instead of at the first chunk, which then goes
   * out without waiting for a connect (an agent's first lines arrive that much sooner). A
   * server that is not up yet is tried again by the first chunk, as without this.
   */
  warm(): void {
    if (!this.s.keepalive || this.conn !== undefined || this.warming !== undefined) return;
    const closes = this.closes;
    this.warming = this.open()
      .then(
        (conn) => {
          if (this.closes === closes && conn.keepalive && this.conn === undefined) this.conn = conn;
          else conn.close();
        },
        (e: Error) =>
          this.log.debug(
            { server: String(this), err: e.message },
            'could not connect ahead of the first chunk',
          ),
      )
      .finally(() => {
        this.warming = undefined;
      });
  }

  /** Sends one chunk's PackedForward message (and waits for its ack when requested). */
  async send(tag: string, entries: Buffer, option: ForwardOption): Promise<void> {
    const { conn, reuse } = await this.connection();
    try {
      await conn.send(tag, entries, option, this.s.sendTimeoutMs, this.s.ackTimeoutMs);
    } finally {
      if (!reuse) conn.close();
    }
    // A successful send is as good as a heartbeat for this node's liveness.
    if (this.s.heartbeatType === 'none') this.available = true;
  }

  /** Connects (with TLS and the handshake when configured) and disconnects: verify_connection_at_startup. */
  async verify(): Promise<void> {
    (await this.open()).close();
  }

  /** Takes the node out of rotation after a failed connect or send. */
  markFailed(err: Error): void {
    this.conn?.close();
    this.conn = undefined;
    this.failedAt = now();
    if (this.available)
      this.log.warn(
        {
          code: errorCodeOf(err) ?? 'FORWARD_SERVER_DETACHED',
          server: this.toString(),
          err: err.message,
          // the system's code (ECONNREFUSED...) of a socket error
          cause: { code: (err as { code?: unknown }).code },
        },
        'detached forwarding server',
      );
    this.available = false;
    this.failure.clear(now());
  }

  // ---- heartbeats -----------------------------------------------------------------------

  /** One heartbeat round: probe, then judge availability (Fluentd's tick). */
  async beat(): Promise<void> {
    const t = now();
    if (this.s.heartbeatType === 'none') {
      // Without heartbeats a failed node is retried after recover_wait.
      if (!this.available && t - this.failedAt >= this.s.recoverWaitS) {
        this.available = true;
        this.log.warn(
          { code: 'FORWARD_SERVER_RECOVERED', server: this.toString() },
          'recovered forwarding server (recover_wait elapsed, heartbeat none)',
        );
      }
      return;
    }
    if (this.s.heartbeatType === 'udp') this.sendUdpProbe();
    else void this.tcpProbe();
    this.judge(t);
  }

  private judge(t: number): void {
    if (!this.available) {
      if (this.failure.hardTimedOut(t)) this.failure.clear(t);
      return;
    }
    if (this.failure.hardTimedOut(t)) {
      this.detach({ hard_timeout: true });
    } else if (this.s.phiFailureDetector) {
      const phi = this.failure.phi(t);
      if (phi > this.s.phiThreshold) this.detach({ phi, phi_threshold: this.s.phiThreshold });
    }
  }

  private detach(why: Record<string, unknown>): void {
    this.log.warn(
      { code: 'FORWARD_SERVER_DETACHED', server: this.toString(), ...why },
      'detached forwarding server',
    );
    this.available = false;
    this.addrs = [];
    this.failure.clear(now());
  }

  /** A heartbeat arrived (a probe succeeded). */
  heartbeat(): void {
    this.failure.add(now());
    const recoverSamples = this.s.recoverWaitS / this.s.heartbeatIntervalS;
    if (!this.available && this.failure.sampleSize > recoverSamples) {
      this.available = true;
      this.log.warn(
        { code: 'FORWARD_SERVER_RECOVERED', server: this.toString() },
        'recovered forwarding server',
      );
    }
  }

  private async tcpProbe(): Promise<void> {
    try {
      const c = await ForwardConnection.open({
        host: await this.resolve(),
        port: this.s.port,
        tls: this.s.heartbeatType === 'transport' ? this.s.tls : undefined,
        connectTimeoutMs: Math.max(100, this.s.heartbeatIntervalS * 1000),
      });
      c.close();
      this.heartbeat();
    } catch {
      // a missed heartbeat: phi grows until the node is detached
    }
  }

  private sendUdpProbe(): void {
    if (!this.udp) {
      const udp = createSocket(isIP(this.s.host) === 6 ? 'udp6' : 'udp4');
      udp.on('message', () => this.heartbeat());
      udp.on('error', () => undefined);
      udp.unref();
      this.udp = udp;
    }
    this.resolve().then(
      (host) => {
        // dgram refuses port 0 (an empty port in the config) at once: the probe is missed.
        if (this.s.port > 0) this.udp?.send(Buffer.from([0]), this.s.port, host, () => undefined);
      },
      () => undefined,
    );
  }

  close(): void {
    this.closes++;
    this.conn?.close();
    this.conn = undefined;
    this.udp?.close();
    this.udp = undefined;
  }
}

function now(): number {
  return Date.now() / 1000;
}
