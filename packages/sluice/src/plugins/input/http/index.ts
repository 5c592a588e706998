import type { IncomingMessage } from 'node:http';
import { defineParams, defineSchema, type ParamsOf, type Resolved } from '../../../config/schema.ts';
import type { EventRecord } from '../../../core/batch.ts';
import { ConfigError, isBufferOverflow } from '../../../core/errors.ts';
import type { InputPlugin, ParserPlugin, PluginContext, PluginDescriptor } from '../../../core/plugin.ts';
import { transportSection } from '../../../core/tls-transport.ts';
import { EmitCoalescer } from '../../../shared/http-in/coalesce.ts';
import { parseForm } from '../../../shared/http-in/form.ts';
import {
  HttpReceiver,
  type HttpReply,
  type HttpRequest,
  listenerOptions,
  type ReceivedRequest,
} from '../../../shared/http-in/server.ts';
import { type CorsOptions, corsHeaders, originAllowed, preflight } from './cors.ts';
import { addDefaultEvents, addParsedEvent, BadRequestError, type RequestInput } from './events.ts';

const params = defineParams({
  port: { type: 'integer', min: 0, max: 65535, description: 'The port to listen to.', default: 9880 },
  bind: { type: 'string', description: 'The bind address to listen to.', default: '0.0.0.0' },
  body_size_limit: {
    type: 'size',
    description: 'The size limit of a request body (413 above it).',
    default: 32 * 1024 * 1024,
  },
  decompression_size_limit: {
    type: 'size',
    description: 'The size limit of a gzip/deflate body once decompressed.',
    default: 256 * 1024 * 1024,
  },
  total_body_size_limit: {
    type: 'size',
    description:
      "Sluice: bound on the memory held by request bodies in flight across all of this input's requests (per worker). A body that would pass it is answered 503 (error INPUT_MEMORY_LIMIT), or the request holding the most is closed to make room.",
    default: 256 * 1024 * 1024,
  },
  body_timeout: {
    type: 'time',
    description:
      'Sluice: a request whose body gets no byte for this long is closed (error BODY_TIMEOUT); 0 disables.',
    default: 60,
  },
  keepalive_timeout: {
    type: 'time',
    description: 'Seconds an idle keep-alive connection stays open.',
    default: 10,
  },
  backlog: { type: 'integer', description: 'The listen backlog.', default: null },
  add_http_headers: {
    type: 'bool',
    description: 'Add every request header to the record as HTTP_<NAME>.',
    default: false,
  },
  add_remote_addr: {
    type: 'bool',
    description: "Add REMOTE_ADDR (X-Forwarded-For's first address, else the peer) to the record.",
    default: false,
  },
  add_query_params: {
    type: 'bool',
    description: 'Add every query parameter to the record as QUERY_<NAME>.',
    default: false,
  },
  add_tag_prefix: {
    type: 'string',
    description: 'Prefix added to the tag taken from the path.',
    default: null,
  },
  blocking_timeout: {
    type: 'time',
    description: 'Accepted for compatibility (a Fluentd event-loop setting); no effect.',
    default: 0.5,
  },
  cors_allow_origins: {
    type: 'array',
    description: "Origins allowed by CORS; '*' allows any, an entry may hold one '*' wildcard.",
    default: null,
  },
  cors_allow_credentials: {
    type: 'bool',
    description: 'Send Access-Control-Allow-Credentials for allowed origins (needs specific origins).',
    default: false,
  },
  respond_with_empty_img: {
    type: 'bool',
    description: 'Answer with a 1x1 empty GIF instead of an empty body.',
    default: false,
  },
  use_204_response: { type: 'bool', description: 'Answer 204 No Content instead of 200.', default: false },
  dump_error_log: { type: 'bool', description: 'Log a line for every refused request.', default: true },
});

type Params = ParamsOf<typeof params>;

const EMPTY_GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=', 'base64');
const TEXT = { 'Content-Type': 'text/plain' };
// Frozen: the receiver writes a frozen reply from a header list it makes once.
const OK: HttpReply = Object.freeze({ status: 200, headers: TEXT, body: '' });
const NO_CONTENT: HttpReply = Object.freeze({ status: 204 });
const IMG: HttpReply = Object.freeze({
  status: 200,
  headers: { 'Content-Type': 'image/gif; charset=utf-8' },
  body: EMPTY_GIF,
});
/** Tags of the paths seen (a path names its tag), bounded against clients that vary it. */
const TAG_CACHE_MAX = 1024;

/** Fluentd's in_http: POST /<tag> with JSON, msgpack, ndjson, form fields or a `<parse>`d body. */
export class HttpInput implements InputPlugin {
  readonly receiver: HttpReceiver;
  private readonly cors: CorsOptions | undefined;
  private readonly parser: ParserPlugin | undefined;
  private readonly success: HttpReply;
  private readonly batches: EmitCoalescer;
  private readonly tags = new Map<string, string>();

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Resolved<typeof schema>,
  ) {
    if (p.cors_allow_credentials && (!p.cors_allow_origins || p.cors_allow_origins.includes('*'))) {
      throw new ConfigError(
        'cors_allow_credentials needs specific cors_allow_origins (not none, not *)',
        config.element.location,
      );
    }
    if (p.add_tag_prefix === '')
      throw new ConfigError("'add_tag_prefix' must not be empty", config.element.location);
    this.cors = p.cors_allow_origins
      ? { origins: p.cors_allow_origins, credentials: p.cors_allow_credentials }
      : undefined;
    const parse = config.sections.parse;
    const parseType = parse?.element.params.findLast((x) => x.key === '@type' || x.key === 'type')?.value;
    if (parse && parseType && parseType !== 'in_http')
      this.parser = ctx.createNested<ParserPlugin>('parser', parse.element);
    this.success = p.respond_with_empty_img ? IMG : p.use_204_response ? NO_CONTENT : OK;
    this.batches = new EmitCoalescer(
      (batch) => ctx.emit(batch),
      (req, err) => req.respond(this.withCors(req, err === undefined ? this.success : this.emitFailed(err))),
    );
    this.receiver = new HttpReceiver({
      ...listenerOptions(p, config.sections.transport, ctx.logger),
      decompressionSizeLimit: p.decompression_size_limit,
      totalBodySizeLimit: p.total_body_size_limit,
      bodyTimeoutMs: p.body_timeout * 1000,
      onHead: (req, path) => this.onHead(req, path),
      onRequest: (req) => this.onRequest(req),
    });
  }

  async start(): Promise<void> {
    await this.receiver.start();
    this.ctx.logger.info({ bind: this.p.bind, port: this.receiver.port }, 'listening http');
  }

  async stop(): Promise<void> {
    await this.receiver.stop();
  }

  private onHead(req: IncomingMessage, path: string): HttpReply | undefined {
    const method = req.method ?? 'POST';
    if (method === 'GET' || method === 'HEAD') {
      // GET /healthz is Sluice's; any other GET gets Fluentd's empty 200 (used by load-balancer probes).
      if (path === '/healthz')
        return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"status":"ok"}' };
      return { status: 200, headers: { ...TEXT, Connection: 'close' }, body: '' };
    }
    if (method === 'OPTIONS') {
      const r = preflight(this.cors, req.headers);
      return { status: r.status, headers: { ...r.headers, Connection: 'close' }, body: '' };
    }
    const origin = req.headers.origin;
    if (
      this.cors &&
      origin !== undefined &&
      !this.cors.origins.includes('*') &&
      !originAllowed(this.cors, origin)
    ) {
      return {
        status: 403,
        headers: { ...TEXT, Connection: 'close' },
        body: `403 Forbidden\norigin '${origin}' is not in cors_allow_origins\n`,
      };
    }
    return undefined;
  }

  /**
   * The request's events go into this turn's batch for its tag (shared with the other
   * requests of the turn); it is answered once that batch is accepted, or at once when it
   * is refused or brings no event.
   */
  private onRequest(req: ReceivedRequest): HttpReply | undefined {
    const tag = this.tagOf(req.path);
    if (!tag)
      return this.refuse(
        req,
        new BadRequestError('the request path names the tag: POST /<tag>, e.g. /app.access'),
      );
    const out = this.batches.builder(tag);
    const len = out.len;
    const count = out.count;
    try {
      const contentType = String(req.headers['content-type'] ?? '');
      const fields = req.query === '' ? new Map<string, Buffer>() : parseForm(req.query);
      if (!this.parser && /^application\/x-www-form-urlencoded/i.test(contentType))
        parseForm(req.body, fields);
      const input: RequestInput = {
        contentType,
        body: req.body,
        params: fields,
        extra: this.extraFields(req),
      };
      if (this.parser) addParsedEvent(input, this.parser, out);
      else addDefaultEvents(input, out);
    } catch (e) {
      out.rollback(len, count);
      if (!(e instanceof BadRequestError)) throw e;
      return this.refuse(req, e);
    }
    if (out.count === count) return this.withCors(req, this.success);
    this.batches.wait(tag, req);
    return undefined;
  }

  private refuse(req: HttpRequest, e: BadRequestError): HttpReply {
    if (this.p.dump_error_log)
      this.ctx.logger.warn(
        { code: 'HTTP_REQUEST_REFUSED', path: req.path, error: e.message },
        'http request refused',
      );
    return this.withCors(req, { status: 400, headers: TEXT, body: `400 Bad Request\n${e.message}\n` });
  }

  /** The answer to a request whose batch the pipeline refused. */
  private emitFailed(e: unknown): HttpReply {
    if (isBufferOverflow(e)) {
      return {
        status: 503,
        headers: { ...TEXT, 'Retry-After': '1' },
        body: `503 Service Unavailable\n${(e as Error).message}\n`,
      };
    }
    if (this.p.dump_error_log) this.ctx.logger.error({ code: 'EMIT_FAILED', err: e }, 'failed to emit data');
    return { status: 500, headers: TEXT, body: `500 Internal Server Error\n${(e as Error).message}\n` };
  }

  private withCors(req: HttpRequest, reply: HttpReply): HttpReply {
    if (!this.cors) return reply;
    const h = corsHeaders(this.cors, req.headers.origin);
    return h ? { ...reply, headers: { ...reply.headers, ...h } } : reply;
  }

  /** POST /a/b -> a.b (with add_tag_prefix); '' when the path names none. */
  private tagOf(path: string): string {
    const known = this.tags.get(path);
    if (known !== undefined) return known;
    let tag = path
      .slice(1)
      .split('/')
      .filter((s) => s !== '')
      .join('.');
    if (this.p.add_tag_prefix) tag = tag ? `${this.p.add_tag_prefix}.${tag}` : this.p.add_tag_prefix;
    if (this.tags.size >= TAG_CACHE_MAX) this.tags.clear();
    this.tags.set(path, tag);
    return tag;
  }

  private extraFields(req: HttpRequest): EventRecord | undefined {
    if (!this.p.add_http_headers && !this.p.add_query_params && !this.p.add_remote_addr) return undefined;
    const extra: EventRecord = {};
    if (this.p.add_http_headers) {
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined)
          extra[`HTTP_${k.replaceAll('-', '_').toUpperCase()}`] = Array.isArray(v) ? v.join(', ') : v;
      }
    }
    if (this.p.add_query_params) {
      for (const [k, v] of parseForm(req.query))
        extra[`QUERY_${k.replaceAll('-', '_').toUpperCase()}`] = v.toString('utf8');
    }
    if (this.p.add_remote_addr) extra.REMOTE_ADDR = req.remoteAddr;
    return extra;
  }
}

const schema = defineSchema({
  params,
  sections: {
    parse: {
      description: "How to read a body other than Fluentd's json/msgpack/form rules (whole body = one text).",
      plugin: 'parser',
    },
    transport: transportSection,
  },
});

const descriptor: PluginDescriptor<HttpInput, typeof schema> = {
  kind: 'input',
  multiWorkers: true,
  type: 'http',
  description:
    "Receives events over HTTP as Fluentd's in_http does: POST /<tag> with a JSON, msgpack or ndjson body, json=/msgpack= form fields, or any text with <parse>.",
  schema,
  create: (config, ctx) => new HttpInput(config.params, ctx, config),
};

export default descriptor;
