// Parser and formatter throughput, in-process: lines/s and MB/s per format, peak RSS.
// node --import tsx bench/parsers/parse.ts [lines]   (default 200000)
import { EventTime } from '@sluice/forward';
import { parseRaw } from '../../packages/sluice/src/config/parser.ts';
import { resolve } from '../../packages/sluice/src/config/schema.ts';
import type { FormatterPlugin, PluginDescriptor } from '../../packages/sluice/src/core/plugin.ts';
import type { SluiceParser } from '../../packages/sluice/src/shared/parse/common.ts';
import { testContext } from '../../packages/sluice/src/testing/context.ts';

const N = Number(process.argv[2] ?? 200_000);
let peakRss = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

async function make<T>(kind: 'parser' | 'formatter', type: string, body = ''): Promise<T> {
  const d = (await import(`../../packages/sluice/src/plugins/${kind}/${type}.ts`))
    .default as PluginDescriptor<T>;
  const section = kind === 'parser' ? 'parse' : 'format';
  const el = parseRaw(`<${section}>\n@type ${type}\n${body}\n</${section}>\n`, { file: 'bench' })
    .elements[0]!;
  return (await d.create(resolve(d.schema, el, type), testContext())) as T;
}

function lines(gen: (i: number) => string): string[] {
  const out = new Array<string>(N);
  for (let i = 0; i < N; i++) out[i] = gen(i);
  return out;
}

const pad = 'x'.repeat(60);
const inputs: Record<string, { body?: string; lines: string[] }> = {
  none: {
    lines: lines(
      (i) =>
        `2026-11-21T00:00:00.000Z INFO request ${i} handled in 12ms user=alice path=/api/v1/items ${pad}`,
    ),
  },
  json: {
    lines: lines(
      (i) =>
        `{"time":${1795000000 + (i % 1000)}.5,"level":"info","msg":"request ${i} handled","user":"alice","path":"/api/v1/items","pad":"${pad}"}`,
    ),
  },
  apache2: {
    lines: lines(
      (i) =>
        `192.168.0.${i % 255} - - [28/Feb/2013:12:00:${String(i % 60).padStart(2, '0')} +0900] "GET /api/v1/items/${i} HTTP/1.1" 200 777 "-" "Mozilla/5.0"`,
    ),
  },
  ltsv: {
    lines: lines(
      (i) =>
        `time:2013-02-28T12:00:${String(i % 60).padStart(2, '0')}Z\thost:192.168.0.1\treq:GET /list/${i} HTTP/1.1\tstatus:200\tua:${pad}`,
    ),
  },
  syslog: {
    lines: lines(
      (i) =>
        `Feb 28 12:00:${String(i % 60).padStart(2, '0')} host-${i % 10} app[${i % 999}]: message number ${i} ${pad}`,
    ),
  },
};

console.log(`parsers: ${N} lines each (2 cores, shared during development; figures will be re-measured)`);
for (const [type, input] of Object.entries(inputs)) {
  const p = await make<SluiceParser>('parser', type, input.body);
  const bytes = input.lines.reduce((a, l) => a + Buffer.byteLength(l), 0);
  const t0 = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < N; i++) {
    if (p.parse(input.lines[i]!)) ok++;
    if ((i & 0xffff) === 0) sample();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  sample();
  if (ok !== N) throw new Error(`${type}: only ${ok}/${N} lines parsed`);
  console.log(
    `  ${type.padEnd(9)} ${Math.round(N / s)
      .toLocaleString('en-US')
      .padStart(11)} lines/s  ${(bytes / s / 1048576).toFixed(1).padStart(6)} MB/s`,
  );
}

const record = { level: 'info', msg: 'request handled', user: 'alice', path: '/api/v1/items', n: 42, pad };
console.log(`formatters: ${N} records each`);
for (const [type, body] of [
  ['out_file', 'utc true'],
  ['json', ''],
  ['ltsv', ''],
  ['csv', 'fields level,msg,user,path,n'],
  ['msgpack', ''],
] as const) {
  const f = await make<FormatterPlugin>('formatter', type, body);
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const out = f.format('app.log', new EventTime(1795000000 + (i >> 10), i), record);
    bytes += out.length;
    if ((i & 0xffff) === 0) sample();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `  ${type.padEnd(9)} ${Math.round(N / s)
      .toLocaleString('en-US')
      .padStart(11)} records/s  ${(bytes / s / 1048576).toFixed(1).padStart(6)} MB/s`,
  );
}
console.log(`peak RSS ${(peakRss / 1048576).toFixed(0)} MB`);
