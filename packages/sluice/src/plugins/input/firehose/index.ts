// `@type firehose`: a Sluice input (no Fluentd equivalent) that answers the Amazon Data
// Firehose API, so applications that log through boto3's or the AWS SDK's Firehose client
// ship to Sluice by configuration only (endpoint_url / AWS_ENDPOINT_URL_FIREHOSE), and that
// receives Firehose's HTTP endpoint deliveries on a path of its own. Collaborators: api.ts
// (the JSON 1.1 operations), records.ts (records -> events, per-record refusals),
// sigv4.ts (signature checks), http-endpoint.ts, errors.ts (AWS's error shapes and limits).
import type { IncomingMessage } from 'node:http';
import { newElement } from '../../../config/ast.ts';
import {
  defineParams,
  defineSchema,
  defineSection,
  type ParamsOf,
  type Resolved,
} from '../../../config/schema.ts';
import { ConfigError } from '../../../core/errors.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../../core/plugin.ts';
import { transportSection } from '../../../core/tls-transport.ts';
import {
  HttpReceiver,
  type HttpReply,
  type HttpRequest,
  listenerOptions,
} from '../../../shared/http-in/server.ts';
import type { SluiceParser } from '../../../shared/parse/common.ts';
import { FirehoseApi, type StreamsView } from './api.ts';
import { AwsError, errorReply, LIMITS } from './errors.ts';
import { HttpEndpoint } from './http-endpoint.ts';
import { RecordEmitter } from './records.ts';
import { type SigV4Options, verifySigV4 } from './sigv4.ts';

const params = defineParams({
  port: { type: 'integer', min: 0, max: 65535, description: 'The port to listen to.', default: 9891 },
  bind: { type: 'string', description: 'The bind address to listen to.', default: '0.0.0.0' },
  delivery_streams: {
    type: 'array',
    required: true,
    description:
      'The delivery stream names this input serves (comma-separated). PutRecord/PutRecordBatch to any other name is answered ResourceNotFoundException; ListDeliveryStreams and DescribeDeliveryStream answer from this list.',
  },
  tag_prefix: {
    type: 'string',
    description:
      "The events' tag is the delivery stream name; with a prefix, '<tag_prefix>.<stream name>' (e.g. firehose.logging-test).",
    default: null,
  },
  region: {
    type: 'string',
    description:
      'The region in the ARNs DescribeDeliveryStream gives, and, with <security>, the region a signature must be scoped to.',
    default: 'us-east-1',
  },
  account_id: {
    type: 'string',
    description: 'The account id in the ARNs DescribeDeliveryStream gives and in error messages.',
    default: '000000000000',
  },
  message_key: {
    type: 'string',
    description:
      'A record whose data <parse> cannot read is routed to @ERROR as {<message_key>: text} (and answered as accepted).',
    default: 'message',
  },
  http_endpoint_path: {
    type: 'string',
    description:
      "Sluice: also accept Firehose's HTTP endpoint deliveries (a delivery stream in AWS with an HTTP endpoint destination) POSTed to this path, e.g. /firehose/http-endpoint. Unset: off.",
    default: null,
  },
  http_endpoint_access_key: {
    type: 'secret',
    description:
      "The access key the delivery stream's HTTP endpoint destination is configured with; requests without it in X-Amz-Firehose-Access-Key get 401. Unset: not checked.",
    default: null,
  },
  http_endpoint_tag: {
    type: 'string',
    description:
      'The tag of events from HTTP endpoint deliveries; unset: the stream name from X-Amz-Firehose-Source-Arn, with tag_prefix.',
    default: null,
  },
  body_size_limit: {
    type: 'size',
    description:
      "The size limit of a request body (413 above it). Firehose's own limit is 4 MiB of record data per call, which is about 5.6 MB once base64-encoded in JSON.",
    default: 8 * 1024 * 1024,
  },
  decompression_size_limit: {
    type: 'size',
    description: 'The size limit of a gzip body (HTTP endpoint deliveries may be gzipped) once decompressed.',
    default: 64 * 1024 * 1024,
  },
  total_body_size_limit: {
    type: 'size',
    description:
      "Sluice: bound on the memory held by request bodies in flight across all of this input's requests (per worker); a body that would pass it is answered 503 (INPUT_MEMORY_LIMIT), which SDKs retry.",
    default: 256 * 1024 * 1024,
  },
  body_timeout: {
    type: 'time',
    description:
      'Sluice: a request whose body gets no byte for this long is closed (BODY_TIMEOUT); 0 disables.',
    default: 60,
  },
  keepalive_timeout: {
    type: 'time',
    description: 'Seconds an idle keep-alive connection stays open.',
    default: 60,
  },
  backlog: { type: 'integer', description: 'The listen backlog.', default: null },
});

type Params = ParamsOf<typeof params>;

const securitySection = defineSection({
  description:
    "Verify every API request's AWS Signature Version 4 against these access keys (unsigned or wrongly signed requests get AWS's errors). Without it, any signature is accepted.",
  params: defineParams({
    clock_skew: {
      type: 'time',
      description: "How far a request's X-Amz-Date may be from this machine's clock (AWS allows 5 minutes).",
      default: 300,
    },
  }),
  sections: {
    access_key: {
      description: 'An access key clients may sign with (at least one).',
      multi: true,
      required: true,
      params: defineParams({
        access_key_id: {
          type: 'string',
          required: true,
          description: 'The access key id (AWS_ACCESS_KEY_ID).',
        },
        secret_access_key: {
          type: 'secret',
          required: true,
          description: 'Its secret access key (AWS_SECRET_ACCESS_KEY).',
        },
      }),
    },
  },
});

const schema = defineSchema({
  params,
  sections: {
    parse: {
      description:
        "How each record's data becomes a record (default json; none keeps the text in 'message').",
      plugin: 'parser',
    },
    security: securitySection,
    transport: transportSection,
  },
});

type Config = Resolved<typeof schema>;

const STREAM_NAME_RE = /^[a-zA-Z0-9_.-]{1,64}$/;

export class FirehoseInput implements InputPlugin {
  readonly receiver: HttpReceiver;
  private readonly api: FirehoseApi;
  private readonly endpoint: HttpEndpoint | undefined;
  private readonly sigv4: SigV4Options | undefined;

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    config: Config,
  ) {
    const at = config.element.location;
    if (p.delivery_streams.length === 0) throw new ConfigError("'delivery_streams' names no stream", at);
    for (const s of p.delivery_streams)
      if (!STREAM_NAME_RE.test(s))
        throw new ConfigError(
          `delivery stream name '${s}' is not one Firehose allows (1 to 64 of a-z A-Z 0-9 _ . -)`,
          at,
        );
    if (p.tag_prefix === '') throw new ConfigError("'tag_prefix' must not be empty", at);
    if (
      p.http_endpoint_path !== undefined &&
      (!p.http_endpoint_path.startsWith('/') || p.http_endpoint_path === '/')
    )
      throw new ConfigError("'http_endpoint_path' must start with '/' and not be '/' (the API's path)", at);
    const parse = config.sections.parse?.element ?? newElement('parse', '', at);
    const parser = ctx.createNested<SluiceParser>('parser', parse, 'json');
    const defaultJson = parse.params.every(
      (x) => (x.key === '@type' || x.key === 'type') && x.value === 'json',
    );
    const emitter = new RecordEmitter(ctx, parser, p.message_key, defaultJson);
    const tagOf = (stream: string) => (p.tag_prefix ? `${p.tag_prefix}.${stream}` : stream);
    const view: StreamsView = {
      names: [...new Set(p.delivery_streams)],
      tagOf,
      region: p.region,
      accountId: p.account_id,
      startedAt: new Date(),
    };
    this.api = new FirehoseApi(view, emitter);
    if (p.http_endpoint_path !== undefined)
      this.endpoint = new HttpEndpoint(
        { accessKey: p.http_endpoint_access_key, tag: p.http_endpoint_tag, tagOf },
        emitter,
        (fields, msg) => ctx.logger.warn(fields, msg),
      );
    const security = config.sections.security;
    if (security) {
      const keys = new Map<string, string>();
      for (const k of security.sections.access_key)
        keys.set(k.params.access_key_id, k.params.secret_access_key);
      this.sigv4 = {
        keys,
        service: 'firehose',
        region: p.region,
        clockSkewMs: security.params.clock_skew * 1000,
      };
    }
    this.receiver = new HttpReceiver({
      // listenerOptions reads <transport> untyped until shared/http-in takes the typed section.
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
    this.ctx.logger.info(
      { bind: this.p.bind, port: this.receiver.port, streams: this.p.delivery_streams },
      'listening for the firehose API',
    );
  }

  async stop(): Promise<void> {
    await this.receiver.stop();
  }

  private onHead(req: IncomingMessage, path: string): HttpReply | undefined {
    const method = req.method ?? 'GET';
    if ((method === 'GET' || method === 'HEAD') && path === '/healthz')
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"status":"ok"}' };
    const api = path === '/';
    if (method === 'POST' && (api || path === this.p.http_endpoint_path)) return undefined;
    if (!api && path !== this.p.http_endpoint_path)
      return {
        status: 404,
        headers: { 'Content-Type': 'text/plain', Connection: 'close' },
        body: `404 Not Found\nthe Firehose API is POST /${this.p.http_endpoint_path ? `, HTTP endpoint deliveries POST ${this.p.http_endpoint_path}` : ''}\n`,
      };
    return {
      status: 405,
      headers: { 'Content-Type': 'text/plain', Allow: 'POST', Connection: 'close' },
      body: '',
    };
  }

  private async onRequest(req: HttpRequest): Promise<HttpReply> {
    if (this.endpoint && req.path === this.p.http_endpoint_path) return this.endpoint.handle(req);
    try {
      if (this.sigv4) verifySigV4(req, this.sigv4);
      const target = req.headers['x-amz-target'];
      return await this.api.call(Array.isArray(target) ? (target[0] ?? '') : (target ?? ''), req.body);
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      const level = e.status >= 500 ? 'warn' : 'info';
      this.ctx.logger[level](
        { code: e.code, error: e.type, remote: req.remoteAddr, target: req.headers['x-amz-target'] },
        `firehose request refused: ${e.message}`,
      );
      return errorReply(e);
    }
  }
}

const descriptor: PluginDescriptor<FirehoseInput, typeof schema> = {
  kind: 'input',
  multiWorkers: true,
  type: 'firehose',
  description: `Sluice: answers the Amazon Data Firehose API (PutRecord, PutRecordBatch, ListDeliveryStreams, DescribeDeliveryStream; AWS JSON 1.1 over HTTP(S)) so AWS SDK clients ship to Sluice; each record's data becomes one event parsed by <parse> (json by default). Firehose's limits (${LIMITS.recordsPerCall} records, 4 MiB per call, 1,000 KiB per record) and error shapes; records the pipeline refuses are reported failed per record. Optionally also Firehose's HTTP endpoint deliveries.`,
  schema,
  create: (config, ctx) => new FirehoseInput(config.params, ctx, config),
};

export default descriptor;
