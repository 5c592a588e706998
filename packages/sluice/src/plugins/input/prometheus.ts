import { param } from '../../config/ast.ts';
import { defineParams, type ParamsOf } from '../../config/schema.ts';
import { ConfigError, internalError } from '../../core/errors.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { mountHealth, mountMetrics, workerPort } from '../../monitor/endpoints.ts';
import { acquireServer, type MonitorServer } from '../../monitor/http-server.ts';

// fluent-plugin-prometheus' `prometheus` input: an HTTP endpoint with the metrics. Here
// the per-plugin metrics that plugin gets from prometheus_output_monitor are built in
// (read from the engine at scrape time), with process metrics; /healthz and /readyz too.

const params = defineParams({
  bind: {
    type: 'string',
    default: '127.0.0.1',
    description: 'Address to listen on (fluent-plugin-prometheus uses 0.0.0.0; Sluice 127.0.0.1 unless set).',
  },
  port: {
    type: 'integer',
    min: 0,
    max: 65535,
    default: 24231,
    description: 'Port to listen on (worker N uses port + N).',
  },
  metrics_path: {
    type: 'string',
    default: '/metrics',
    description: 'Path of the Prometheus text exposition.',
  },
  aggregated_metrics_path: {
    type: 'string',
    default: '/aggregated_metrics',
    description: "Accepted for compatibility; not served: scrape each worker's port instead.",
    deprecated: 'ignored',
  },
});

type Params = ParamsOf<typeof params>;

class PrometheusInput implements InputPlugin {
  private server: MonitorServer | undefined;

  constructor(
    private readonly ctx: PluginContext,
    private readonly p: Params,
  ) {}

  async start(): Promise<void> {
    const engine = this.ctx.pipeline;
    if (!engine) throw internalError('prometheus runs inside an engine (ctx.pipeline is missing)');
    this.server = await acquireServer(
      this.p.bind,
      workerPort(this.p.port, this.ctx.workerId),
      this.ctx.logger,
    );
    mountMetrics(this.server, engine, this.p.metrics_path);
    mountHealth(this.server, engine);
    this.ctx.logger.info(
      { url: `${this.server.url}${this.p.metrics_path}` },
      `prometheus listening on ${this.server.url}`,
    );
  }

  async stop(): Promise<void> {
    await this.server?.release();
    this.server = undefined;
  }
}

const descriptor: PluginDescriptor<PrometheusInput, { params: typeof params }> = {
  kind: 'input',
  multiWorkers: true,
  type: 'prometheus',
  description:
    'Prometheus metrics endpoint: per-plugin counters and gauges (fluentd_output_status_*, sluice_*), process metrics, /healthz, /readyz.',
  schema: { params },
  create(config, ctx) {
    const p = config.params;
    const el = config.element;
    const at = (k: string) => param(el, k)?.location ?? el.location;
    if (!p.metrics_path.startsWith('/'))
      throw new ConfigError(
        `parameter 'metrics_path' must start with / (got '${p.metrics_path}')`,
        at('metrics_path'),
      );
    return new PrometheusInput(ctx, p);
  },
};

export default descriptor;
