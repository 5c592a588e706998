// forward -> out_kinesis_firehose against the Firehose wire fake (the tests' store, run in this
// process), printing figures (never pass/fail): events/s delivered end to end (from the first
// batch sent to the last record the fake accepted), PutRecordBatch calls, CPU per event and peak
// RSS of the shipper, and where Sluice's peak RSS went (bench/lib/mem-sampler.mjs).
//
//   node --import tsx bench/firehose/out.ts [seconds of sending, default 10] [batch, default 1000]
//     [chunk_limit_size, default 4m] [total_limit_size, default 64m] [fail one record in N, default 0 = none]
//
// A forward client sends PackedForward batches of `batch` events with acks (8 in flight) into a
// `sluice run` child (as users run it); its kinesis_firehose output (memory buffer,
// flush_interval 1s, flush_thread_count 2, overflow_action block) puts every event as one
// record. With a failure rate, the fake refuses that share of the records the first time it is
// offered them (ServiceUnavailableException), so they are sent again alone. The fake runs in
// this process on the same two cores and keeps every record it accepted (its memory is not
// Sluice's). Every wait is bounded (an ack in 120 s, records that stop coming for 60 s).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { startFirehoseFake, THROTTLED } from '../../packages/sluice/test/stores/firehose-fake.ts';
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
const chunkLimit = process.argv[4] ?? '4m';
const totalLimit = process.argv[5] ?? '64m';
const failOneIn = Number(process.argv[6] ?? 0);

const STREAM = 'bench-logs';
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-firehose-'));
const fake = await startFirehoseFake({ streams: [STREAM] });
let offered = 0;
if (failOneIn > 0)
  // every record is the same bytes, so the fake's per-data attempt count is of no use: count offers
  fake.failRecords(() => (++offered % failOneIn === 0 ? THROTTLED : undefined));

const entries = recordEntries(batch);

const fwd = await freePort();
const samples = join(dir, 'mem.jsonl');
const conf = join(dir, 'sluice.conf');
writeFileSync(
  conf,
  `<source>\n  @type forward\n  port ${fwd}\n  bind 127.0.0.1\n</source>\n` +
    `<match **>\n  @type kinesis_firehose\n  delivery_stream_name ${STREAM}\n  region ${fake.region}\n  endpoint ${fake.endpoint}\n` +
    `  aws_key_id ${fake.credentials.accessKeyId}\n  aws_sec_key ${fake.credentials.secretAccessKey}\n` +
    `  <buffer>\n    @type memory\n    flush_mode interval\n    flush_interval 1s\n    flush_thread_count 2\n    chunk_limit_size ${chunkLimit}\n    total_limit_size ${totalLimit}\n    overflow_action block\n  </buffer>\n</match>\n`,
);
const child = spawn(process.execPath, [SLUICE_BIN, '-c', conf, '--log-level', 'error'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    ...memSamplerEnv(samples),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  },
});
try {
  await waitForPort(fwd, 60_000);
  const pids = tree(child.pid!);
  const u0 = usage(pids);
  const mine0 = process.cpuUsage();
  const { accepted, t0, acceptedAt } = await sendForward(fwd, 'bench.firehose', entries, batch, seconds);
  const got = await countUntil(() => fake.records(STREAM).length, accepted, 50);
  const dt = (performance.now() - t0) / 1000;
  const u1 = usage(pids);
  const cpu = u1.cpuSec - u0.cpuSec;
  const mine = process.cpuUsage(mine0);
  const puts = fake.requests.filter((r) => r.operation === 'PutRecordBatch');
  console.log(
    `forward -> kinesis_firehose (fake), batches of ${batch}, ${seconds} s of sending, chunk_limit_size ${chunkLimit}, total_limit_size ${totalLimit}` +
      `${failOneIn > 0 ? `, 1 record in ${failOneIn} refused once` : ''}: ` +
      `${fmt(got / dt)} events/s delivered end to end (${got}/${accepted} in ${dt.toFixed(1)} s; accepted in ${((acceptedAt - t0) / 1000).toFixed(1)} s = ${fmt(accepted / ((acceptedAt - t0) / 1000))} events/s), ` +
      `${puts.length} PutRecordBatch calls (${fmt(puts.reduce((s, r) => s + r.records, 0))} records offered), ` +
      `${((got * JSON_BYTES) / dt / 1e6).toFixed(1)} MB/s of JSON lines, ` +
      `${cpuAndRss(cpu, dt, got, u1.hwmMb)}; this process (client and fake) CPU ${(((mine.user + mine.system) / 1e6 / dt) * 100).toFixed(0)}% of one core`,
  );
  console.log(`  sluice ${peakBreakdown(samples)}`);
  if (got !== accepted) console.log(`  NOT ALL DELIVERED: ${got} of ${accepted}`);
} finally {
  await stopChild(child);
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
