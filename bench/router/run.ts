// Router throughput: `sample -> null` and `sample -> record_transformer -> null` through
// the real Engine, with batches of 1, 100 and 1,000 events; then the filters alone on
// prebuilt batches. Prints events/s, MB/s, CPU use and peak RSS. Never pass/fail.
//
//   node --import tsx bench/router/run.ts [seconds per case, default 3]
import { encode } from '@sluice/forward';
import pino from 'pino';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';
import { Engine } from '../../packages/sluice/src/engine/engine.ts';
import grep from '../../packages/sluice/src/plugins/filter/grep.ts';
import recordTransformer from '../../packages/sluice/src/plugins/filter/record_transformer/index.ts';
import { instantiate, testContext } from '../../packages/sluice/src/testing/context.ts';

const seconds = Number(process.argv[2] ?? 3);
const SAMPLE =
  '{"host":"web-1","level":"info","method":"GET","path":"/api/items/42","status":200,"bytes":5120,"message":"request served"}';
let peakRss = process.memoryUsage().rss;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

async function engineCase(name: string, size: number, filters: string): Promise<void> {
  // rate is a ceiling far above what one core reaches: the input runs flat out.
  const conf = `
<source>
  @type sample
  tag bench.router
  size ${size}
  rate ${Math.ceil(50_000_000 / size)}
  sample ${SAMPLE}
</source>
${filters}
<match bench.**>
  @type null
  @id sink
</match>`;
  const engine = await Engine.fromText(conf, { logger: pino({ level: 'silent' }) });
  const sink = engine.plugins.find((p) => p.id === 'sink')!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await engine.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await engine.stop();
  const dt = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const events = Number(sink.ctx.metrics.dropRecords ?? 0);
  const bytes = Number(sink.ctx.metrics.dropBytes ?? 0);
  console.log(
    `${name.padEnd(40)} batch ${String(size).padStart(5)}  ${fmt(events / dt).padStart(8)} events/s  ${(bytes / dt / 1e6).toFixed(1).padStart(7)} MB/s  CPU ${(((cpu.user + cpu.system) / 1e6 / dt) * 100).toFixed(0)}%`,
  );
}

/** A filter alone on prebuilt (undecoded) batches, as they arrive from an input. */
async function filterCase(
  name: string,
  plugin: { filter(b: import('../../packages/sluice/src/core/batch.ts').EventBatch): unknown },
  size: number,
): Promise<void> {
  const rec = encode(JSON.parse(SAMPLE));
  const builder = new BatchBuilder();
  const bytes = (() => {
    for (let i = 0; i < size; i++) builder.addRaw(1700000000 + i, i, rec);
    return builder.take('bench.router').bytes;
  })();
  const { EventBatch } = await import('../../packages/sluice/src/core/batch.ts');
  let events = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++) {
      await plugin.filter(new EventBatch('bench.router', bytes, size));
      events += size;
    }
  }
  const dt = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(40)} batch ${String(size).padStart(5)}  ${fmt(events / dt).padStart(8)} events/s  ${((bytes.length * events) / size / dt / 1e6).toFixed(1).padStart(7)} MB/s`,
  );
}

const transformer = `
<filter bench.**>
  @type record_transformer
  <record>
    hostname \${hostname}
    service \${tag_parts[0]}
    summary \${record["method"]} \${record["path"]} -> \${record["status"]}
  </record>
</filter>`;
// The same with remove_keys: every record is rebuilt and re-encoded (the general path).
const transformerRemove = transformer.replace('</record>', '</record>\n  remove_keys bytes');

console.log(`# bench/router — ${new Date().toISOString()} — node ${process.version}, ${seconds}s per case`);
console.log(
  `# record: ${SAMPLE.length} bytes of JSON, ${encode(JSON.parse(SAMPLE)).length} bytes of msgpack`,
);
for (const size of [1, 100, 1000]) await engineCase('sample -> null', size, '');
for (const size of [1, 100, 1000])
  await engineCase('sample -> record_transformer -> null', size, transformer);
const ctx = testContext();
const rt = instantiate(recordTransformer, transformer, ctx).plugin;
const gr = instantiate(
  grep,
  '<filter **>\n@type grep\n<regexp>\nkey path\npattern /^\\/api\\//\n</regexp>\n<exclude>\nkey level\npattern /debug/\n</exclude>\n</filter>',
).plugin;
const rtRemove = instantiate(recordTransformer, transformerRemove, ctx).plugin;
for (const size of [1, 100, 1000]) await filterCase('record_transformer alone (add keys)', rt, size);
for (const size of [1, 100, 1000])
  await filterCase('record_transformer alone (+remove_keys)', rtRemove, size);
for (const size of [1, 100, 1000]) await filterCase('grep alone (keeps all)', gr, size);
clearInterval(rssTimer);
console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB`);
