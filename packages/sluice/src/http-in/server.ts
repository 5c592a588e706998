import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Resolved } from '../config/schema.ts';
import { tlsServerOptions } from '../core/tls-transport.ts';
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

/**
 * The HTTP(S) listener under in_http and postback: node:http with keep-alive, a body
 * size limit enforced before and while reading, gzip/deflate bodies, and a stop that lets
 * requests in flight finish (their events are being accepted) before closing sockets.
 */
export class HttpReceiver {
  private server: http.Server | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly o: ReceiverOptions) {}

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server = this.o.tls ? https.createServer(this.o.tls, handler) : http.createServer(handler);
    server.keepAliveTimeout = this.o.keepaliveTimeoutMs;
    // Expect: 100-continue: refuse an announced oversize body before the client sends it.
    server.on('checkContinue', (req, res) => {
      if (this.tooLarge(req)) {
        this.reply(res, { status: 413, headers: { ...TEXT, Connection: 'close' }, body: 'Too large' });
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
      this.reply(res, { status: 413, headers: { ...TEXT, Connection: 'close' }, body: 'Too large' });
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
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.o.bodySizeLimit) {
        over = true;
        break;
      }
      chunks.push(chunk);
    }
    if (over) {
      this.reply(res, { status: 413, headers: { ...TEXT, Connection: 'close' }, body: 'Too large' });
      return;
    }
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
