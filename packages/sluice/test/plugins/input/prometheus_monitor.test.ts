// The official fluentd-kubernetes-daemonset prometheus.conf carries a prometheus source and a
// prometheus_output_monitor source; Sluice serves those metrics from the prometheus input,
// so the monitor sources are accepted, say so at start, and the config runs unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { parseConfigText } from '../../../src/config/parser.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { freePort } from '../../helpers/ports.ts';

test('prometheus_output_monitor, prometheus_monitor and prometheus_tail_monitor are accepted with an info line', async () => {
  const port = await freePort();
  const conf = `
<source>
  @type prometheus
  bind "#{ENV['FLUENTD_PROMETHEUS_BIND'] || '0.0.0.0'}"
  port "#{ENV['FLUENTD_PROMETHEUS_PORT'] || '24231'}"
  metrics_path "#{ENV['FLUENTD_PROMETHEUS_PATH'] || '/metrics'}"
</source>
<source>
  @type prometheus_output_monitor
</source>
<source>
  @type prometheus_monitor
  <labels>
    host \${hostname}
  </labels>
</source>
<source>
  @type prometheus_tail_monitor
  interval 10
</source>
<match **>
  @type null
</match>
`;
  const root = parseConfigText(conf, {
    file: 'prometheus.conf',
    env: { FLUENTD_PROMETHEUS_BIND: '127.0.0.1', FLUENTD_PROMETHEUS_PORT: String(port) },
  });
  const lines: { msg: string; code?: string; level: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const engine = await Engine.create(root, { logger, strict: true });
  await engine.start();
  try {
    const builtIn = lines.filter((l) => l.code === 'BUILT_IN');
    assert.equal(builtIn.length, 3);
    assert.match(builtIn[0]!.msg, /built into Sluice.*@type prometheus/);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /fluentd_output_status_/);
  } finally {
    await engine.stop();
  }
});
