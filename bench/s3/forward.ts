// forward -> out_s3 against moto's S3 (the tests' store), printing figures (never pass/fail):
// events/s and MB/s stored end to end (from the first batch sent to the last object read back
// complete), CPU per event and peak RSS of the shipper, where Sluice's peak RSS went
// (bench/lib/mem-sampler.mjs), and moto's peak RSS.
//
//   [FLUENT_BIT_BIN=.../fluent-bit] [ROUNDS=1] node --import tsx bench/s3/forward.ts
//     [seconds of sending, default 10] [batch, default 1000]
//     [store_as, default gzip] [chunk_limit_size, default 8m] [total_limit_size, default 64m]
//
// A forward client sends PackedForward batches of `batch` events with acks (8 in flight) into a
// `sluice run` child (as users run it); its s3 output (memory buffer, flush_interval 1s,
// overflow_action block) uploads one object per chunk. The events are counted by reading every
// object back (gunzipped for gzip) in this process, so the end-to-end time includes that.
// With FLUENT_BIT_BIN (a Fluent Bit built with FLB_OUT_S3), the same batches then go to Fluent
// Bit (in_forward, Mem_Buf_Limit = total_limit_size -> out_s3 with PutObject of
// total_file_size = chunk_limit_size objects, compression as store_as, upload_timeout 6s: its
// timer's shortest period), into a fresh bucket, the two alternating ROUNDS times. Every wait is
// bounded (an ack in 120 s, objects that stop coming for 60 s).
// SLUICE_TEST_MOTO_ENDPOINT points it at a server of your own instead; SLUICE_BENCH_BIN at a
// compiled tree (see bench/elasticsearch/forward.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { startMoto } from '../../packages/sluice/test/stores/moto.ts';
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
const storeAs = process.argv[4] ?? 'gzip';
const chunkLimit = process.argv[5] ?? '8m';
const totalLimit = process.argv[6] ?? '64m';
const rounds = Number(process.env.ROUNDS ?? 1);
const FLUENT_BIT = process.env.FLUENT_BIT_BIN;

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
const entries = recordEntries(batch);

/** Reads every object back once, counting lines, until `accepted` or no new line for 60 s. */
async function storedCount(
  bucket: string,
  accepted: number,
): Promise<{ stored: number; objects: number; bytes: number }> {
  const counted = new Map<string, number>();
  let stored = 0;
  let bytes = 0;
  const scan = async () => {
    let token: string | undefined;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of r.Contents ?? []) {
        if (counted.has(o.Key!)) continue;
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
        let body = Buffer.from(await got.Body!.transformToByteArray());
        bytes += body.length;
        if (o.Key!.endsWith('.gz')) body = gunzipSync(body);
        let lines = 0;
        for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) lines++;
        counted.set(o.Key!, lines);
        stored += lines;
      }
      token = r.NextContinuationToken;
    } while (token);
    return stored;
  };
  await countUntil(scan, accepted);
  return { stored, objects: counted.size, bytes };
}

async function runCase(who: 'sluice' | 'fluent-bit', round: number): Promise<void> {
  const bucket = `bench-${who}-${round}-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const fwd = await freePort();
  const samples = join(dir, `mem-${who}-${round}.jsonl`);
  let child: ChildProcess;
  if (who === 'sluice') {
    const conf = join(dir, 'sluice.conf');
    writeFileSync(
      conf,
      `<source>\n  @type forward\n  port ${fwd}\n  bind 127.0.0.1\n</source>\n` +
        `<match **>\n  @type s3\n  s3_bucket ${bucket}\n  s3_region ${moto.region}\n  s3_endpoint ${moto.endpoint}\n  force_path_style true\n` +
        `  aws_key_id ${moto.credentials.accessKeyId}\n  aws_sec_key ${moto.credentials.secretAccessKey}\n  path logs/\n  store_as ${storeAs}\n` +
        `  <format>\n    @type json\n  </format>\n` +
        `  <buffer>\n    @type memory\n    flush_mode interval\n    flush_interval 1s\n    flush_thread_count 2\n    chunk_limit_size ${chunkLimit}\n    total_limit_size ${totalLimit}\n    overflow_action block\n  </buffer>\n</match>\n`,
    );
    child = spawn(process.execPath, [SLUICE_BIN, '-c', conf, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        ...memSamplerEnv(samples),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
  } else {
    const conf = join(dir, 'fluent-bit.conf');
    const store = join(dir, `fb-store-${round}`);
    mkdirSync(store);
    const gz = storeAs === 'gzip';
    // json_date_key false: Fluent Bit would add a "date" field to every line (Sluice's json
    // format writes the record only). $UUID: its default key has one object per second.
    writeFileSync(
      conf,
      `[SERVICE]\n    Flush 1\n    Log_Level warn\n` +
        `[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port ${fwd}\n    Mem_Buf_Limit ${Number.parseInt(totalLimit, 10)}MB\n` +
        `[OUTPUT]\n    Name s3\n    Match *\n    bucket ${bucket}\n    region ${moto.region}\n    endpoint ${moto.endpoint}\n` +
        `    store_dir ${store}\n    use_put_object On\n    total_file_size ${chunkLimit.toUpperCase()}\n    upload_timeout 6s\n` +
        `    s3_key_format /logs/$TAG/%Y%m%d%H%M%S-$UUID${gz ? '.gz' : '.log'}\n    json_date_key false\n` +
        (gz ? '    compression gzip\n' : '') +
        `    Retry_Limit False\n`,
    );
    child = spawn(FLUENT_BIT!, ['-q', '-c', conf], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
      },
    });
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
    const { stored, objects, bytes } = await storedCount(bucket, accepted);
    const dt = (performance.now() - t0) / 1000;
    const u1 = usage(pids);
    const cpu = u1.cpuSec - u0.cpuSec;
    console.log(
      `${who} round ${round}: forward -> s3 (moto), store_as ${storeAs}, batches of ${batch}, ${seconds} s of sending, ` +
        `${who === 'sluice' ? `chunk_limit_size ${chunkLimit}, total_limit_size` : `total_file_size ${chunkLimit}, Mem_Buf_Limit`} ${totalLimit}: ` +
        `${fmt(stored / dt)} events/s stored end to end ` +
        `(${stored}/${accepted} in ${objects} objects, ${dt.toFixed(1)} s; accepted in ${((acceptedAt - t0) / 1000).toFixed(1)} s = ${fmt(accepted / ((acceptedAt - t0) / 1000))} events/s${reconnects ? `, the client reconnected ${reconnects} times` : ''}), ` +
        `${((stored * JSON_BYTES) / dt / 1e6).toFixed(1)} MB/s of JSON lines (${(bytes / 1e6).toFixed(1)} MB stored), ` +
        cpuAndRss(cpu, dt, stored, u1.hwmMb),
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
  }
  console.log(`moto peak RSS ${((moto.peakRssKiB() ?? 0) / 1024).toFixed(0)} MiB`);
} finally {
  s3.destroy();
  await moto.stop();
  rmSync(dir, { recursive: true, force: true });
}
