// Acceptance (issue 23, S3): two workers of one real sluice process (<system> workers 2, as
// Fluentd's multi-worker mode) write chunks of the same tag and timekey under the same path at
// the same time: no key is shared, so no object replaces another and every event is stored.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { decodeMultiple, EventTime, encode } from '@sluice/forward';
import { BatchBuilder } from '../../../../src/core/batch-builder.ts';
import { freePort, waitForPort } from '../../../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../../../helpers/sluice-process.ts';
import { type MotoServer, startMoto } from '../../../stores/moto.ts';
import { client, getObject, keys } from './helpers.ts';

/** Sends `batches` PackedForward batches of `size` events {c, n} with acks over one connection. */
async function send(port: number, c: number, batches: number, size: number): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let acked = 0;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    for (const v of decodeMultiple(d)) if ((v as { ack?: string }).ack) acked++;
    wake?.();
  });
  const t = EventTime.now();
  for (let k = 0; k < batches; k++) {
    const b = new BatchBuilder();
    for (let i = 0; i < size; i++) b.addRaw(t.sec, t.nsec, encode({ c, n: k * size + i }));
    sock.write(encode(['app', b.finish(), { chunk: randomBytes(8).toString('base64'), size }]));
    while (acked <= k) await new Promise<void>((r) => (wake = r));
  }
  sock.destroy();
}

describe('out_s3: two workers on one path (e2e)', () => {
  let moto: MotoServer;
  let s3c: S3Client;
  before(async () => {
    moto = await startMoto();
    s3c = client(moto);
  });
  after(async () => {
    s3c?.destroy();
    await moto?.stop();
  });

  it('workers 2, forward -> s3 with the default key: every event stored once, both workers wrote', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-s3-workers-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bucket = `sluice-workers-${process.pid}`;
    await s3c.send(new CreateBucketCommand({ Bucket: bucket }));
    const port = await freePort();
    const conf = join(dir, 'sluice.conf');
    writeFileSync(
      conf,
      `<system>
  workers 2
</system>
<source>
  @type forward
  port ${port}
  bind 127.0.0.1
</source>
<match app>
  @type s3
  s3_bucket ${bucket}
  s3_region ${moto.region}
  s3_endpoint ${moto.endpoint}
  force_path_style true
  aws_key_id ${moto.credentials.accessKeyId}
  aws_sec_key ${moto.credentials.secretAccessKey}
  path shared/
  store_as text
  <format>
    @type json
  </format>
  <inject>
    worker_id_key w
  </inject>
  <buffer tag, time>
    @type memory
    timekey 1d
    flush_mode interval
    flush_interval 0.2s
    flush_thread_count 2
    chunk_limit_records 300
  </buffer>
</match>
`,
    );
    let proc: SluiceProcess | undefined = spawnSluice(['-c', conf]);
    t.after(() => proc?.stop(5_000));
    await waitForPort(port, 60_000);
    // both workers started, so both are listening (the supervisor hands connections to them in turn)
    for (const w of [0, 1])
      await proc.waitFor('stderr', new RegExp(`"worker":${w}[^\n]*sluice started`), 60_000);
    const conns = 8;
    const batches = 25;
    const size = 100;
    await Promise.all(Array.from({ length: conns }, (_, c) => send(port, c, batches, size)));
    const total = conns * batches * size;
    const seen = new Set<string>();
    const workers = new Set<number>();
    const read = new Set<string>();
    let stored = 0;
    const deadline = Date.now() + 60_000;
    while (stored < total && Date.now() < deadline) {
      for (const k of await keys(s3c, bucket, 'shared/')) {
        if (read.has(k)) continue;
        read.add(k);
        for (const line of (await getObject(s3c, bucket, k)).body.toString().trim().split('\n')) {
          const r = JSON.parse(line) as { c: number; n: number; w: number };
          seen.add(`${r.c}/${r.n}`);
          workers.add(r.w);
          stored++;
        }
      }
      if (stored < total) await new Promise((r) => setTimeout(r, 200));
    }
    await proc.stop(10_000);
    proc = undefined;
    t.diagnostic(`${read.size} objects, ${stored} events, workers ${[...workers].join(',')}`);
    assert.equal(seen.size, total, 'every event');
    assert.equal(stored, total, 'once');
    assert.deepEqual([...workers].sort(), [0, 1], 'both workers wrote');
    for (const k of read) assert.match(k, /^shared\/\d{8}_[0-9a-f]{32}\.txt$/);
  });
});
