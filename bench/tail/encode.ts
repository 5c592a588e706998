// The tail's line -> entry step alone, in-process: lines/s for one parser, no I/O.
// Shows what parsing and msgpack encoding cost per line before reading and routing are added.
// node --import tsx bench/tail/encode.ts [apache2|regexp|none|json] [lines] [--per-line]   (default apache2 500000)
import { parseRaw } from '../../packages/sluice/src/config/parser.ts';
import { resolve } from '../../packages/sluice/src/config/schema.ts';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';
import { preloadPlugins } from '../../packages/sluice/src/engine/plugin-loader.ts';
import { tailOptions, tailSchema } from '../../packages/sluice/src/plugins/input/tail/config.ts';
import { NoneEncoder } from '../../packages/sluice/src/shared/lines/line-encoder.ts';
import { buildParsing } from '../../packages/sluice/src/shared/lines/parsing.ts';
import { testContext } from '../../packages/sluice/src/testing/context.ts';

const type = process.argv[2] ?? 'apache2';
const N = Number(process.argv[3] ?? 500_000);
const parseBody =
  type === 'regexp'
    ? 'expression /^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "(?<method>\\S+) (?<path>[^ ]*) [^"]*" (?<code>[^ ]*) (?<size>[^ ]*)$/\ntime_format %d/%b/%Y:%H:%M:%S %z\ntypes code:integer,size:integer'
    : '';
const el = parseRaw(
  `<source>\n@type tail\npath /nonexistent\ntag t\n<parse>\n@type ${type}\n${parseBody}\n</parse>\n</source>\n`,
  { file: 'bench' },
).elements[0]!;
await preloadPlugins([el]);
const ctx = testContext();
const parsing = buildParsing(tailOptions(resolve(tailSchema, el, 'tail')), ctx);

// The same lines as bench/vth regex_parsing: every line has a different time stamp.
const text: string[] = [];
for (let i = 0; i < N; i++)
  text.push(
    type === 'json'
      ? `{"host":"203.0.113.${i % 250}","user":"user${i % 7}","method":"GET","path":"/api/v1/items/${i}?page=${i % 10}","code":200,"size":${1000 + (i % 9000)}}`
      : `203.0.113.${i % 250} - user${i % 7} [21/Nov/2026:23:${String(i % 60).padStart(2, '0')}:${String(i % 59).padStart(2, '0')} +0000] "GET /api/v1/items/${i}?page=${i % 10} HTTP/1.1" 200 ${1000 + (i % 9000)}`,
  );
const buf = Buffer.from(`${text.join('\n')}\n`);
const src = { path: '/var/log/access.log', tag: 't', pathStr: Buffer.alloc(0) };
const w = new BatchBuilder();
// --per-line: the general path (one encoder call per line) even where the tail has a loop of its own.
const batchLines =
  parsing.encoder instanceof NoneEncoder && !process.argv.includes('--per-line')
    ? parsing.encoder
    : undefined;
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  let start = 0;
  let out = 0;
  if (batchLines) {
    // What the tail does for `none`: one call per read, up to 1000 lines (read_lines_limit).
    for (let i = 0; i < N; i += batchLines.encoded) {
      start = batchLines.lines(w, buf, start, buf.length, src, 1795000000, 0, 1000, 8 << 20, undefined);
      if (batchLines.encoded === 0) throw new Error(`no line left after ${i} of ${N}`);
      out += w.take('t').bytes.length;
    }
  } else {
    for (let i = 0; i < N; i++) {
      const end = buf.indexOf(10, start);
      parsing.encoder.line(w, buf, start, end, src, 1795000000, 0);
      start = end + 1;
      if (w.count >= 1000) out += w.take('t').bytes.length;
    }
  }
  out += w.take('t').bytes.length;
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${type} (${parsing.mode}): ${N.toLocaleString('en')} lines in ${s.toFixed(2)} s = ${Math.round(N / s).toLocaleString('en')} lines/s, ${(buf.length / s / 1048576).toFixed(1)} MiB/s in, ${(out / N).toFixed(0)} B/entry out, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`,
  );
}
