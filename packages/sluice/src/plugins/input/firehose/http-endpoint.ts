// Firehose's HTTP endpoint destination: a delivery stream in AWS POSTs batches of records to
// a URL. Format per AWS's "HTTP endpoint delivery request and response specifications":
// headers X-Amz-Firehose-Request-Id (the same on every attempt of one request),
// X-Amz-Firehose-Access-Key (the configured key, verbatim), X-Amz-Firehose-Source-Arn,
// an `application/json` body `{requestId, timestamp, records: [{data: base64}]}`, maybe
// gzip; the answer is `{requestId, timestamp}` with 200, or with `errorMessage` and a
// 4xx/5xx status, after which Firehose retries the whole request.
import { timingSafeEqual } from 'node:crypto';
import type { HttpReply, HttpRequest } from '../../../shared/http-in/server.ts';
import type { RecordEmitter } from './records.ts';

export interface HttpEndpointOptions {
  /** X-Amz-Firehose-Access-Key must equal this when set */
  accessKey: string | undefined;
  /** a fixed tag; else the stream name of X-Amz-Firehose-Source-Arn through tagOf */
  tag: string | undefined;
  tagOf(stream: string): string;
}

/** How many accepted request ids are remembered, so a retry of an answered request is not emitted twice. */
const SEEN_MAX = 4096;

class EndpointError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class HttpEndpoint {
  private readonly seen = new Set<string>();

  constructor(
    private readonly o: HttpEndpointOptions,
    private readonly emitter: RecordEmitter,
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
  ) {}

  async handle(req: HttpRequest): Promise<HttpReply> {
    const header = (n: string) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    let requestId = header('x-amz-firehose-request-id') ?? '';
    try {
      if (
        this.o.accessKey !== undefined &&
        !sameSecret(header('x-amz-firehose-access-key'), this.o.accessKey)
      )
        throw new EndpointError(
          401,
          'X-Amz-Firehose-Access-Key is missing or wrong',
          'FIREHOSE_HTTP_ACCESS_DENIED',
        );
      let body: { requestId?: unknown; records?: unknown };
      try {
        body = JSON.parse(req.body.toString('utf8')) as typeof body;
      } catch (e) {
        throw new EndpointError(
          400,
          `the body is not JSON: ${(e as Error).message}`,
          'FIREHOSE_HTTP_BAD_REQUEST',
        );
      }
      if (typeof body?.requestId === 'string') requestId ||= body.requestId;
      if (!Array.isArray(body?.records))
        throw new EndpointError(400, "the body has no 'records' array", 'FIREHOSE_HTTP_BAD_REQUEST');
      const tag = this.tagFor(header('x-amz-firehose-source-arn'));
      if (requestId !== '' && this.seen.has(requestId)) return answer(200, requestId);
      const data: Buffer[] = [];
      for (const [i, r] of (body.records as { data?: unknown }[]).entries()) {
        if (typeof r?.data !== 'string')
          throw new EndpointError(400, `records[${i}] has no base64 'data'`, 'FIREHOSE_HTTP_BAD_REQUEST');
        data.push(Buffer.from(r.data, 'base64'));
      }
      if (data.length > 0) {
        // All or nothing: Firehose resends the whole request after an error.
        const results = await this.emitter.emit(tag, data, false);
        const failed = results.find((r) => 'ErrorCode' in r);
        if (failed && 'ErrorCode' in failed)
          throw new EndpointError(
            failed.ErrorCode === 'ServiceUnavailableException' ? 503 : 500,
            failed.ErrorMessage,
            'FIREHOSE_RECORDS_REFUSED',
          );
      }
      if (requestId !== '') this.remember(requestId);
      return answer(200, requestId);
    } catch (e) {
      if (!(e instanceof EndpointError)) throw e;
      this.warn({ code: e.code, requestId, error: e.message }, 'firehose http endpoint request refused');
      return answer(e.status, requestId, e.message);
    }
  }

  private tagFor(arn: string | undefined): string {
    if (this.o.tag !== undefined) return this.o.tag;
    const m = arn ? /:deliverystream\/([^/]+)$/.exec(arn) : null;
    if (!m)
      throw new EndpointError(
        400,
        'X-Amz-Firehose-Source-Arn names no delivery stream (and http_endpoint_tag is not set)',
        'FIREHOSE_HTTP_BAD_REQUEST',
      );
    return this.o.tagOf(m[1]!);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value as string);
  }
}

function sameSecret(got: string | undefined, want: string): boolean {
  if (got === undefined) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

function answer(status: number, requestId: string, errorMessage?: string): HttpReply {
  const body: Record<string, unknown> = { requestId, timestamp: Date.now() };
  if (errorMessage !== undefined) body.errorMessage = errorMessage;
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}
