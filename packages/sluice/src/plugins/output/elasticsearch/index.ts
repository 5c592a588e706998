// out_elasticsearch and out_opensearch (one implementation, both names): fluent-plugin-
// elasticsearch's and fluent-plugin-opensearch's parameters, with an outcome per document
// instead of per chunk, and an _id per document that makes a re-send land once.
// docs/outputs/elasticsearch.md says what is guaranteed and how.
import { decode, EventTime } from '@sluice/forward';
import type { Dispatcher } from 'undici';
import { scanEntries } from '../../../codec/msgpack-scan.ts';
import { defineSchema, type Resolved } from '../../../config/schema.ts';
import { parseSize } from '../../../config/values.ts';
import type { EventRecord } from '../../../core/batch.ts';
import { BufferPool } from '../../../core/buffer-pool.ts';
import { ConfigError, SluiceError } from '../../../core/errors.ts';
import type {
  Chunk,
  OutputPlugin,
  PluginContext,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { createRecordAccessor } from '../../../core/record-accessor.ts';
import { compileStrptime } from '../../../time/strptime.ts';
import { compileStrftime } from '../../../time/time-format.ts';
import {
  type BulkRequest,
  BulkWriter,
  type ChunkIndex,
  type DocumentRules,
  type Operation,
} from './bulk-body.ts';
import { createAgent, parseServers, type Server, Servers } from './connection.ts';
import { idPolicy } from './ids.ts';
import { type ItemResult, readBulkResponse } from './outcome.ts';
import { notBuilt, type Params, schemaParams } from './params.ts';

const BULK_PATH = '/_bulk?filter_path=took,errors,items.*.status,items.*.error';

/** Chunks whose documents were partly delivered, remembered at most (the oldest is forgotten first). */
const MAX_PARTIAL = 10_000;

/** What the server said it is (GET /), read before the first write. */
interface ServerInfo {
  distribution: string;
  major: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: string,
  ) {
    super(message);
  }
}

/** The type and reason of an error answer ({"error":{"type","reason"},"status"}). */
function requestError(body: string): { type?: string; reason?: string } {
  try {
    const e = (JSON.parse(body) as { error?: { type?: string; reason?: string } | string }).error;
    if (typeof e === 'string') return { reason: e };
    return { type: e?.type, reason: e?.reason };
  } catch {
    return { reason: body.slice(0, 500) };
  }
}

function isoTime(value: string): EventTime | undefined {
  const m =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      value.trim(),
    );
  if (!m) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : EventTime.fromMillis(ms);
  }
  let zone = m[4] ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]!.length === 5 ? `${m[2]}:00` : m[2]}${zone.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  const nsec = m[3] ? Number(m[3].slice(0, 9).padEnd(9, '0')) : 0;
  return new EventTime(Math.floor(ms / 1000), nsec);
}

/**
 * @timestamp as Ruby's DateTime#iso8601(precision) in UTC. The seconds part is formatted once
 * per second; only the fraction is written per event.
 */
function timestampFormatter(precision: number): (time: EventTime) => string {
  const seconds = compileStrftime('%Y-%m-%dT%H:%M:%S', { utc: true });
  if (precision === 0) return (time) => `${seconds(time)}+00:00`;
  return (time) => `${seconds(time)}.${String(time.nsec).padStart(9, '0').slice(0, precision)}+00:00`;
}

export class ElasticsearchOutput implements OutputPlugin {
  private agent: Dispatcher;
  private readonly servers: Servers;
  private readonly writer: BulkWriter;
  private readonly rules: DocumentRules;
  private readonly limit: number;
  private readonly headers: Record<string, string>;
  private info: ServerInfo | undefined;
  /** chunk id -> 1 for each entry already settled (stored, duplicate or rejected) */
  private readonly partial = new Map<string, Uint8Array>();
  /** data streams known to exist or to have their template */
  private readonly streams = new Set<string>();
  private readonly templateName: string | undefined;
  /** request bodies of finished writes, reused (two: flush_thread_count writes at a time reuse them in turn) */
  private readonly pool = new BufferPool(2);

  constructor(
    private readonly p: Params,
    private readonly ctx: PluginContext,
    private readonly config: Resolved<typeof schema>,
  ) {
    const where = config.element.location;
    const at = (key: string) => config.element.params.find((x) => x.key === key)?.location ?? where;
    notBuilt.refuse(config);
    if (
      p.time_key_format !== undefined &&
      p.time_key === undefined &&
      !p.logstash_format &&
      !p.include_timestamp
    )
      ctx.logger.debug('time_key_format is set without time_key: it reads @timestamp only');
    const idKey = p.id_key ? createRecordAccessor(p.id_key, at('id_key')) : undefined;
    const generated = !idKey && p.id_policy !== 'none';
    let op = (p.write_operation ?? (generated || p.data_stream_name ? 'create' : 'index')) as Operation;
    if ((op === 'update' || op === 'upsert') && !idKey)
      throw new ConfigError(
        `ES_UPDATE_NEEDS_ID_KEY: write_operation ${op} needs id_key (the document to update is found by the _id the record names)`,
        at('write_operation'),
      );
    if (p.data_stream_name) {
      if (p.write_operation && p.write_operation !== 'create')
        throw new ConfigError(
          `ES_DATA_STREAM_CREATE_ONLY: a data stream takes create actions only (write_operation ${p.write_operation})`,
          at('write_operation'),
        );
      op = 'create';
      this.templateName = p.data_stream_template_name;
      const fixed = p.data_stream_name;
      if (!fixed.includes('${') && !/%[A-Za-z]/.test(fixed)) validStreamName(fixed, at('data_stream_name'));
    }
    const threshold = p.bulk_message_request_threshold.trim();
    this.limit = threshold === '-1' ? -1 : (parseSize(threshold) ?? Number.NaN);
    if (Number.isNaN(this.limit))
      throw new ConfigError(
        `ES_BAD_THRESHOLD: parameter 'bulk_message_request_threshold': expected a size such as 20MB, or -1 (got "${threshold}")`,
        at('bulk_message_request_threshold'),
      );
    const timeParser = p.time_key_format ? compileStrptime(p.time_key_format, { utc: true }) : undefined;
    const precision = p.time_precision;
    const timestamp = p.logstash_format || p.include_timestamp || p.data_stream_name !== undefined;
    this.rules = {
      op,
      pipeline: p.pipeline,
      tagKey: p.include_tag_key ? p.tag_key : undefined,
      timestamp,
      timeKey: p.time_key,
      parseTime: (v) => {
        if (v instanceof EventTime) return v;
        if (typeof v === 'number' && Number.isFinite(v)) {
          const sec = Math.floor(v);
          return new EventTime(sec, Math.round((v - sec) * 1e9));
        }
        if (typeof v !== 'string') return undefined;
        return (timeParser ? timeParser(v) : undefined) ?? isoTime(v);
      },
      formatTimestamp: timestampFormatter(precision),
      indexDate:
        p.logstash_format && !p.data_stream_name
          ? compileStrftime(p.logstash_dateformat, { utc: p.utc_index })
          : undefined,
      removeKeys: new Set(p.remove_keys),
      idKey,
      routingKey: p.routing_key ? createRecordAccessor(p.routing_key, at('routing_key')) : undefined,
      parentKey: p.parent_key ? createRecordAccessor(p.parent_key, at('parent_key')) : undefined,
      idOf: idPolicy(p.id_policy),
      chunkIds: p.id_policy === 'chunk' && !idKey,
    };
    this.writer = new BulkWriter(this.rules);
    this.servers = new Servers(parseServers(p, where), p.resurrect_after * 1000);
    this.headers = {
      'content-type': p.content_type === 'application/x-ndjson' ? 'application/x-ndjson' : 'application/json',
      ...(p.custom_headers ?? {}),
    };
    this.agent = createAgent(p, where);
    for (const k of [
      'documents_stored',
      'documents_duplicate',
      'documents_retried',
      'documents_rejected',
      'bulk_requests',
      'bulk_request_failures',
    ])
      ctx.metrics[k] = 0;
  }

  private count(key: string, n = 1): void {
    this.ctx.metrics[key] = ((this.ctx.metrics[key] as number | undefined) ?? 0) + n;
  }

  /** One HTTP request to the next server; throws on a transport failure or a status outside 2xx. */
  private async request(method: string, path: string, body?: Buffer | string): Promise<string> {
    const server: Server = this.servers.pick();
    const headers: Record<string, string> = body === undefined ? { ...this.headers } : this.headers;
    if (server.authorization) headers.authorization = server.authorization;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.agent.request({
        origin: server.origin,
        path: server.prefix + path,
        method,
        headers,
        body,
      });
    } catch (e) {
      this.servers.failed(server);
      if (this.p.reconnect_on_error) this.reconnect();
      throw new Error(`${method} ${server.origin}${server.prefix}${path} failed: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      if (res.statusCode >= 500 || res.statusCode === 429) this.servers.failed(server);
      throw new HttpError(
        res.statusCode,
        `${method} ${server.origin}${server.prefix}${path}: ${res.statusCode} ${text.slice(0, 500).trim()}`,
        text,
      );
    }
    return text;
  }

  private reconnect(): void {
    const old = this.agent;
    this.agent = createAgent(this.p, this.config.element.location);
    old.close().catch(() => undefined);
  }

  /** GET /: which server this is, for _type (fluent-plugin-elasticsearch's version detection). */
  private async serverInfo(): Promise<ServerInfo> {
    if (this.info) return this.info;
    const body = JSON.parse(await this.request('GET', '/')) as {
      version?: { number?: string; distribution?: string };
    };
    const major = Number.parseInt(body.version?.number ?? '8', 10);
    this.info = { distribution: body.version?.distribution ?? 'elasticsearch', major };
    const p = this.p;
    // Elasticsearch 6 takes type_name; 7 takes _doc (or none); 8 and OpenSearch 2 refuse _type.
    if (this.info.distribution === 'opensearch' || major >= 8) this.rules.typeName = undefined;
    else if (major === 7) this.rules.typeName = p.suppress_type_name ? undefined : '_doc';
    else this.rules.typeName = p.suppress_type_name ? undefined : p.type_name;
    // _parent went with Elasticsearch 7 (and is unknown to OpenSearch): there the parent's id
    // is what a join-field child needs as its routing, so parent_key becomes the routing
    // (routing_key, when set, wins).
    this.rules.parentAsRouting = this.info.distribution === 'opensearch' || major >= 7;
    this.ctx.logger.info(
      { output: this.ctx.id, distribution: this.info.distribution, version: body.version?.number },
      'connected to the search server',
    );
    return this.info;
  }

  /** A data stream's index template, as fluent-plugin-opensearch's data stream output makes it. */
  private async ensureDataStream(name: string): Promise<void> {
    if (this.streams.has(name)) return;
    const template = (this.templateName ?? `${name}_template`).toLowerCase();
    const exists = async (path: string) => {
      try {
        await this.request('GET', path);
        return true;
      } catch (e) {
        if (e instanceof HttpError && e.status === 404) return false;
        throw e;
      }
    };
    if (
      !(await exists(`/_data_stream/${encodeURIComponent(name)}`)) &&
      !(await exists(`/_index_template/${encodeURIComponent(template)}`))
    ) {
      await this.request(
        'PUT',
        `/_index_template/${encodeURIComponent(template)}`,
        JSON.stringify({ index_patterns: [`${name}*`], data_stream: {} }),
      );
      this.ctx.logger.info({ output: this.ctx.id, template, stream: name }, 'data stream template created');
    }
    this.streams.add(name);
  }

  private indexOf(chunk: Chunk): ChunkIndex {
    const p = this.p;
    if (p.data_stream_name) return { fixed: chunk.expand(p.data_stream_name).toLowerCase() };
    if (p.logstash_format)
      return { prefix: `${chunk.expand(p.logstash_prefix)}${p.logstash_prefix_separator}` };
    return { fixed: chunk.expand(p.index_name).toLowerCase() };
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    const index = this.indexOf(chunk);
    try {
      await this.serverInfo();
      if (this.p.data_stream_name) await this.ensureDataStream(index.fixed!);
    } catch (e) {
      return {
        status: 'retry',
        error: new SluiceError('ES_SERVER_UNAVAILABLE', `ES_SERVER_UNAVAILABLE: ${(e as Error).message}`),
      };
    }
    let done = this.partial.get(chunk.id);
    const body = this.writer.build(chunk, index, done, this.limit, this.pool.take());
    const requests = body.requests[Symbol.iterator]();
    let retried = 0;
    let firstRetry: ItemResult | undefined;
    let failure: Error | undefined;
    const rejected: { entry: number; item: ItemResult }[] = [];
    for (;;) {
      let next: IteratorResult<BulkRequest>;
      try {
        next = requests.next();
      } catch (e) {
        // bytes the buffer accepted but that are not msgpack entries: no retry can help
        return {
          status: 'fatal',
          error: new SluiceError('ES_BROKEN_CHUNK', `ES_BROKEN_CHUNK: ${(e as Error).message}`),
        };
      }
      if (next.done) break;
      const req = next.value;
      this.count('bulk_requests');
      let results: ItemResult[] | 'all-stored';
      try {
        results = await this.send(chunk, index, req);
      } catch (e) {
        // The whole request failed (connection, timeout, 429/5xx/4xx to the request): its
        // documents stay to send. A timeout may have stored some: their _ids make the
        // re-send answer 409 (create) or overwrite the same documents (index).
        this.count('bulk_request_failures');
        failure = e as Error;
        break;
      }
      done ??= new Uint8Array(chunk.count);
      if (results === 'all-stored') {
        for (const i of req.entries) done[i] = 1;
        this.count('documents_stored', req.entries.length);
        continue;
      }
      for (let k = 0; k < results.length; k++) {
        const r = results[k]!;
        const i = req.entries[k]!;
        switch (r.outcome) {
          case 'stored':
            done[i] = 1;
            this.count('documents_stored');
            break;
          case 'duplicate':
            done[i] = 1;
            this.count('documents_duplicate');
            break;
          case 'rejected':
            done[i] = 1;
            this.count('documents_rejected');
            rejected.push({ entry: i, item: r });
            break;
          case 'retry':
            retried++;
            firstRetry ??= r;
            this.count('documents_retried');
            break;
        }
      }
    }
    // Every request of this write has been answered (or failed): the server no longer reads the
    // body, so its memory can serve the next write (see core/buffer-pool.ts). Not after a
    // transport failure, where the socket may still hold a view of it.
    if (!failure) this.pool.give(body.memory());
    if (rejected.length > 0) this.routeRejected(chunk, rejected);
    const left = done ? chunk.count - done.reduce((a, b) => a + b, 0) : chunk.count;
    if (left === 0) {
      this.partial.delete(chunk.id);
      return { status: 'ok' };
    }
    if (done) this.remember(chunk.id, done);
    const what = failure
      ? `ES_BULK_FAILED: ${failure.message}`
      : `ES_DOCUMENTS_RETRY: ${retried} of ${chunk.count} documents were refused for now (${firstRetry?.status} ${firstRetry?.type ?? ''}: ${firstRetry?.reason ?? ''})`;
    return {
      status: 'retry',
      error: new SluiceError(
        failure ? 'ES_BULK_FAILED' : 'ES_DOCUMENTS_RETRY',
        `${what}; ${left} documents of chunk ${chunk.id} are sent again after the retry wait, none of the others`,
      ),
    };
  }

  /**
   * One bulk request and the result of each of its documents. A request refused whole with
   * 400 (a document the server cannot even parse as an action, such as _parent to a server
   * without it) or 413 (too large) is sent again one document per request, so the bad
   * document is found and rejected alone instead of blocking the chunk.
   */
  private async send(
    chunk: Chunk,
    index: ChunkIndex,
    req: BulkRequest,
  ): Promise<ItemResult[] | 'all-stored'> {
    try {
      // Only what is read of each item: a whole answer repeats index, id, version, shards and
      // sequence numbers for every document (about 190 bytes each; this, about 25).
      const text = await this.request('POST', BULK_PATH, req.body);
      const results = readBulkResponse(this.rules.op, text, req.entries.length);
      if (results !== 'all-stored')
        for (let k = 0; k < results.length; k++) {
          results[k]!.index ??= req.indices[k];
          results[k]!.id ??= req.ids[k] ?? this.chunkIdOf(chunk, req.entries[k]!);
        }
      return results;
    } catch (e) {
      if (!(e instanceof HttpError) || (e.status !== 400 && e.status !== 413)) throw e;
      if (req.entries.length === 1) {
        const { type, reason } = requestError(e.body);
        return [
          {
            outcome: 'rejected',
            status: e.status,
            type,
            reason: reason ?? e.message,
            index: req.indices[0],
            id: req.ids[0] ?? this.chunkIdOf(chunk, req.entries[0]!),
          },
        ];
      }
      const only = new Uint8Array(chunk.count).fill(1);
      for (const i of req.entries) only[i] = 0;
      const results: ItemResult[] = [];
      // (the bodies of this build are written in a buffer of their own)
      for (const single of this.writer.build(chunk, index, only, 1).requests) {
        this.count('bulk_requests');
        const r = await this.send(chunk, index, single);
        if (r === 'all-stored') results.push({ outcome: 'stored', status: 200 });
        else results.push(...r);
      }
      return results;
    }
  }

  /** The _id a document got under id_policy chunk (written without making it; made here for a rejected one). */
  private chunkIdOf(chunk: Chunk, entry: number): string | undefined {
    return this.rules.chunkIds && this.rules.idKey === undefined ? `${chunk.id}-${entry}` : undefined;
  }

  private remember(id: string, done: Uint8Array): void {
    this.partial.delete(id);
    this.partial.set(id, done);
    if (this.partial.size > MAX_PARTIAL) this.partial.delete(this.partial.keys().next().value!);
  }

  /** Documents the server refused for good: to <label @ERROR> with the reason, never retried. */
  private routeRejected(chunk: Chunk, rejected: { entry: number; item: ItemResult }[]): void {
    const starts: number[] = [];
    scanEntries(chunk.bytes, starts);
    const tag = chunk.keys.tag ?? '';
    for (const { entry, item } of rejected) {
      const start = starts[entry]!;
      const end = starts[entry + 1] ?? chunk.bytes.length;
      const decoded = decode(chunk.bytes.subarray(start, end)) as [unknown, unknown];
      const time = EventTime.from(decoded[0]) ?? EventTime.now();
      const raw = decoded[1];
      const record: EventRecord =
        raw && typeof raw === 'object' && !Array.isArray(raw)
          ? { ...(raw as EventRecord) }
          : { message: raw };
      record[this.p.error_key] = {
        status: item.status,
        type: item.type ?? null,
        reason: item.reason ?? null,
        index: item.index ?? null,
        id: item.id ?? null,
      };
      this.ctx.emitError(
        tag,
        time,
        record,
        new SluiceError(
          'ES_DOCUMENT_REJECTED',
          `ES_DOCUMENT_REJECTED: ${item.status} ${item.type ?? ''}: ${item.reason ?? ''}`,
        ),
      );
    }
    const first = rejected[0]!.item;
    this.ctx.logger.warn(
      {
        output: this.ctx.id,
        chunk: chunk.id,
        code: 'ES_DOCUMENT_REJECTED',
        rejected: rejected.length,
        status: first.status,
        type: first.type,
        reason: first.reason,
      },
      `${rejected.length} documents rejected by the server; routed to @ERROR (or logged)`,
    );
  }

  async stop(): Promise<void> {
    this.pool.clear();
    await this.agent.close();
  }
}

const INVALID_START = ['-', '_', '+', '.'];
const INVALID_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

/** fluent-plugin-opensearch's validate_data_stream_parameters. */
function validStreamName(name: string, where: Resolved['element']['location']): void {
  const fail = (why: string) =>
    new ConfigError(`ES_DATA_STREAM_NAME: 'data_stream_name' ${why}: <${name}>`, where);
  if (name === '.' || name === '..') throw fail('must not be . or ..');
  if (INVALID_START.some((c) => name.startsWith(c)))
    throw fail(`must not start with ${INVALID_START.join(',')}`);
  if (INVALID_CHARS.some((c) => name.includes(c)))
    throw fail(`must not contain invalid characters ${INVALID_CHARS.join(',')}`);
  if (name.toLowerCase() !== name) throw fail('must be lowercase only');
  if (Buffer.byteLength(name) > 255) throw fail('must not be longer than 255 bytes');
}

const schema = defineSchema({ params: schemaParams });

const descriptor: PluginDescriptor<ElasticsearchOutput, typeof schema> = {
  kind: 'output',
  type: 'elasticsearch',
  aliases: ['opensearch'],
  description:
    "Sends chunks to Elasticsearch or OpenSearch through the bulk API (fluent-plugin-elasticsearch's and fluent-plugin-opensearch's parameters; @type opensearch is the same plugin). Each document has its own outcome: stored, already there, retried alone, or routed to <label @ERROR> with the server's reason.",
  buffered: 'always',
  // fluent-plugin-elasticsearch's config_set_default in its <buffer> section
  bufferDefaults: { chunkKeys: ['tag'], params: { timekey_use_utc: 'true' } },
  schema,
  create: (config, ctx) => new ElasticsearchOutput(config.params, ctx, config),
};

export default descriptor;
