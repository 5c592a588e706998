import type { PipelineView } from '../core/pipeline-view.ts';
import { type MonitorServer, sendJson, sendText } from './http-server.ts';
import { engineMetrics } from './metrics.ts';

/** GET /healthz (the process answers) and /readyz (every plugin started, not stopping): for probes. */
export function mountHealth(server: MonitorServer, engine: PipelineView): void {
  server.route('/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
  server.route('/readyz', (_req, res) => {
    const ready = engine.ready;
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
  });
}

/** GET <path>: the Prometheus text exposition of the engine's metrics and the process's. */
export function mountMetrics(server: MonitorServer, engine: PipelineView, path = '/metrics'): void {
  const metrics = engineMetrics(engine);
  server.route(path, async (_req, res) => {
    const text = await metrics.text();
    sendText(res, 200, text, metrics.contentType);
  });
}

/** Fluentd gives worker N the port `port + N`; port 0 stays 0 (any free port). */
export function workerPort(port: number, workerId: number): number {
  return port === 0 ? 0 : port + workerId;
}
