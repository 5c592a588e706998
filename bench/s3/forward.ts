// forward -> out_s3 against moto's S3 (the tests' store), printing figures (never pass/fail):
// events/s and MB/s stored end to end (from the first batch sent to the last object read back
// complete), Sluice's CPU per event and peak RSS, and moto's peak RSS.
//
//   node --import tsx bench/s3/forward.ts [seconds of sending, default 10] [batch, default 1000]
//     [store_as, default gzip] [chunk_limit_size, default 8m] [total_limit_size, default 64m]
//
// A forward client sends PackedForward batches of `batch` events with acks (8 in flight) into a
// `sluice run` child (as users run it); its s3 output (memory buffer, flush_interval 1s,
// overflow_action block) uploads one object per chunk. The events are counted by reading every
// object back (gunzipped for gzip) in this process, so the end-to-end time includes that.
// SLUICE_TEST_MOTO_ENDPOINT points it at a server of your own instead; SLUICE_BENCH_BIN at a
// compiled tree (see bench/elasticsearch/forward.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { decodeMultiple, EventTime, encode } from '@sluice/forward';
import { BatchBuilder } from '../../packages/sluice/src/core/batch-builder.ts';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { startMoto } from '../../packages/sluice/test/stores/moto.ts';
import { fmt, JSON_BYTES, RECORD, tree, usage } from '../lib/store-bench.ts';

const seconds = Number(process.argv[2] ?? 10);
const batch = Number(process.argv[3] ?? 1000);
const storeAs = process.argv[4] ?? 'gzip';
const chunkLimit = process.argv[5] ?? '8m';
const totalLimit = process.argv[6] ?? '64m';
const BIN =
  process.env.SLUICE_BENCH_BIN ??
  fileURLToPath(new URL('../../packages/sluice/bin/sluice.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-s3-'));
const moto = await startMoto();
const s3 = new S3Client({
  endpoint: moto.endpoint,
  region: moto.region,
  credentials: moto.credentials,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
let sluice: ChildProcess | undefined;
try {
  const bucket = `bench-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const fwd = await freePort();
  const conf = join(dir, 'sluice.conf');
  writeFileSync(
    conf,
    `<source>\n  @type forward\n  port ${fwd}\n  bind 127.0.0.1\n</source>\n` +
      `<match **>\n  @type s3\n  s3_bucket ${bucket}\n  s3_region ${moto.region}\n  s3_endpoint ${moto.endpoint}\n  force_path_style true\n` +
      `  aws_key_id ${moto.credentials.accessKeyId}\n  aws_sec_key ${moto.credentials.secretAccessKey}\n  path logs/\n  store_as ${storeAs}\n` +
      `  <format>\n    @type json\n  </format>\n` +
      `  <buffer>\n    @type memory\n    flush_mode interval\n    flush_interval 1s\n    flush_thread_count 2\n    chunk_limit_size ${chunkLimit}\n    total_limit_size ${totalLimit}\n    overflow_action block\n  </buffer>\n</match>\n`,
  );
  sluice = spawn(process.execPath, [BIN, '-c', conf, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
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
    sock.write(encode(['bench.s3', entries, { chunk: randomBytes(8).toString('base64'), size: batch }]));
    sent++;
  }
  while (acked < sent) await new Promise<void>((r) => (waiting = r));
  const accepted = sent * batch;
  const acceptedAt = performance.now();
  // read every object back once, counting its lines
  const counted = new Map<string, number>();
  let stored = 0;
  let storedBytes = 0;
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline && stored < accepted) {
    let token: string | undefined;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        if (counted.has(o.Key!)) continue;
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
        let body = Buffer.from(await got.Body!.transformToByteArray());
        storedBytes += body.length;
        if (o.Key!.endsWith('.gz')) body = gunzipSync(body);
        let lines = 0;
        for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) lines++;
        counted.set(o.Key!, lines);
        stored += lines;
      }
      token = r.NextContinuationToken;
    } while (token);
    if (stored < accepted) await new Promise((r) => setTimeout(r, 250));
  }
  const dt = (performance.now() - t0) / 1000;
  const u1 = usage(pids);
  sock.destroy();
  const cpu = u1.cpuSec - u0.cpuSec;
  console.log(
    `forward -> s3 (moto), store_as ${storeAs}, batches of ${batch}, ${seconds} s of sending, chunk_limit_size ${chunkLimit}, total_limit_size ${totalLimit}: ${fmt(stored / dt)} events/s stored end to end ` +
      `(${stored}/${accepted} in ${counted.size} objects, ${dt.toFixed(1)} s; accepted in ${((acceptedAt - t0) / 1000).toFixed(1)} s = ${fmt(accepted / ((acceptedAt - t0) / 1000))} events/s), ` +
      `${((stored * JSON_BYTES) / dt / 1e6).toFixed(1)} MB/s of JSON lines (${(storedBytes / 1e6).toFixed(1)} MB stored), ` +
      `Sluice CPU ${((cpu / dt) * 100).toFixed(0)}% of one core = ${((cpu / Math.max(1, stored)) * 1e6).toFixed(2)} us/event, ` +
      `Sluice peak RSS ${u1.hwmMb.toFixed(0)} MiB, moto peak RSS ${((moto.peakRssKiB() ?? 0) / 1024).toFixed(0)} MiB`,
  );
} finally {
  if (sluice && sluice.exitCode === null) {
    const exited = new Promise((r) => sluice!.once('exit', r));
    sluice.kill('SIGTERM');
    await exited;
  }
  s3.destroy();
  await moto.stop();
  rmSync(dir, { recursive: true, force: true });
}
