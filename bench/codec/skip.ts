// The msgpack skipper on the paths that use it most: JSON from a chunk (out_http,
// out_elasticsearch, out_s3) and entry scanning (the buffer). Prints MB/s of chunk bytes.
// node --import tsx bench/codec/skip.ts
import { EventTime } from '@sluice/forward';
import { recordsJson } from '../../packages/sluice/src/codec/msgpack-json.ts';
import { scanEntries, skipValue } from '../../packages/sluice/src/codec/msgpack-scan.ts';
import { EventBatch } from '../../packages/sluice/src/core/batch.ts';

const N = 20_000;
const entries = [];
for (let i = 0; i < N; i++)
  entries.push({
    time: EventTime.fromMillis(1_700_000_000_000 + i),
    record: {
      host: `10.0.${i % 250}.${i % 7}`,
      method: 'GET',
      path: `/api/v1/items/${i}?q=${'x'.repeat(i % 40)}`,
      code: 200 + (i % 5),
      size: i * 13,
      agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      nested: { a: i, b: [1, 2, 3], c: null },
    },
  });
const bytes = EventBatch.fromEntries('bench', entries).bytes;
const scratch = Buffer.allocUnsafe(bytes.length * 2);

function run(name: string, rounds: number, f: () => void): void {
  for (let i = 0; i < 3; i++) f(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) f();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name.padEnd(28)} ${((bytes.length * rounds) / s / 1e6).toFixed(0).padStart(6)} MB/s`);
}

console.log(`chunk: ${N} entries, ${(bytes.length / 1e6).toFixed(2)} MB`);
run('skipValue over the entries', 200, () => {
  let off = 0;
  while (off < bytes.length) off = skipValue(bytes, off, bytes.length);
});
run('scanEntries', 200, () => scanEntries(bytes));
run('recordsJson (JSON lines)', 40, () => recordsJson(bytes, 0x0a, scratch));
