import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions as TlsConnectOptions, connect as tlsConnect } from 'node:tls';
import {
  checkPong,
  encodePing,
  type ForwardOption,
  FrameDecoder,
  makePing,
  packedForwardParts,
  parseAck,
  readHelo,
  readPong,
  unpackr,
} from '@sluice/forward';
import { SluiceError } from '../../../core/errors.ts';

export interface ClientAuth {
  hostname: string;
  sharedKey: string;
  username?: string;
  password?: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** unix socket path (instead of host/port) */
  path?: string;
  tls?: TlsConnectOptions;
  connectTimeoutMs: number;
  auth?: ClientAuth;
  keepAliveProbe?: boolean;
}

/** A refused or broken handshake: code HANDSHAKE_FAILED in the log line. */
function handshakeError(reason: string): Error {
  return new SluiceError('HANDSHAKE_FAILED', `forward handshake failed: ${reason}`);
}

/**
 * One connection to a forward server: connect (+TLS), the client side of the v1
 * handshake, PackedForward sends, and acks matched by chunk id. Fails every waiter when
 * the socket dies, so a write never hangs on a dead peer.
 */
export class ForwardConnection {
  private readonly decoder = new FrameDecoder({ maxFrameSize: 1 << 20, expect: 'any' });
  private readonly acks = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  private onFrame: ((f: Buffer) => void) | undefined;
  private error: Error | undefined;
  /** the server allowed more than one message (HELO keepalive) */
  keepalive = true;
  lastUsed = Date.now();
  inflight = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.die(e));
    socket.on('close', () =>
      this.die(new SluiceError('FORWARD_SEND_FAILED', 'connection closed by the server')),
    );
  }

  get alive(): boolean {
    return this.error === undefined && !this.socket.destroyed;
  }

  static async open(o: ConnectOptions): Promise<ForwardConnection> {
    const target = o.path ? `${o.path}` : `${o.host}:${o.port}`;
    const socket = o.tls
      ? tlsConnect({
          ...o.tls,
          ...(o.path ? { path: o.path } : { host: o.host, port: o.port }),
          servername: o.tls.servername ?? (o.path || isIpLiteral(o.host) ? undefined : o.host),
        })
      : o.path
        ? netConnect({ path: o.path })
        : netConnect({ host: o.host, port: o.port });
    socket.setNoDelay(true);
    if (o.keepAliveProbe) socket.setKeepAlive(true);
    const conn = new ForwardConnection(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new SluiceError(
            'FORWARD_SEND_FAILED',
            `connect to ${target} timed out after ${o.connectTimeoutMs}ms`,
          ),
        );
      }, o.connectTimeoutMs);
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    if (o.auth) await conn.handshake(o.auth, o.connectTimeoutMs);
    return conn;
  }

  private async handshake(auth: ClientAuth, timeoutMs: number): Promise<void> {
    // Handshake messages are read from their bytes: a peer's nonce may be a str that is
    // not UTF-8 (Fluent Bit), which a decode to a JS string would damage.
    const helo = readHelo(await this.nextFrame(timeoutMs));
    this.keepalive = helo.keepalive;
    const ping = makePing(helo, auth);
    this.socket.write(encodePing(ping));
    let pongFrame: Buffer;
    try {
      pongFrame = await this.nextFrame(timeoutMs);
    } catch (e) {
      // Fluent Bit's in_forward closes without a PONG when the shared key does not match.
      throw handshakeError(
        `no PONG to our PING (${(e as Error).message}); ` +
          'a Fluent Bit server closes the connection this way when the shared_key does not match',
      );
    }
    const failure = checkPong(readPong(pongFrame), ping, helo, auth.sharedKey);
    if (failure) {
      this.socket.destroy();
      throw handshakeError(failure);
    }
  }

  private nextFrame(timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      const timer = setTimeout(() => {
        this.onFrame = undefined;
        this.socket.destroy();
        reject(new SluiceError('HANDSHAKE_FAILED', `no handshake message within ${timeoutMs}ms`));
      }, timeoutMs);
      this.onFrame = (f) => {
        clearTimeout(timer);
        this.onFrame = undefined;
        resolve(f);
      };
      this.acks.set('\0handshake', {
        resolve: () => undefined,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private onData(d: Buffer): void {
    try {
      this.decoder.push(d);
      for (let f = this.decoder.next(); f; f = this.decoder.next()) {
        if (this.onFrame) {
          this.acks.delete('\0handshake');
          this.onFrame(Buffer.from(f));
          continue;
        }
        const id = parseAck(unpackr.unpack(f));
        if (id !== undefined) {
          const w = this.acks.get(id);
          this.acks.delete(id);
          w?.resolve();
        }
      }
    } catch (e) {
      this.socket.destroy();
      this.die(
        new SluiceError('FORWARD_SEND_FAILED', `invalid response from the server: ${(e as Error).message}`),
      );
    }
  }

  private die(e: Error): void {
    if (this.error) return;
    this.error = e;
    for (const w of this.acks.values()) w.reject(e);
    this.acks.clear();
  }

  /**
   * Sends one PackedForward message; resolves when it is written (and, when option.chunk
   * is set, when the server acked it). Rejects on timeout or a dead connection.
   */
  async send(
    tag: string,
    entries: Buffer,
    option: ForwardOption,
    sendTimeoutMs: number,
    ackTimeoutMs: number,
  ): Promise<void> {
    if (this.error) throw this.error;
    this.inflight++;
    this.lastUsed = Date.now();
    try {
      const acked = option.chunk ? this.waitAck(option.chunk, ackTimeoutMs) : undefined;
      acked?.catch(() => undefined); // observed below; avoid an unhandled rejection if the write fails first
      const parts = packedForwardParts(tag, entries, option);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.socket.destroy();
          reject(
            new SluiceError(
              'FORWARD_SEND_FAILED',
              `send_timeout: the chunk was not written within ${sendTimeoutMs}ms`,
            ),
          );
        }, sendTimeoutMs);
        this.socket.cork();
        this.socket.write(parts[0]!);
        this.socket.write(parts[1]!);
        this.socket.write(parts[2]!, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
        this.socket.uncork();
      });
      if (acked) await acked;
    } finally {
      this.inflight--;
      this.lastUsed = Date.now();
    }
  }

  private waitAck(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        // The server may still be processing; closing makes the outcome unambiguous for this socket.
        this.socket.destroy();
        reject(
          new SluiceError(
            'FORWARD_SEND_FAILED',
            `ack_response_timeout: no ack for chunk ${id} within ${timeoutMs}ms`,
          ),
        );
      }, timeoutMs);
      this.acks.set(id, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  close(): void {
    this.socket.end();
    this.die(new SluiceError('FORWARD_SEND_FAILED', 'connection closed'));
  }
}

function isIpLiteral(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}
