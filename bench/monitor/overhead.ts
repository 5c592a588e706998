// What monitoring costs: events/s through the engine (pre-built 100-event batches ->
// null) with no monitoring, with monitor_agent + /metrics, and with a live-tail viewer on
// every tag; and the time to render /metrics and /api/plugins.json. Prints figures only.
// Run: node --import tsx bench/monitor/overhead.ts [seconds per case]
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../packages/sluice/src/core/batch.ts';
import { Engine } from '../../packages/sluice/src/engine/engine.ts';
import { LiveTail } from '../../packages/sluice/src/monitor/live-tail.ts';
import { engineMetrics } from '../../packages/sluice/src/monitor/metrics.ts';
import { allPluginInfo } from '../../packages/sluice/src/monitor/plugin-info.ts';

const seconds = Number(process.argv[2] ?? 2);
const logger = pino({ level: 'silent' });
const batch = EventBatch.fromEntries(
  'app.web',
  Array.from({ length: 100 }, (_, i) => ({
    time: new EventTime(1700000000, i),
    record: { message: 'GET /index.html 200', status: 200, bytes: 5120, i },
  })),
);
const conf = (monitor: boolean) => `
${monitor ? '<source>\n  @type monitor_agent\n  port 0\n</source>' : ''}
<filter app.**>
  @type grep
  <exclude>
    key status
    pattern /^5/
  </exclude>
</filter>
<match app.**>
  @type null
</match>`;

async function run(name: string, monitor: boolean, tail: boolean) {
  const engine = await Engine.fromText(conf(monitor), { logger });
  await engine.start();
  const lt = tail ? new LiveTail(engine, { rate: 20, maxRecordChars: 2048, perBatch: 5 }) : undefined;
  const viewer = { pattern: '**', skipped: 0, sent: 0, writable: () => true, send: () => undefined };
  const remove = lt?.add(viewer);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    // A fresh batch object each time: a batch caches its decoded entries.
    for (let i = 0; i < 100; i++) await engine.emit(new EventBatch(batch.tag, batch.bytes, batch.count));
    n += 100 * batch.count;
  }
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${name}: ${Math.round(n / dt).toLocaleString('en')} events/s, ${((n * batch.bytes.length) / batch.count / dt / 1e6).toFixed(1)} MB/s, CPU ${Math.round(((cpu.user + cpu.system) / 1e6 / dt) * 100)}%${tail ? `, tail sent ${viewer.sent} skipped ${viewer.skipped}` : ''}`,
  );
  if (monitor) {
    const m = engineMetrics(engine);
    const reps = 200;
    let t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) await m.text();
    const metricsMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
    t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) JSON.stringify({ plugins: allPluginInfo(engine, { withRetry: true }) });
    const pluginsMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
    console.log(
      `  render /metrics (with process metrics): ${metricsMs.toFixed(3)} ms; /api/plugins.json: ${pluginsMs.toFixed(3)} ms`,
    );
  }
  remove?.();
  await engine.stop();
}

await run('no monitoring', false, false);
await run('monitor_agent (+ /metrics)', true, false);
await run('monitor_agent + live-tail viewer on **', true, true);
console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
