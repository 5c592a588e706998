// forward -> out_opensearch against a local OpenSearch 2.19 node (the tests' store), printing
// figures (never pass/fail): events/s and MB/s indexed end to end (from the first batch sent
// to the last document searchable), Sluice's CPU per event and peak RSS, and the node's peak RSS.
//
//   node --import tsx bench/elasticsearch/forward.ts [seconds of sending, default 10] [batch, default 1000]
//     [total_limit_size of the memory buffer, default 32m] [chunk_limit_size, default 8m]
//
// The node indexes far slower than Sluice accepts, so the buffer fills to total_limit_size and
// the forward client waits on acks (overflow_action block): the limit sets Sluice's memory.
//
// A forward client sends PackedForward batches of `batch` events with acks (8 in flight) into a
// `sluice run` child (as users run it); its opensearch output (memory buffer) sends bulk
// requests to the node. SLUICE_TEST_OPENSEARCH_URL points it at a node of your own instead.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMultiple, EventTime, encode } from '@sluice/forward';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { startOpenSearch } from '../../packages/sluice/test/stores/opensearch.ts';
import { fmt, JSON_BYTES, RECORD, tree, usage } from '../lib/store-bench.ts';

const seconds = Number(process.argv[2] ?? 10);
const batch = Number(process.argv[3] ?? 1000);
const totalLimit = process.argv[4] ?? '32m';
const chunkLimit = process.argv[5] ?? '8m';
// SLUICE_BENCH_BIN: another entry point, e.g. the run.js of a compiled tree built with
// `node scripts/build.mjs --out DIR` (bin/sluice.js runs the sources while they are newer than dist/)
const BIN =
  process.env.SLUICE_BENCH_BIN ??
  fileURLToPath(new URL('../../packages/sluice/bin/sluice.js', import.meta.url));

async function count(url: string, index: string): Promise<number> {
  await fetch(`${url}/${index}/_refresh`, { method: 'POST' });
  const r = (await (await fetch(`${url}/${index}/_count`)).json()) as { count?: number };
  return r.count ?? 0;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-es-'));
const os = await startOpenSearch({ heapMb: 1024 });
let sluice: ChildProcess | undefined;
try {
  const index = `bench-${Date.now()}`;
  await fetch(`${os.url}/${index}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '5s' },
    }),
  });
  const fwd = await freePort();
  const conf = join(dir, 'sluice.conf');
  writeFileSync(
    conf,
    `<source>\n  @type forward\n  port ${fwd}\n  bind 127.0.0.1\n</source>\n` +
      `<match **>\n  @type opensearch\n  hosts ${new URL(os.url).host}\n  index_name ${index}\n  request_timeout 60s\n` +
      `  <buffer>\n    @type memory\n    flush_mode interval\n    flush_interval 1s\n    flush_thread_count 2\n    chunk_limit_size ${chunkLimit}\n    total_limit_size ${totalLimit}\n    overflow_action block\n  </buffer>\n</match>\n`,
  );
  sluice = spawn(process.execPath, [BIN, '-c', conf, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(fwd, 60_000);
  const pids = tree(sluice.pid!);
  const u0 = usage(pids);

  const b = new BatchBuilder();
  const rec = encode(RECORD);
  const t = EventTime.now();
  for (let i = 0; i < batch; i++) b.addRaw(t.sec, t.nsec, rec);
  const entries = b.finish();
  const sock = net.connect(fwd, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let acked = 0;
  let waiting: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    for (const v of decodeMultiple(d)) if ((v as { ack?: string }).ack) acked++;
    waiting?.();
  });
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    while (sent - acked >= 8) await new Promise<void>((r) => (waiting = r));
    sock.write(encode(['bench.es', entries, { chunk: randomBytes(8).toString('base64'), size: batch }]));
    sent++;
  }
  while (acked < sent) await new Promise<void>((r) => (waiting = r));
  const accepted = sent * batch;
  const acceptedAt = performance.now();
  let indexed = 0;
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    indexed = await count(os.url, index);
    if (indexed >= accepted) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const dt = (performance.now() - t0) / 1000;
  const u1 = usage(pids);
  sock.destroy();
  const cpu = u1.cpuSec - u0.cpuSec;
  console.log(
    `forward -> opensearch, batches of ${batch}, ${seconds} s of sending, total_limit_size ${totalLimit}, chunk_limit_size ${chunkLimit}: ${fmt(indexed / dt)} events/s indexed end to end ` +
      `(${indexed}/${accepted} in ${dt.toFixed(1)} s; accepted in ${((acceptedAt - t0) / 1000).toFixed(1)} s = ${fmt(accepted / ((acceptedAt - t0) / 1000))} events/s), ` +
      `${((indexed * JSON_BYTES) / dt / 1e6).toFixed(1)} MB/s of JSON documents, ` +
      `Sluice CPU ${((cpu / dt) * 100).toFixed(0)}% of one core = ${((cpu / Math.max(1, indexed)) * 1e6).toFixed(2)} us/event, ` +
      `Sluice peak RSS ${u1.hwmMb.toFixed(0)} MiB, OpenSearch peak RSS ${((os.peakRssKiB() ?? 0) / 1024).toFixed(0)} MiB`,
  );
} finally {
  if (sluice && sluice.exitCode === null) {
    const exited = new Promise((r) => sluice!.once('exit', r));
    sluice.kill('SIGTERM');
    await exited;
  }
  await os.stop();
  rmSync(dir, { recursive: true, force: true });
}
