import { defineParams } from '../../config/schema.ts';
import type { InputPlugin, PluginDescriptor } from '../../core/plugin.ts';

// fluent-plugin-prometheus' collector inputs: prometheus_monitor (process and buffer
// metrics), prometheus_output_monitor (per-output metrics), prometheus_tail_monitor (per
// tailed file). Sluice's `prometheus` input serves all of these itself, read from the
// engine at scrape time, so configs that carry these sources (the official DaemonSet's
// prometheus.conf) run unchanged: the source is accepted, says so, and collects nothing.

const params = defineParams({
  interval: {
    type: 'time',
    default: 5,
    description: 'Accepted for compatibility: Sluice reads the metrics at scrape time, not on an interval.',
  },
  gauge_all: {
    type: 'bool',
    default: true,
    description: 'Accepted for compatibility (prometheus_output_monitor): every output is always reported.',
  },
});

const descriptor: PluginDescriptor<InputPlugin> = {
  kind: 'input',
  multiWorkers: true,
  type: 'prometheus_monitor',
  description:
    "fluent-plugin-prometheus' prometheus_monitor, prometheus_output_monitor and prometheus_tail_monitor: accepted, their metrics are built into Sluice's prometheus input.",
  schema: {
    params,
    sections: {
      labels: {
        description: 'Extra labels (accepted; the prometheus input labels series by plugin_id and type).',
        open: true,
      },
    },
  },
  create(_config, ctx) {
    return {
      async start() {
        ctx.logger.info(
          { code: 'BUILT_IN' },
          "this source's metrics are built into Sluice: a <source> @type prometheus serves them at /metrics; nothing to collect here",
        );
      },
      async stop() {},
    };
  },
};
export default descriptor;
