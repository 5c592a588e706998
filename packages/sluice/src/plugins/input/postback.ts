import type { IncomingMessage } from 'node:http';
import { EventTime } from '@sluice/forward';
import { defineParams, type ParamsOf, type Resolved } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import { isBufferOverflow } from '../../core/errors.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { transportSection } from '../../core/tls-transport.ts';
import { EmitCoalescer } from '../../shared/http-in/coalesce.ts';
import { parseForm } from '../../shared/http-in/form.ts';
import { gmtSeconds, type PostbackIdentity, postbackIdentity } from '../../shared/http-in/postback-meta.ts';
import {
  HttpReceiver,
  type HttpReply,
  listenerOptions,
  type ReceivedRequest,
} from '../../shared/http-in/server.ts';

const params = defineParams({
  port: {
    type: 'integer',
    min: 0,
    max: 65535,
    description: 'The port to listen to (P2L_PORT).',
    default: 80,
  },
  bind: {
    type: 'string',
    description: 'The bind address to listen to (P2L_BIND); all interfaces by default, as post2log.',
    default: '0.0.0.0',
  },
  endpoint: {
    type: 'string',
    description: 'The path postbacks are POSTed to (P2L_ENDPOINT); other paths get 404.',
    default: '/postback',
  },
  tag: { type: 'string', description: 'The tag of the events.', default: 'post2log' },
  log_queryparam: {
    type: 'bool',
    description: 'Put the query parameters into the record (P2L_LOG_QUERYPARAM).',
    default: true,
  },
  node_name: {
    type: 'string',
    description: '_nodeName; default: env NODE_NAME, else the host name.',
    default: null,
  },
  pod_name: {
    type: 'string',
    description: 'The pod name _workerPodHash is derived from; default: env POD_NAME, else HOSTNAME.',
    default: null,
  },
  body_size_limit: {
    type: 'size',
    description: 'The size limit of a request body (413 above it).',
    default: 32 * 1024 * 1024,
  },
  keepalive_timeout: {
    type: 'time',
    description: 'Seconds an idle keep-alive connection stays open (uvicorn: 5).',
    default: 5,
  },
  backlog: { type: 'integer', description: 'The listen backlog.', default: null },
});

type Params = ParamsOf<typeof params>;

const JSON_HEADERS = { 'Content-Type': 'application/json' };
// Frozen: the receiver writes a frozen reply from a header list it makes once.
const SUCCESS: HttpReply = Object.freeze({
  status: 200,
  headers: JSON_HEADERS,
  body: '{"status":"success"}',
});
const NOT_FOUND: HttpReply = Object.freeze({
  status: 404,
  headers: JSON_HEADERS,
  body: '{"detail":"Not Found"}',
});
const NOT_ALLOWED: HttpReply = Object.freeze({
  status: 405,
  headers: { ...JSON_HEADERS, Allow: 'POST' },
  body: '{"detail":"Method Not Allowed"}',
});
const HEALTH: HttpReply = Object.freeze({ status: 200, headers: JSON_HEADERS, body: '"ok"' });

const error = (status: number, message: string): HttpReply => ({
  status,
  headers: JSON_HEADERS,
  body: JSON.stringify({ error: message }),
});

/**
 * post2log's postback receiver: POST <endpoint>?<query> with an optional JSON or form body
 * becomes one event of query params + body + post2log's `_` metadata fields.
 */
export class PostbackInput implements InputPlugin {
  readonly receiver: HttpReceiver;
  private readonly id: PostbackIdentity;
  /** the postbacks of one event-loop turn, emitted as one batch */
  private readonly batches: EmitCoalescer;

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Resolved<typeof schema>,
  ) {
    const base = postbackIdentity();
    this.id = {
      nodeName: p.node_name ?? base.nodeName,
      workerPodHash: p.pod_name
        ? postbackIdentity({ POD_NAME: p.pod_name }).workerPodHash
        : base.workerPodHash,
      workerProcId: base.workerProcId,
    };
    this.batches = new EmitCoalescer(
      (batch) => ctx.emit(batch),
      (req, err) => req.respond(err === undefined ? SUCCESS : this.emitFailed(err)),
    );
    this.receiver = new HttpReceiver({
      ...listenerOptions(p, config.sections.transport, ctx.logger),
      decompressionSizeLimit: p.body_size_limit * 8,
      onHead: (req, path) => this.route(req, path),
      onRequest: (req) => this.accept(req),
    });
  }

  async start(): Promise<void> {
    await this.receiver.start();
    this.ctx.logger.info(
      { bind: this.p.bind, port: this.receiver.port, endpoint: this.p.endpoint },
      'listening for postbacks',
    );
  }

  async stop(): Promise<void> {
    await this.receiver.stop();
  }

  private route(req: IncomingMessage, path: string): HttpReply | undefined {
    const method = req.method ?? 'GET';
    if (path === this.p.endpoint) return method === 'POST' ? undefined : NOT_ALLOWED;
    if ((path === '/' || path === '/healthz') && (method === 'GET' || method === 'HEAD')) return HEALTH;
    return NOT_FOUND;
  }

  /** Adds the postback's event to this turn's batch; answered once the batch is accepted. */
  private accept(req: ReceivedRequest): HttpReply | undefined {
    const now = Date.now();
    const record: EventRecord = {};
    if (this.p.log_queryparam) for (const [k, v] of parseForm(req.query)) record[k] = v.toString('utf8');
    const contentType = String(req.headers['content-type'] ?? '');
    if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
      for (const [k, v] of parseForm(req.body)) record[k] = v.toString('utf8');
    } else if (req.body.length > 0 && req.body.toString('utf8').trim() !== '') {
      let data: unknown;
      try {
        data = JSON.parse(req.body.toString('utf8'));
      } catch {
        return error(400, `Invalid JSON data - ${req.body.toString('utf8').slice(0, 200)}`);
      }
      if (data === null || typeof data !== 'object' || Array.isArray(data))
        return error(400, 'the JSON body must be an object');
      Object.assign(record, data);
    }
    record._path = this.p.endpoint;
    record._postTimestamp = now;
    record._postDatetimeGMT = gmtSeconds(now);
    record._nodeName = this.id.nodeName;
    record._workerPodHash = this.id.workerPodHash;
    record._workerProcId = this.id.workerProcId;
    this.batches.builder(this.p.tag).add(EventTime.fromMillis(now), record);
    this.batches.wait(this.p.tag, req);
    return undefined;
  }

  private emitFailed(e: unknown): HttpReply {
    const overflow = isBufferOverflow(e);
    if (!overflow) this.ctx.logger.error({ code: 'EMIT_FAILED', err: e }, 'failed to emit postback');
    return {
      status: overflow ? 503 : 500,
      headers: { ...JSON_HEADERS, ...(overflow ? { 'Retry-After': '1' } : {}) },
      body: JSON.stringify({ detail: (e as Error).message }),
    };
  }
}

const schema = { params, sections: { transport: transportSection } };

const descriptor: PluginDescriptor<PostbackInput, typeof schema> = {
  kind: 'input',
  multiWorkers: true,
  type: 'postback',
  description:
    'post2log\'s HTTP postback receiver: records query parameters, the JSON or form body and post2log\'s metadata fields; answers {"status":"success"}.',
  schema,
  create: (config, ctx) => new PostbackInput(config.params, ctx, config),
};

export default descriptor;
