import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { TlsOptions } from 'node:tls';
import type { Logger } from 'pino';

// The receiver's types, apart from server.ts so that request.ts can use them without an
// import cycle; server.ts re-exports them for the plugins.

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

/** A request as the receiver hands it to onRequest: it can also be answered later. */
export interface ReceivedRequest extends HttpRequest {
  /**
   * Answers the request (once): for an onRequest that returned undefined, after the
   * request's events were accepted or refused.
   */
  respond(reply: HttpReply): void;
  /** Answers 500 with the error's message and logs it (the deferred form of a throw). */
  fail(err: unknown): void;
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
  /**
   * Handles a request whose body is in: its answer, a promise of it, or undefined when
   * the handler will call req.respond() (or req.fail()) itself later, which spares a
   * promise per request (in_http answers a batch of requests at once).
   */
  onRequest(req: ReceivedRequest): Promise<HttpReply> | HttpReply | undefined;
}
