import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventTime } from '@sluice/forward';
import { param } from '../../config/ast.ts';
import { defineParams, defineSchema, type ParamsOf, type Resolved } from '../../config/schema.ts';
import { BatchBuilder } from '../../core/batch-builder.ts';
import { ConfigError, internalError } from '../../core/errors.ts';
import type { PipelineView } from '../../core/pipeline-view.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { VERSION } from '../../core/version.ts';
import { type DashboardAuth, guardedServer, isLoopback } from '../../monitor/auth.ts';
import { Dashboard } from '../../monitor/dashboard.ts';
import { mountHealth, mountMetrics, workerPort } from '../../monitor/endpoints.ts';
import { acquireServer, type MonitorServer, sendJson, sendText } from '../../monitor/http-server.ts';
import {
  allPluginInfo,
  type InfoOptions,
  monitoredPlugins,
  type PluginInfo,
  pluginInfo,
  pluginInfoByTag,
  toLtsv,
} from '../../monitor/plugin-info.ts';
import { SearchService } from '../../monitor/search.ts';
import { collectTargets, targetFromSection } from '../../monitor/search-targets.ts';

// Fluentd's in_monitor_agent: /api/plugins(.json) and /api/config(.json) with the same
// fields and query parameters, and `tag` + `emit_interval` to emit the same records as
// events. Sluice adds /healthz, /readyz, /metrics and, when `dashboard true`, the live
// dashboard on the same port (docs/operations.md).

const params = defineParams({
  bind: {
    type: 'string',
    default: '127.0.0.1',
    description:
      'Address to listen on. Fluentd listens on 0.0.0.0 by default; Sluice on 127.0.0.1 (set 0.0.0.0 for probes from outside, e.g. Kubernetes).',
  },
  port: {
    type: 'integer',
    min: 0,
    max: 65535,
    default: 24220,
    description: 'Port to listen on (worker N of `<system> workers` uses port + N, as in Fluentd).',
  },
  tag: {
    type: 'string',
    default: null,
    description: 'When set, the plugin records are also emitted as events with this tag every emit_interval.',
  },
  emit_interval: {
    type: 'time',
    default: 60,
    description: 'Interval between two emits of the plugin records (with `tag`).',
  },
  emit_config: {
    type: 'bool',
    default: false,
    description: "Include each plugin's `config` in the emitted records.",
  },
  include_config: {
    type: 'bool',
    default: false,
    description:
      "Include each plugin's `config` in /api/plugins responses (secret parameters are masked). Fluentd ≥ 1.19.3 defaults to false too.",
  },
  include_retry: {
    type: 'bool',
    default: false,
    description: 'Include the `retry` object (start, steps, next_time) of outputs in responses.',
  },
  include_debug_info: {
    type: 'bool',
    default: false,
    description:
      'Honour the `debug` and `with_ivars` query parameters (internal counters and buffer settings).',
  },
  metrics: {
    type: 'bool',
    default: true,
    description: 'Serve the Prometheus exposition on /metrics on this port too (Sluice).',
  },
  dashboard: {
    type: 'bool',
    default: false,
    description: 'Serve the live dashboard on / and /dashboard/ of this port (Sluice).',
  },
  dashboard_tail_rate: {
    type: 'integer',
    default: 20,
    description:
      'Most live-tail events per second sent to one dashboard viewer; the others are counted as skipped.',
  },
  dashboard_tail_max_chars: {
    type: 'size',
    default: 2048,
    description:
      "Characters of a record's JSON kept in a live-tail line (longer records are cut and marked).",
  },
  dashboard_token: {
    type: 'secret',
    default: null,
    description:
      'A token the dashboard (and its search page) requires: open /dashboard/?token=TOKEN once (a cookie keeps it) or send `Authorization: Bearer TOKEN`. Required, or dashboard_user, when bind is not a loopback address. The monitoring API, /metrics and the probes stay open.',
  },
  dashboard_user: {
    type: 'string',
    default: null,
    description: 'With dashboard_password: the dashboard requires this user name (HTTP basic auth).',
  },
  dashboard_password: {
    type: 'secret',
    default: null,
    description: 'The password of dashboard_user.',
  },
});

const searchParams = defineParams({
  name: {
    type: 'string',
    required: true,
    description: 'The name of this target on the search page (unique, and not the @id of an output).',
  },
  host: { type: 'string', default: 'localhost', description: 'The cluster when hosts is not set.' },
  port: { type: 'integer', min: 0, max: 65535, default: 9200, description: 'Its port.' },
  hosts: {
    type: 'string',
    default: null,
    description:
      'Several servers, comma-separated: host:port or URLs (https://user:pass@host:port/path); tried in turn.',
  },
  scheme: {
    type: 'enum',
    values: ['http', 'https'],
    default: 'http',
    description: 'http or https, for host/port and hosts entries without a scheme.',
  },
  path: {
    type: 'string',
    default: null,
    description: 'A path prefix before /<index>/_search (a reverse proxy).',
  },
  user: { type: 'string', default: null, description: 'User name for HTTP basic authentication.' },
  password: { type: 'secret', default: null, description: 'Password for HTTP basic authentication.' },
  ssl_verify: { type: 'bool', default: true, description: 'Verify the server certificate (https).' },
  ca_file: { type: 'string', default: null, description: 'PEM CA certificate(s) to verify the server with.' },
  index: {
    type: 'string',
    required: true,
    description:
      'The indices the page may search: index names, patterns with `*` or data streams, comma-separated (e.g. logstash-*). Nothing else is ever searched.',
  },
  time_key: {
    type: 'string',
    default: '@timestamp',
    description: 'The date field of the documents: time range, histogram and newest-first order.',
  },
});

type Params = ParamsOf<typeof params>;

/** Fluentd's searches: the first value of a query parameter, or undefined. */
function first(url: URL, name: string): string | undefined {
  const v = url.searchParams.getAll(name);
  return v.length > 0 ? v[0] : undefined;
}

function dashboardAuth(p: Params): DashboardAuth | undefined {
  if (p.dashboard_token === undefined && p.dashboard_user === undefined) return undefined;
  return { token: p.dashboard_token, user: p.dashboard_user, password: p.dashboard_password };
}

function bool(v: string): boolean {
  return v === 'true' || v === 'yes' || v === '1' || v === '';
}

export class MonitorAgent implements InputPlugin {
  private server: MonitorServer | undefined;
  private dashboard: Dashboard | undefined;
  private search: SearchService | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: PluginContext,
    private readonly p: Params,
    private readonly searchSections: Resolved[] = [],
  ) {}

  private get engine(): PipelineView {
    const e = this.ctx.pipeline;
    if (!e) throw internalError('monitor_agent runs inside an engine (ctx.pipeline is missing)');
    return e;
  }

  /** Fluentd's build_object: the query decides which plugins and which fields. */
  select(url: URL): { list: PluginInfo[]; pretty: boolean } {
    const opts: InfoOptions = { withConfig: this.p.include_config, withRetry: this.p.include_retry };
    let pretty = false;
    if (this.p.include_debug_info) {
      if (first(url, 'debug') !== undefined) {
        opts.withDebugInfo = true;
        pretty = true;
      }
      const ivars = first(url, 'with_ivars');
      if (ivars !== undefined) opts.ivars = ivars.split(',').map((s) => s.trim());
    }
    const withConfig = first(url, 'with_config');
    if (withConfig !== undefined) opts.withConfig = bool(withConfig);
    const withRetry = first(url, 'with_retry');
    if (withRetry !== undefined) opts.withRetry = bool(withRetry);
    const engine = this.engine;
    const tag = first(url, 'tag');
    if (tag !== undefined) {
      const info = pluginInfoByTag(engine, tag, opts);
      return { list: info ? [info] : [], pretty };
    }
    const id = first(url, '@id') ?? first(url, 'id');
    if (id !== undefined) {
      const p = monitoredPlugins(engine).find((x) => x.id === id);
      return { list: p ? [pluginInfo(p, opts)] : [], pretty };
    }
    const type = first(url, '@type') ?? first(url, 'type');
    if (type !== undefined) {
      return {
        list: monitoredPlugins(engine)
          .filter((x) => x.type === type)
          .map((x) => pluginInfo(x, opts)),
        pretty,
      };
    }
    return { list: allPluginInfo(engine, opts), pretty };
  }

  configInfo(): Record<string, unknown> {
    const engine = this.engine;
    return {
      pid: process.pid,
      ppid: process.ppid,
      version: VERSION,
      config_path: engine.root.location.file,
      pid_file: null,
      plugin_dirs: [],
      log_path: null,
      root_dir: engine.system.root_dir ?? null,
      workers: engine.workers,
      worker_id: engine.workerId,
    };
  }

  private mount(server: MonitorServer) {
    const plugins = (json: boolean) => (_req: IncomingMessage, res: ServerResponse, url: URL) => {
      const { list, pretty } = this.select(url);
      if (json) sendJson(res, 200, { plugins: list }, pretty);
      else sendText(res, 200, toLtsv(list));
    };
    server.route('/api/plugins.json', plugins(true));
    server.route('/api/plugins', plugins(false));
    server.route('/api/config.json', (_req, res) => sendJson(res, 200, this.configInfo()));
    server.route('/api/config', (_req, res) =>
      sendText(
        res,
        200,
        Object.entries(this.configInfo())
          .map(([k, v]) => `${k}:${Array.isArray(v) ? JSON.stringify(v) : (v ?? '')}`)
          .join('\t'),
      ),
    );
    mountHealth(server, this.engine);
    if (this.p.metrics) mountMetrics(server, this.engine);
    const guarded = guardedServer(server, dashboardAuth(this.p));
    if (this.dashboard) this.dashboard.mount(guarded);
    if (this.search) this.search.mount(guarded);
  }

  async start(): Promise<void> {
    const engine = this.engine;
    if (this.p.dashboard) {
      this.dashboard = new Dashboard(engine, {
        rate: this.p.dashboard_tail_rate,
        maxRecordChars: this.p.dashboard_tail_max_chars,
        perBatch: 5,
      });
      this.search = new SearchService(collectTargets(engine, this.searchSections), this.ctx.logger);
    }
    const port = workerPort(this.p.port, this.ctx.workerId);
    this.server = await acquireServer(this.p.bind, port, this.ctx.logger);
    this.mount(this.server);
    this.ctx.logger.info(
      { url: this.server.url, dashboard: this.p.dashboard ? `${this.server.url}/dashboard/` : undefined },
      `monitor_agent listening on ${this.server.url}`,
    );
    if (this.p.tag !== undefined) {
      const tag = this.p.tag;
      this.timer = setInterval(() => this.emitInfo(tag), this.p.emit_interval * 1000);
      this.timer.unref();
    }
  }

  /** One event per plugin, as Fluentd's timer does; a refused emit is logged and retried next interval. */
  emitInfo(tag: string): Promise<void> {
    const b = new BatchBuilder();
    const now = EventTime.now();
    for (const info of allPluginInfo(this.engine, {
      withConfig: this.p.emit_config,
      withRetry: this.p.include_retry,
    }))
      b.add(now, info);
    return this.ctx
      .emit(b.take(tag))
      .catch((e: Error) =>
        this.ctx.logger.warn(
          { code: 'EMIT_FAILED', err: e.message },
          'monitor_agent: emitting plugin records failed',
        ),
      );
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.dashboard?.close();
    await this.search?.close();
    this.search = undefined;
    await this.server?.release();
    this.server = undefined;
  }
}

const schema = defineSchema({
  params,
  sections: {
    search: {
      description:
        'A cluster the dashboard search page may search besides the elasticsearch/opensearch outputs (which are searchable without it).',
      multi: true,
      params: searchParams,
    },
  },
});

const descriptor: PluginDescriptor<MonitorAgent, typeof schema> = {
  kind: 'input',
  multiWorkers: true,
  type: 'monitor_agent',
  description:
    'Fluentd-compatible monitoring API (/api/plugins.json, /api/config.json), /healthz, /readyz, /metrics and the optional live dashboard.',
  schema,
  create(config, ctx) {
    const p = config.params;
    const el = config.element;
    const at = (k: string) => param(el, k)?.location ?? el.location;
    if (p.emit_interval <= 0)
      throw new ConfigError("parameter 'emit_interval' must be positive", at('emit_interval'));
    if (p.dashboard_tail_rate < 1)
      throw new ConfigError("parameter 'dashboard_tail_rate' must be at least 1", at('dashboard_tail_rate'));
    if (p.dashboard_user === undefined && p.dashboard_password !== undefined)
      throw new ConfigError(
        'MONITOR_DASHBOARD_AUTH: dashboard_password is set without dashboard_user',
        at('dashboard_password'),
      );
    if (p.dashboard && !isLoopback(p.bind) && !dashboardAuth(p))
      throw new ConfigError(
        `MONITOR_DASHBOARD_NO_AUTH: the dashboard shows records and searches the outputs' indices; bound to ${p.bind} it needs dashboard_token or dashboard_user and dashboard_password`,
        at('bind'),
      );
    const sections = config.sections.search;
    // checked here so that `sluice check` reports a bad <search> section
    for (const s of sections) void targetFromSection(s).agent.close();
    return new MonitorAgent(ctx, p, sections);
  },
};

export default descriptor;
