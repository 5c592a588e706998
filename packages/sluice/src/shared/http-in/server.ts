import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { SectionOf } from '../../config/schema.ts';
import { MemoryBudget } from '../../core/memory-budget.ts';
import { tlsServerOptions, type transportSection } from '../../core/tls-transport.ts';
import { BodySweep, Flight, type Receiving, replyTo } from './request.ts';
import type { HttpReply, ReceiverOptions } from './types.ts';

export type { HttpReply, HttpRequest, ReceivedRequest, ReceiverOptions } from './types.ts';

/** The listener parameters in_http and postback share (their defaults differ). */
export interface ListenerParams {
  bind: string;
  port: number;
  backlog?: number;
  keepalive_timeout: number;
  body_size_limit: number;
}

/** Receiver options from the shared listener parameters and a `<transport>` section. */
export function listenerOptions(
  p: ListenerParams,
  transport: SectionOf<typeof transportSection> | undefined,
  logger: Logger,
): Pick<
  ReceiverOptions,
  'bind' | 'port' | 'backlog' | 'keepaliveTimeoutMs' | 'bodySizeLimit' | 'tls' | 'logger'
> {
  return {
    bind: p.bind,
    port: p.port,
    backlog: p.backlog,
    keepaliveTimeoutMs: p.keepalive_timeout * 1000,
    bodySizeLimit: p.body_size_limit,
    tls: tlsServerOptions(transport),
    logger,
  };
}

const DEFAULT_TOTAL_BODY_SIZE_LIMIT = 256 * 1024 * 1024;
const DEFAULT_BODY_TIMEOUT_MS = 60_000;

/**
 * The HTTP(S) listener under in_http, postback and firehose: node:http with keep-alive, a
 * body size limit enforced before and while reading, gzip/deflate bodies, and a stop that
 * lets requests in flight finish (their events are being accepted) before closing sockets.
 * A request is read with callbacks into one object (request.ts), not an async iterator and
 * a chain of promises: at tens of thousands of small requests a second those were most of
 * the receiver's own CPU.
 */
export class HttpReceiver implements Receiving {
  private server: http.Server | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  /** the memory held by request bodies in flight, across all requests (total_body_size_limit) */
  readonly budget: MemoryBudget;
  readonly sweep: BodySweep;

  constructor(readonly o: ReceiverOptions) {
    this.budget = new MemoryBudget(o.totalBodySizeLimit ?? DEFAULT_TOTAL_BODY_SIZE_LIMIT);
    this.sweep = new BodySweep(o.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS);
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server = this.o.tls ? https.createServer(this.o.tls, handler) : http.createServer(handler);
    server.keepAliveTimeout = this.o.keepaliveTimeoutMs;
    // Expect: 100-continue: refuse an announced oversize body before the client sends it.
    server.on('checkContinue', (req, res) => {
      if (this.tooLarge(req)) {
        replyTo(res, this.tooLargeReply());
        return;
      }
      res.writeContinue();
      handler(req, res);
    });
    server.on('clientError', (err, socket) => {
      this.o.logger.debug({ err: err.message }, 'http client error');
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.o.bind, port: this.o.port, backlog: this.o.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.o.port;
  }

  async stop(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((r) => {
          this.drained = r;
        }),
        new Promise<void>((r) => setTimeout(r, graceMs).unref()),
      ]);
    }
    server.closeAllConnections();
    this.sweep.stop();
    await closed;
  }

  /** A request is done (answered or dropped). */
  settled(): void {
    if (--this.inFlight === 0 && this.drained) this.drained();
  }

  private tooLarge(req: IncomingMessage): boolean {
    const cl = req.headers['content-length'];
    return cl !== undefined && Number(cl) > this.o.bodySizeLimit;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const head = this.o.onHead?.(req, path);
    if (head) {
      req.resume();
      replyTo(res, head);
      return;
    }
    if (this.tooLarge(req)) {
      req.resume();
      replyTo(res, this.tooLargeReply());
      return;
    }
    this.inFlight++;
    new Flight(this, req, res, path, q < 0 ? '' : url.slice(q + 1)).listen();
  }

  /** 413 in the same shape as the other errors: status line, then the reason. */
  tooLargeReply(): HttpReply {
    return {
      status: 413,
      headers: { ...TEXT, Connection: 'close' },
      body: `413 Request Entity Too Large\nthe request body is larger than body_size_limit (${this.o.bodySizeLimit} bytes)\n`,
    };
  }
}

const TEXT = { 'Content-Type': 'text/plain' };
