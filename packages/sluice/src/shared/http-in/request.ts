// One request of the HTTP receiver from its headers to its answer, as one object with
// callbacks (its 'data'/'end' listeners are shared functions that find it on the request),
// and the answers written from header lists made once per constant reply.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorCodeOf, SluiceError } from '../../core/errors.ts';
import type { BudgetHolder, MemoryBudget } from '../../core/memory-budget.ts';
import { BodyError, decodeBody } from './decode.ts';
import type { HttpReply, ReceivedRequest, ReceiverOptions } from './types.ts';

/** What a request needs of its receiver. */
export interface Receiving {
  readonly o: ReceiverOptions;
  readonly budget: MemoryBudget;
  readonly sweep: BodySweep;
  tooLargeReply(): HttpReply;
  settled(): void;
}

const FLIGHT = Symbol('sluice.http.flight');
type Carrying = IncomingMessage & { [FLIGHT]?: Flight };

const READING = 0;
const PROCESSING = 1;
const DONE = 2;

function onData(this: Carrying, chunk: Buffer): void {
  this[FLIGHT]?.data(chunk);
}
function onEnd(this: Carrying): void {
  this[FLIGHT]?.end();
}
function onError(this: Carrying, e: Error): void {
  this[FLIGHT]?.broken(e);
}
function onClose(this: Carrying): void {
  this[FLIGHT]?.broken(undefined);
}

/**
 * A request whose body is being read or processed: the memory budget's holder, the
 * HttpRequest its handler gets, and the one who answers it.
 */
export class Flight implements BudgetHolder, ReceivedRequest {
  private state = READING;
  /** still reading the body (only then may it be closed to free memory) */
  private reading = true;
  /** why it was closed before its body was whole */
  private stop: { code: string; reason: string } | undefined;
  private first: Buffer | undefined;
  private more: Buffer[] | undefined;
  private size = 0;
  /** ms without a byte, as the sweep counts them */
  idleMs = 0;
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  remoteAddr: string | undefined;
  body: Buffer = EMPTY;
  private readonly remote: string | undefined;
  private readonly socket: Socket;

  constructor(
    private readonly rx: Receiving,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly path: string,
    readonly query: string,
  ) {
    this.method = req.method ?? 'POST';
    this.headers = req.headers;
    this.socket = req.socket;
    this.remote = req.socket.remoteAddress;
  }

  listen(): void {
    const req = this.req as Carrying;
    req[FLIGHT] = this;
    this.rx.sweep.add(this);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  }

  evict(reason: string): boolean {
    if (!this.reading) return false;
    this.stop ??= {
      code: 'INPUT_MEMORY_LIMIT',
      reason: `closed to free memory: ${reason} (total_body_size_limit)`,
    };
    this.req.destroy();
    this.socket.destroy();
    return true;
  }

  /** No byte for body_timeout. */
  timedOut(): void {
    this.stop ??= {
      code: 'BODY_TIMEOUT',
      reason: `the request body got no byte for ${this.rx.sweep.timeoutMs / 1000} s (body_timeout)`,
    };
    this.req.destroy();
    this.socket.destroy();
  }

  data(chunk: Buffer): void {
    if (this.state !== READING) return;
    this.idleMs = 0;
    this.size += chunk.length;
    if (this.size > this.rx.o.bodySizeLimit) {
      this.abandon();
      this.respond(this.rx.tooLargeReply());
      return;
    }
    if (!this.rx.budget.claim(this, this.size)) {
      this.abandon();
      this.refuseForMemory(this.size);
      return;
    }
    if (this.first === undefined) this.first = chunk;
    else (this.more ??= [this.first]).push(chunk);
  }

  end(): void {
    if (this.state !== READING) return;
    this.state = PROCESSING;
    this.reading = false;
    this.rx.sweep.delete(this);
    const body = this.more ? Buffer.concat(this.more, this.size) : (this.first ?? EMPTY);
    this.first = this.more = undefined;
    const enc = this.headers['content-encoding'];
    if (enc === undefined) {
      this.process(body);
      return;
    }
    decodeBody(body, enc, this.rx.o.decompressionSizeLimit).then(
      (b) => {
        // A decompressed body counts as what it grew to.
        if (this.state !== PROCESSING) return;
        if (!this.rx.budget.claim(this, b.length)) this.refuseForMemory(b.length);
        else this.process(b);
      },
      (e: unknown) => {
        if (this.state !== PROCESSING) return;
        if (e instanceof BodyError)
          this.respond({
            status: e.status,
            headers: TEXT,
            body: `${e.status} ${http.STATUS_CODES[e.status]}\n${e.message}\n`,
          });
        else this.fail(e);
      },
    );
  }

  /** The request errored or closed before it was answered. */
  broken(e: Error | undefined): void {
    if (this.state === DONE) return;
    if (this.state === PROCESSING && e === undefined) return; // read whole; the answer is coming
    if (this.stop) {
      this.settle();
      return;
    }
    this.fail(e ?? new SluiceError('HTTP_REQUEST_FAILED', 'the request closed before its body was whole'));
  }

  respond(reply: HttpReply): void {
    if (this.state === DONE) return;
    replyTo(this.res, reply);
    this.settle();
  }

  fail(err: unknown): void {
    if (this.state === DONE) return;
    this.rx.o.logger.error({ code: errorCodeOf(err) ?? 'HTTP_REQUEST_FAILED', err }, 'http request failed');
    if (!this.res.headersSent)
      replyTo(this.res, {
        status: 500,
        headers: TEXT,
        body: `500 Internal Server Error\n${(err as Error)?.message}\n`,
      });
    this.settle();
  }

  private process(body: Buffer): void {
    this.body = body;
    const xff = this.headers['x-forwarded-for'];
    const forwarded = Array.isArray(xff) ? xff[0] : xff;
    this.remoteAddr = forwarded ? forwarded.split(',')[0]!.trim() : this.remote;
    let r: Promise<HttpReply> | HttpReply | undefined;
    try {
      r = this.rx.o.onRequest(this);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (r === undefined) return; // the handler answers later
    if (r instanceof Promise)
      r.then(
        (reply) => this.respond(reply),
        (e: unknown) => this.fail(e),
      );
    else this.respond(r);
  }

  /**
   * Stops taking the body: the rest is read and dropped while the answer (which closes the
   * connection) goes out; destroying the request would close the socket before it.
   */
  private abandon(): void {
    this.state = PROCESSING;
    this.reading = false;
    this.first = this.more = undefined;
    this.rx.sweep.delete(this);
  }

  /** 503: the body would take the receiver past total_body_size_limit; the client may retry. */
  /** (The rest of the body is not read; Node closes the connection once the answer is out.) */
  private refuseForMemory(bytes: number): void {
    const reason = `a request body of ${bytes} bytes would pass the bound of ${this.rx.budget.limit} bytes for bodies in flight (total_body_size_limit)`;
    this.rx.o.logger.warn(
      { code: 'INPUT_MEMORY_LIMIT', remote: this.remote },
      `http request refused: ${reason}`,
    );
    this.respond({
      status: 503,
      headers: { ...TEXT, Connection: 'close', 'Retry-After': '1' },
      body: `503 Service Unavailable\nINPUT_MEMORY_LIMIT: ${reason}\n`,
    });
  }

  private settle(): void {
    this.state = DONE;
    this.reading = false;
    this.body = EMPTY;
    this.first = this.more = undefined;
    this.rx.sweep.delete(this);
    this.rx.budget.release(this);
    (this.req as Carrying)[FLIGHT] = undefined;
    if (this.stop)
      this.rx.o.logger.warn(
        { code: this.stop.code, remote: this.remote },
        `http request dropped: ${this.stop.reason}`,
      );
    this.rx.settled();
  }
}

const EMPTY = Buffer.alloc(0);
const TEXT = { 'Content-Type': 'text/plain' };

/**
 * body_timeout for every request being read, by one timer per receiver rather than one per
 * request: each tick adds its period to the idle time of every request being read, and a
 * byte sets it back to 0, so a request is closed between body_timeout and one period later.
 */
export class BodySweep {
  private readonly reading = new Set<Flight>();
  private timer: NodeJS.Timeout | undefined;
  private readonly every: number;

  constructor(readonly timeoutMs: number) {
    this.every = Math.max(10, Math.min(1000, timeoutMs / 4));
  }

  add(f: Flight): void {
    if (this.timeoutMs <= 0) return;
    this.reading.add(f);
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.every);
    this.timer.unref();
  }

  delete(f: Flight): void {
    this.reading.delete(f);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.reading.size === 0) {
      this.stop();
      return;
    }
    for (const f of this.reading) {
      f.idleMs += this.every;
      if (f.idleMs > this.timeoutMs) {
        this.reading.delete(f);
        f.timedOut();
      }
    }
  }
}

interface Prepared {
  headers: string[];
  body: Buffer | string | undefined;
}
/** Header lists of frozen (constant) replies, made on their first use. */
const prepared = new WeakMap<HttpReply, Prepared>();

function prepare(r: HttpReply): Prepared {
  const headers: string[] = [];
  let type = false;
  for (const k in r.headers) {
    if (k === 'Content-Type') type = true;
    headers.push(k, r.headers[k]!);
  }
  if (r.status === 204) return { headers, body: undefined };
  const body = r.body ?? '';
  if (!type) headers.push('Content-Type', 'text/plain');
  headers.push('Content-Length', String(Buffer.byteLength(body)));
  return { headers, body };
}

/** Writes a reply; a frozen one's header list is made once. */
export function replyTo(res: ServerResponse, r: HttpReply): void {
  let p = prepared.get(r);
  if (p === undefined) {
    p = prepare(r);
    if (Object.isFrozen(r)) prepared.set(r, p);
  }
  res.writeHead(r.status, p.headers);
  res.end(p.body);
}
