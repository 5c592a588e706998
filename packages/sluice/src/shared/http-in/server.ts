import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Resolved } from '../../config/schema.ts';
import { type BudgetHolder, MemoryBudget } from '../../core/memory-budget.ts';
import { tlsServerOptions } from '../../core/tls-transport.ts';
import { BodyError, decodeBody } from './decode.ts';

/** One request with its body read and decompressed. */
export interface HttpRequest {
  method: string;
  /** path without the query string, as sent (not percent-decoded) */
  path: string;
  /** raw query string without '?', '' when none */
  query: string;
  headers: http.IncomingHttpHeaders;
  /** X-Forwarded-For's first address, else the peer's */
  remoteAddr: string | undefined;
  body: Buffer;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface ReceiverOptions {
  bind: string;
  port: number;
  backlog?: number;
  keepaliveTimeoutMs: number;
  bodySizeLimit: number;
  decompressionSizeLimit: number;
  /** bound on the bytes of all request bodies in flight (default 256 MiB) */
  totalBodySizeLimit?: number;
  /** ms a request body may go without a byte before the request is closed; 0 = none (default 60 s) */
  bodyTimeoutMs?: number;
  tls?: TlsOptions;
  logger: Logger;
  /**
   * Answers a request whose headers are in, before its body is read (OPTIONS, GET, a
   * refused origin); undefined means "read the body and call onRequest".
   */
  onHead?(req: IncomingMessage, path: string): HttpReply | undefined;
  onRequest(req: HttpRequest): Promise<HttpReply> | HttpReply;
}

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
  transport: Resolved | undefined,
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

const TEXT = { 'Content-Type': 'text/plain' };

/** A request whose body is being read or processed, as the memory budget sees it. */
interface InFlight extends BudgetHolder {
  /** still reading the body (only then may it be closed to free memory) */
  reading: boolean;
  /** the client's address and connection (req.socket is gone once the request is destroyed) */
  remote: string | undefined;
  socket: Socket;
  /** why it was closed before its body was whole */
  stop: { code: string; reason: string } | undefined;
}
const DEFAULT_TOTAL_BODY_SIZE_LIMIT = 256 * 1024 * 1024;
const DEFAULT_BODY_TIMEOUT_MS = 60_000;

/**
 * The HTTP(S) listener under in_http and postback: node:http with keep-alive, a body
 * size limit enforced before and while reading, gzip/deflate bodies, and a stop that lets
 * requests in flight finish (their events are being accepted) before closing sockets.
 */
export class HttpReceiver {
  private server: http.Server | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  /** the memory held by request bodies in flight, across all requests (total_body_size_limit) */
  readonly budget: MemoryBudget;

  constructor(private readonly o: ReceiverOptions) {
    this.budget = new MemoryBudget(o.totalBodySizeLimit ?? DEFAULT_TOTAL_BODY_SIZE_LIMIT);
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server = this.o.tls ? https.createServer(this.o.tls, handler) : http.createServer(handler);
    server.keepAliveTimeout = this.o.keepaliveTimeoutMs;
    // Expect: 100-continue: refuse an announced oversize body before the client sends it.
    server.on('checkContinue', (req, res) => {
      if (this.tooLarge(req)) {
        this.reply(res, this.tooLargeReply());
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
    await closed;
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
      this.reply(res, head);
      return;
    }
    if (this.tooLarge(req)) {
      req.resume();
      this.reply(res, this.tooLargeReply());
      return;
    }
    this.inFlight++;
    this.read(req, res, path, q < 0 ? '' : url.slice(q + 1))
      .catch((e: unknown) => {
        this.o.logger.error({ err: e }, 'http request failed');
        if (!res.headersSent)
          this.reply(res, {
            status: 500,
            headers: TEXT,
            body: `500 Internal Server Error\n${(e as Error).message}\n`,
          });
      })
      .finally(() => {
        if (--this.inFlight === 0 && this.drained) this.drained();
      });
  }

  private async read(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    // The body's bytes count against the receiver's bound from its first chunk until the
    // answer is sent. While it is being read, a bigger claim elsewhere may close it, and so
    // may body_timeout; once read, it is processed and only then let go.
    const remote = req.socket.remoteAddress;
    const flight: InFlight = {
      remote,
      socket: req.socket,
      reading: true,
      stop: undefined,
      evict: (reason) => {
        if (!flight.reading) return false;
        flight.stop ??= {
          code: 'INPUT_MEMORY_LIMIT',
          reason: `closed to free memory: ${reason} (total_body_size_limit)`,
        };
        req.destroy();
        flight.socket.destroy();
        return true;
      },
    };
    try {
      await this.readHeld(req, res, path, query, flight);
    } catch (e) {
      if (!flight.stop) throw e;
    } finally {
      this.budget.release(flight);
    }
    if (flight.stop)
      this.o.logger.warn({ code: flight.stop.code, remote }, `http request dropped: ${flight.stop.reason}`);
  }

  private async readHeld(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
    flight: InFlight,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let refused = false;
    const timeoutMs = this.o.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            flight.stop ??= {
              code: 'BODY_TIMEOUT',
              reason: `the request body got no byte for ${timeoutMs / 1000} s (body_timeout)`,
            };
            req.destroy();
            flight.socket.destroy();
          }, timeoutMs)
        : undefined;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        timer?.refresh();
        size += chunk.length;
        if (size > this.o.bodySizeLimit) {
          over = true;
          break;
        }
        if (!this.budget.claim(flight, size)) {
          refused = true;
          break;
        }
        chunks.push(chunk);
      }
    } finally {
      clearTimeout(timer);
    }
    if (flight.stop) return; // closed while reading: the body is not whole
    if (over) {
      this.reply(res, this.tooLargeReply());
      return;
    }
    if (refused) return this.refuseForMemory(flight, res, size);
    let body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    try {
      body = await decodeBody(body, req.headers['content-encoding'], this.o.decompressionSizeLimit);
    } catch (e) {
      if (e instanceof BodyError)
        return this.reply(res, {
          status: e.status,
          headers: TEXT,
          body: `${e.status} ${http.STATUS_CODES[e.status]}\n${e.message}\n`,
        });
      throw e;
    }
    flight.reading = false;
    // A decompressed body counts as what it grew to.
    if (!this.budget.claim(flight, body.length)) return this.refuseForMemory(flight, res, body.length);
    const xff = req.headers['x-forwarded-for'];
    const forwarded = Array.isArray(xff) ? xff[0] : xff;
    const reply = await this.o.onRequest({
      method: req.method ?? 'POST',
      path,
      query,
      headers: req.headers,
      remoteAddr: forwarded ? forwarded.split(',')[0]!.trim() : req.socket.remoteAddress,
      body,
    });
    this.reply(res, reply);
  }

  /** 503: the body would take the receiver past total_body_size_limit; the client may retry. */
  /** (The rest of the body is not read; Node closes the connection once the answer is out.) */
  private refuseForMemory(flight: InFlight, res: ServerResponse, bytes: number): void {
    const reason = `a request body of ${bytes} bytes would pass the bound of ${this.budget.limit} bytes for bodies in flight (total_body_size_limit)`;
    this.o.logger.warn(
      { code: 'INPUT_MEMORY_LIMIT', remote: flight.remote },
      `http request refused: ${reason}`,
    );
    this.reply(res, {
      status: 503,
      headers: { ...TEXT, Connection: 'close', 'Retry-After': '1' },
      body: `503 Service Unavailable\nINPUT_MEMORY_LIMIT: ${reason}\n`,
    });
  }

  /** 413 in the same shape as the other errors: status line, then the reason. */
  private tooLargeReply(): HttpReply {
    return {
      status: 413,
      headers: { ...TEXT, Connection: 'close' },
      body: `413 Request Entity Too Large\nthe request body is larger than body_size_limit (${this.o.bodySizeLimit} bytes)\n`,
    };
  }

  private reply(res: ServerResponse, r: HttpReply): void {
    const body = r.body ?? '';
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.status !== 204) {
      headers['Content-Type'] ??= 'text/plain';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    res.writeHead(r.status, headers);
    res.end(r.status === 204 ? undefined : body);
  }
}
