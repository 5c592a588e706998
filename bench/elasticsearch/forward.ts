// forward -> out_opensearch against a local OpenSearch 2.19 node (the tests' store), printing
// figures (never pass/fail): events/s and MB/s indexed end to end (from the first batch sent
// to the last document searchable), CPU per event and peak RSS of the shipper, where Sluice's
// peak RSS went (bench/lib/mem-sampler.mjs), and the node's peak RSS.
//
//   [FLUENT_BIT_BIN=.../fluent-bit] [ROUNDS=1] [ALT_IDS=1] node --import tsx bench/elasticsearch/forward.ts
//     [seconds of sending, default 10] [batch, default 1000]
//     [total_limit_size of the memory buffer, default 32m] [chunk_limit_size, default 8m]
//
// The node indexes far slower than Sluice accepts, so the buffer fills to total_limit_size and
// the forward client waits on acks (overflow_action block): the limit sets Sluice's memory.
//
// A forward client sends PackedForward batches of `batch` events with acks (8 in flight) into a
// `sluice run` child (as users run it); its opensearch output (memory buffer) sends bulk
// requests to the node. With FLUENT_BIT_BIN, the same client then sends the same batches to
// Fluent Bit (in_forward, Mem_Buf_Limit = total_limit_size -> out_opensearch with
// Suppress_Type_Name On, 2 workers), into a fresh index with the same settings on the same node,
// Sluice and Fluent Bit alternating ROUNDS times. Every wait is bounded: an ack that does not come
// in 120 s, or a count that stops growing for 60 s, ends that case with what was indexed.
// ALT_IDS=1 adds, each round, Sluice with id_policy none (see runCase).
// SLUICE_TEST_OPENSEARCH_URL points it at a node of your own instead; SLUICE_BENCH_BIN at another
// entry point, e.g. the run.js of a compiled tree built with `node scripts/build.mjs --out DIR`
// (bin/sluice.js runs the sources while they are newer than dist/).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { startOpenSearch } from '../../packages/sluice/test/stores/opensearch.ts';
import {
  countUntil,
  cpuAndRss,
  fmt,
  JSON_BYTES,
  memSamplerEnv,
  peakBreakdown,
  recordEntries,
  SLUICE_BIN,
  sendForward,
  stopChild,
  tree,
  usage,
} from '../lib/store-bench.ts';

const seconds = Number(process.argv[2] ?? 10);
const batch = Number(process.argv[3] ?? 1000);
const totalLimit = process.argv[4] ?? '32m';
const chunkLimit = process.argv[5] ?? '8m';
const rounds = Number(process.env.ROUNDS ?? 1);
const FLUENT_BIT = process.env.FLUENT_BIT_BIN;

async function count(url: string, index: string): Promise<number> {
  await fetch(`${url}/${index}/_refresh`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  const r = (await (
    await fetch(`${url}/${index}/_count`, { signal: AbortSignal.timeout(30_000) })
  ).json()) as { count?: number };
  return r.count ?? 0;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-es-'));
const os = await startOpenSearch({ heapMb: 1024 });
const osPort = new URL(os.url).port;
const entries = recordEntries(batch);

/**
 * `alt`: Sluice with `id_policy none` (server-made ids and `index`, Fluent Bit's default), to see
 * what its default ids (`create` with an _id the node must look up) cost the node. Fluent Bit's
 * `Generate_ID On` is not run: the bench's records are all the same with the same time, so its
 * hash ids would fold them into one document.
 */
async function runCase(who: 'sluice' | 'fluent-bit', round: number, alt = false): Promise<void> {
  const index = `bench-${who}-${round}-${Date.now()}`;
  await fetch(`${os.url}/${index}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '5s' },
    }),
  });
  const fwd = await freePort();
  let child: ChildProcess;
  const samples = join(dir, `mem-${who}-${round}${alt ? '-alt' : ''}.jsonl`);
  if (who === 'sluice') {
    const conf = join(dir, 'sluice.conf');
    writeFileSync(
      conf,
      `<source>\n  @type forward\n  port ${fwd}\n  bind 127.0.0.1\n</source>\n` +
        `<match **>\n  @type opensearch\n  hosts 127.0.0.1:${osPort}\n  index_name ${index}\n  request_timeout 60s\n${alt ? '  id_policy none\n' : ''}` +
        `  <buffer>\n    @type memory\n    flush_mode interval\n    flush_interval 1s\n    flush_thread_count 2\n    chunk_limit_size ${chunkLimit}\n    total_limit_size ${totalLimit}\n    overflow_action block\n  </buffer>\n</match>\n`,
    );
    child = spawn(process.execPath, [SLUICE_BIN, '-c', conf, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...memSamplerEnv(samples) },
    });
  } else {
    const conf = join(dir, 'fluent-bit.conf');
    // Fluent Bit's defaults but: no _type (OpenSearch 2 refuses the whole request with it), the
    // whole bulk answer read (Buffer_Size: its 512k default cannot hold the answer to a chunk of
    // several thousand documents), 2 workers as Sluice's flush_thread_count, retries unbounded
    // (the default Retry_Limit 1 drops a chunk the node answered 429 twice).
    writeFileSync(
      conf,
      `[SERVICE]\n    Flush 1\n    Log_Level warn\n` +
        `[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port ${fwd}\n    Mem_Buf_Limit ${Number.parseInt(totalLimit, 10)}MB\n` +
        `[OUTPUT]\n    Name opensearch\n    Match *\n    Host 127.0.0.1\n    Port ${osPort}\n    Index ${index}\n` +
        `    Suppress_Type_Name On\n    Buffer_Size False\n    Workers 2\n    Retry_Limit False\n    Trace_Error On\n`,
    );
    child = spawn(FLUENT_BIT!, ['-q', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  try {
    await waitForPort(fwd, 60_000);
    const pids = tree(child.pid!);
    const u0 = usage(pids);
    const { accepted, t0, acceptedAt, reconnects } = await sendForward(
      fwd,
      `bench.${who}`,
      entries,
      batch,
      seconds,
    );
    // every accepted event searchable, or the count stopped growing for 60 s
    const indexed = await countUntil(() => count(os.url, index), accepted);
    const dt = (performance.now() - t0) / 1000;
    const u1 = usage(pids);
    const cpu = u1.cpuSec - u0.cpuSec;
    console.log(
      `${who}${alt ? ' (id_policy none)' : ''} round ${round}: forward -> opensearch, batches of ${batch}, ${seconds} s of sending, buffer ${totalLimit}` +
        `${who === 'sluice' ? `, chunk_limit_size ${chunkLimit}` : ''}: ${fmt(indexed / dt)} events/s indexed end to end ` +
        `(${indexed}/${accepted} in ${dt.toFixed(1)} s; accepted in ${((acceptedAt - t0) / 1000).toFixed(1)} s = ${fmt(accepted / ((acceptedAt - t0) / 1000))} events/s${reconnects ? `, the client reconnected ${reconnects} times` : ''}), ` +
        `${((indexed * JSON_BYTES) / dt / 1e6).toFixed(1)} MB/s of JSON documents, ` +
        cpuAndRss(cpu, dt, indexed, u1.hwmMb),
    );
    if (who === 'sluice') console.log(`  sluice ${peakBreakdown(samples)}`);
  } finally {
    await stopChild(child);
  }
}

try {
  for (let round = 1; round <= rounds; round++) {
    await runCase('sluice', round);
    if (FLUENT_BIT) await runCase('fluent-bit', round);
    if (process.env.ALT_IDS) await runCase('sluice', round, true);
  }
  console.log(`OpenSearch peak RSS ${((os.peakRssKiB() ?? 0) / 1024).toFixed(0)} MiB`);
} finally {
  await os.stop();
  rmSync(dir, { recursive: true, force: true });
}
