import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { ConfigElement } from '../../../config/ast.ts';
import { defineSchema, type Resolved } from '../../../config/schema.ts';
import { BufferPool } from '../../../core/buffer-pool.ts';
import { ConfigError, NotImplementedPluginError, SluiceError } from '../../../core/errors.ts';
import type {
  Chunk,
  FormatterPlugin,
  OutputPlugin,
  PluginContext,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { type BodyBuilder, defaultContentType, formatted, jsonArray, jsonLines } from './body.ts';
import { createDispatcher } from './client.ts';
import { authSection, type Params, params } from './params.ts';

const gzip = promisify(gzipCb);
const PLACEHOLDER = /[$%]\{[^}]+\}/g;
const MARK = 'sluice-placeholder.invalid';
/** `scheme://authority`, the part of the endpoint before its path. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * A tag part or record value put into the endpoint's path or query: percent-encoded as a URI
 * component, so it can add no path segment, query parameter or fragment (`a/b?c=1` ->
 * `a%2Fb%3Fc%3D1`). A value that is a whole dot segment (`.`, `..`) has its dots encoded and
 * the request path is sent as expanded, not normalised (a URL parser would resolve even
 * `%2E%2E` and climb out of the path).
 */
export function escapeUrlValue(value: string): string {
  if (value === '.' || value === '..') return value.replaceAll('.', '%2E');
  try {
    return encodeURIComponent(value);
  } catch {
    // a lone surrogate: as UTF-8 would carry it (U+FFFD)
    return encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
  }
}

const schema = defineSchema({
  params,
  sections: {
    format: {
      description: 'How events are written into the body (default json: one JSON object per line).',
      plugin: 'formatter',
    },
    auth: authSection,
  },
});

/** Fluentd's out_http: one request per chunk, through a keep-alive pool. */
export class HttpOutput implements OutputPlugin {
  private readonly dispatcher: Dispatcher;
  private readonly body: BodyBuilder;
  private readonly retryable: Set<number>;
  private readonly staticHost: string;
  private readonly staticHeaders: Record<string, string>;
  private readonly method: 'POST' | 'PUT';
  private readonly pool: BufferPool;
  private readonly reuseBodies: boolean;
  /** the endpoint split where its path starts: placeholder values after it are URL-encoded */
  private readonly originTemplate: string;
  private readonly pathTemplate: string;

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Resolved<typeof schema>,
  ) {
    const where = config.element.location;
    try {
      this.staticHost = new URL(p.endpoint.replace(PLACEHOLDER, MARK)).host;
    } catch (e) {
      throw new ConfigError(`Invalid endpoint URI: ${p.endpoint} (${(e as Error).message})`, where);
    }
    this.originTemplate = ORIGIN.exec(p.endpoint)?.[0] ?? '';
    this.pathTemplate = p.endpoint.slice(this.originTemplate.length);
    this.method = p.http_method === 'put' ? 'PUT' : 'POST';
    // Request bodies are larger than their chunks; those of delivered requests are reused.
    // Only the JSON-lines builder writes into a pooled buffer, and a body comes back only
    // after a 2xx response (the server read all of it: the socket no longer holds it).
    this.pool = new BufferPool(4);
    this.retryable = new Set(
      p.retryable_response_codes.map((c) => {
        const n = Number(c);
        if (!Number.isInteger(n) || n < 100 || n > 599)
          throw new ConfigError(`retryable_response_codes: '${c}' is not an HTTP status code`, where);
        return n;
      }),
    );

    const format = config.sections.format;
    const formatType =
      format?.element.params.findLast((x) => x.key === '@type' || x.key === 'type')?.value ?? 'json';
    const plainJson = formatType === 'json' && (format?.element.params.length ?? 0) <= 1;
    if (p.json_array && formatType !== 'json')
      throw new ConfigError('json_array option could be used with json formatter only', where);
    this.reuseBodies = plainJson && !p.json_array;
    if (plainJson) this.body = p.json_array ? jsonArray() : jsonLines();
    else {
      const el: ConfigElement = format?.element ?? {
        name: 'format',
        arg: '',
        params: [],
        elements: [],
        location: config.element.location,
      };
      const formatter = ctx.createNested<FormatterPlugin>('formatter', el, 'json');
      this.body = p.json_array ? jsonArray(formatter) : formatted(formatter);
    }
    const ct = p.content_type ?? defaultContentType(formatType, p.json_array);
    if (!ct)
      throw new ConfigError(
        `can't determine Content-Type from formatter type '${formatType}'. Set content_type parameter explicitly`,
        where,
      );

    this.staticHeaders = { ...p.headers, 'content-type': ct };
    if (p.compress === 'gzip') this.staticHeaders['content-encoding'] = 'gzip';
    const auth = config.sections.auth;
    if (auth) {
      const a = auth.params;
      if (a.method === 'aws_sigv4')
        throw new NotImplementedPluginError('auth method', 'aws_sigv4', auth.element.location);
      if (a.method === 'bearer') {
        if (!a.token) throw new ConfigError('<auth> method bearer needs token', auth.element.location);
        this.staticHeaders.authorization = `Bearer ${a.token}`;
      } else {
        this.staticHeaders.authorization = `Basic ${Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64')}`;
      }
    }
    this.dispatcher = createDispatcher(p, where);
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    let url: URL;
    // The path and query as expanded (values encoded), without the fragment, the way an HTTP
    // client sends them; characters a request line cannot hold are encoded.
    let path = chunk.expand(this.pathTemplate, escapeUrlValue);
    const hash = path.indexOf('#');
    if (hash >= 0) path = path.slice(0, hash);
    if (!path.startsWith('/')) path = `/${path}`;
    path = path.replace(/[^\x21-\x7e]+/g, (run) => encodeURI(run));
    try {
      url = new URL(chunk.expand(this.originTemplate) + path);
    } catch (e) {
      return {
        status: 'fatal',
        error: new SluiceError(
          'HTTP_BAD_ENDPOINT',
          `endpoint ${this.p.endpoint} expands to an invalid URL: ${(e as Error).message}`,
        ),
      };
    }
    if (
      url.host !== this.staticHost &&
      !(this.staticHost.includes(MARK) && this.p.allowed_hosts.includes(url.hostname))
    ) {
      const msg =
        this.p.allowed_hosts.length === 0
          ? 'allowed_hosts is strictly required when using placeholders in the endpoint host'
          : `Not allowed host: ${url.hostname}`;
      return { status: 'fatal', error: new SluiceError('HTTP_BAD_ENDPOINT', msg) };
    }
    let headers = this.staticHeaders;
    if (this.p.headers_from_placeholders) {
      headers = { ...headers };
      for (const [k, v] of Object.entries(this.p.headers_from_placeholders)) headers[k] = chunk.expand(v);
    }
    const raw = this.body(chunk, this.pool.take());
    const body = this.p.compress === 'gzip' ? await gzip(raw) : raw;

    let status: number;
    let text: string;
    try {
      // dispatcher.request sends `path` as it is; undici's request(url) would normalise it.
      const res = await this.dispatcher.request({
        origin: url.origin,
        path,
        method: this.method,
        headers,
        body,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      // Connection refused, reset, timeouts: the service may come back, so the engine retries.
      return {
        status: 'retry',
        error: new SluiceError(
          'HTTP_SEND_FAILED',
          `${this.method} ${url.origin}${path} failed: ${(e as Error).message}`,
        ),
      };
    }
    if (status >= 200 && status < 300) {
      if (this.reuseBodies) this.pool.give(raw);
      return { status: 'ok' };
    }
    const msg = `${this.method} ${url.origin}${path}: ${status} ${text.slice(0, 500).trim()}`;
    if (this.retryable.has(status))
      return { status: 'retry', error: new SluiceError('HTTP_SEND_FAILED', msg) };
    if (this.p.error_response_as_unrecoverable)
      return { status: 'fatal', error: new SluiceError('HTTP_ERROR_RESPONSE', msg) };
    this.ctx.logger.error(
      { code: 'HTTP_ERROR_RESPONSE', status, url: url.origin + path },
      `got error response from '${this.method} ${url.origin}${path}' : ${msg}`,
    );
    return { status: 'ok' };
  }

  async stop(): Promise<void> {
    this.pool.clear();
    await this.dispatcher.close();
  }
}

const descriptor: PluginDescriptor<HttpOutput, typeof schema> = {
  kind: 'output',
  type: 'http',
  description:
    "Sends chunks to an HTTP endpoint as Fluentd's out_http does (JSON lines by default), over a keep-alive connection pool.",
  buffered: 'always',
  schema,
  create: (config, ctx) => new HttpOutput(config.params, ctx, config),
};

export default descriptor;
