// Seed 004 end to end (issue 25): the article's Python app (its Firehose logging handler and
// dictConfig, python-json-logger's JsonFormatter) with real boto3, pointed at a real sluice
// process by AWS_ENDPOINT_URL_FIREHOSE only; Sluice runs the shipped example
// (examples/compose/firehose: firehose -> copy -> opensearch daily index + s3 gzip, file
// buffers) against real OpenSearch 2.19 and moto's S3. Every line the app logged is in the
// index once and in the bucket once; and in a second run, with Sluice killed (SIGKILL)
// halfway and started again on its buffers, every line the handler got a success answer
// for arrives in both.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { readRepo } from '../deploy/helpers.ts';
import { freePort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { waitUntil } from '../helpers/wait.ts';
import { allHits } from '../plugins/output/elasticsearch/helpers.ts';
import { getObject, keys, client as s3Client } from '../plugins/output/s3/helpers.ts';
import { type MotoServer, startMoto, venvPython } from '../stores/moto.ts';
import { type OpenSearchServer, startOpenSearch } from '../stores/opensearch.ts';

const APP_DIR = fileURLToPath(new URL('../fixtures/seeds/004-firehose/', import.meta.url));
const EXAMPLE = 'examples/compose/firehose/fluentd/fluent.conf';

/** The example's config with this machine's addresses, ports and folders in place of the compose ones. */
function exampleConfig(o: { port: number; os: string; moto: MotoServer; dir: string; name: string }): string {
  const text = readRepo(EXAMPLE);
  const out = text
    .replace(
      '  delivery_streams logging-test',
      `  port ${o.port}\n  bind 127.0.0.1\n  delivery_streams logging-test`,
    )
    .replace('hosts http://opensearch:9200', `hosts ${o.os}`)
    .replace('logstash_prefix logging-test', `logstash_prefix ${o.name}`)
    .replace('s3_bucket logging-test-backup', `s3_bucket ${o.name}`)
    .replace('s3_endpoint http://s3:5000', `s3_endpoint ${o.moto.endpoint}`)
    .replace('aws_key_id testing', `aws_key_id ${o.moto.credentials.accessKeyId}`)
    .replace('aws_sec_key testing', `aws_sec_key ${o.moto.credentials.secretAccessKey}`)
    .replaceAll('/fluentd/buffer/', `${o.dir}/buffer/`);
  for (const want of [
    String(o.port),
    o.os,
    o.moto.endpoint,
    `${o.dir}/buffer/opensearch`,
    `${o.dir}/buffer/s3`,
  ])
    assert.ok(out.includes(want), `${EXAMPLE} changed: ${want} not placed`);
  return out;
}

interface AppRun {
  /** seqs of the lines put_record_batch returned for (the handler cleared its buffer) */
  acked: number[];
  failedPuts: number;
  /** flushes the handler reported failed (it keeps the records and sends them with the next line) */
  flushErrors: number;
  /** the JSON lines the app logged, from its console handler */
  logged: Record<string, unknown>[];
  code: number | null;
  stderr: string;
}

/** The seed's app with real boto3; `onAck` sees the acknowledged count as it grows. */
function runApp(
  endpoint: string,
  run: string,
  count: number,
  paceMs: number,
  onAck?: (acked: number) => void,
): Promise<AppRun> {
  const py = spawn(venvPython(), [join(APP_DIR, 'app.py'), run, String(count), String(paceMs)], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      AWS_ENDPOINT_URL_FIREHOSE: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_DEFAULT_REGION: 'us-east-1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r: AppRun = { acked: [], failedPuts: 0, flushErrors: 0, logged: [], code: null, stderr: '' };
  let out = '';
  py.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line.startsWith('ACK ')) {
        r.acked.push(...line.slice(4).split(' ').map(Number));
        onAck?.(r.acked.length);
      } else if (line.startsWith('FAILED_PUT ')) r.failedPuts += Number(line.slice(11));
      else if (line === 'An error occurred during flush operation.') r.flushErrors++;
      nl = out.indexOf('\n');
    }
  });
  py.stderr.setEncoding('utf8').on('data', (d: string) => (r.stderr += d));
  const timer = setTimeout(() => py.kill('SIGKILL'), 240_000);
  return new Promise((resolve) =>
    py.once('close', (code) => {
      clearTimeout(timer);
      r.code = code;
      for (const l of r.stderr.split('\n'))
        if (l.startsWith('{')) r.logged.push(JSON.parse(l) as Record<string, unknown>);
      resolve(r);
    }),
  );
}

/** seq of a stored line: test()'s ERROR line (the article's) has none and is 0. */
const seqOf = (doc: Record<string, unknown>) =>
  doc.message === 'fake NameError' && doc.seq === undefined ? 0 : Number(doc.seq);

async function bucketLines(s3: S3Client, bucket: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const k of await keys(s3, bucket, 'logging-test/')) {
    const { body } = await getObject(s3, bucket, k);
    for (const l of gunzipSync(body).toString('utf8').split('\n'))
      if (l !== '') out.push(JSON.parse(l) as Record<string, unknown>);
  }
  return out;
}

const counts = (seqs: number[]) => {
  const m = new Map<number, number>();
  for (const s of seqs) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
};

describe('seed 004: Python logging handler -> boto3 -> Sluice firehose -> OpenSearch + S3 (e2e)', () => {
  let os: OpenSearchServer;
  let moto: MotoServer;
  let s3: S3Client;
  let dir: string;
  before(async () => {
    [os, moto] = await Promise.all([startOpenSearch(), startMoto()]);
    s3 = s3Client(moto);
    dir = await mkdtemp(join(tmpdir(), 'sluice-seed004-'));
  });
  after(async () => {
    await Promise.all([os?.stop(), moto?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function start(name: string): Promise<{ conf: string; port: number; proc: SluiceProcess }> {
    const port = await freePort();
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, exampleConfig({ port, os: os.url, moto, dir: join(dir, name), name }));
    const proc = spawnSluice(['-c', conf]);
    try {
      await proc.waitFor('stderr', /listening for the firehose API/, 60_000);
    } catch (e) {
      await proc.stop(5_000);
      throw e;
    }
    return { conf, port, proc };
  }

  it('every line the app logged is in the daily index once and in the bucket once', {
    timeout: 300_000,
  }, async (t) => {
    const name = `seed004-a-${process.pid}`;
    const { port, proc } = await start(name);
    t.after(() => proc.stop(10_000));
    const N = 300;
    const app = await runApp(`http://127.0.0.1:${port}`, 'a', N, 0);
    assert.equal(app.code, 0, app.stderr.slice(-2000));
    assert.equal(app.logged.length, N, 'the console handler printed every line');
    assert.deepEqual(
      app.acked,
      [...Array(N).keys()],
      'each log call was answered 200 (the handler never had to keep a record)',
    );
    assert.equal(app.failedPuts, 0);

    const index = `${name}-*`;
    // the stores are polled every half second, for at most 2 or 3 minutes
    await waitUntil(
      async () => (await allHits(os.url, index).catch(() => [])).length >= N,
      `${N} documents in ${index}`,
      120_000,
      500,
    );
    await waitUntil(
      async () => (await bucketLines(s3, name)).length >= N,
      `${N} lines in s3://${name}`,
      120_000,
      500,
    );
    const hits = await allHits(os.url, index);
    const lines = await bucketLines(s3, name);
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '.');
    assert.ok(
      hits.every((h) => (h as { _index?: string })._index?.startsWith(`${name}-`)),
      'logstash_format daily index',
    );
    t.diagnostic(
      `index ${(hits[0] as { _index?: string })._index}, today ${day}; ${lines.length} lines in the bucket`,
    );
    for (const [where, docs] of [
      ['index', hits.map((h) => h._source as Record<string, unknown>)],
      ['bucket', lines],
    ] as const) {
      const c = counts(docs.map(seqOf));
      assert.equal(docs.length, N, `${where}: ${docs.length} documents for ${N} lines`);
      assert.deepEqual(
        [...c.keys()].sort((a, b) => a - b),
        [...Array(N).keys()],
        `${where}: every line`,
      );
      assert.ok(
        [...c.values()].every((n) => n === 1),
        `${where}: each line once`,
      );
    }
    // What the app wrote is what is stored, field for field; the index adds @timestamp.
    const bySeq = new Map(hits.map((h) => [seqOf(h._source as Record<string, unknown>), h._source]));
    for (const l of app.logged) {
      const doc = bySeq.get(seqOf(l)) as Record<string, unknown>;
      const { '@timestamp': ts, ...rest } = doc;
      assert.deepEqual(rest, l);
      assert.match(String(ts), /^\d{4}-\d{2}-\d{2}T/);
    }
    const err = bySeq.get(0) as Record<string, unknown>;
    assert.equal(err.levelname, 'ERROR');
    assert.match(String(err.exc_info), /NameError: fake NameError/);
    assert.deepEqual(
      lines.find((l) => seqOf(l) === 0),
      app.logged.find((l) => seqOf(l) === 0),
    );
  });

  it('Sluice killed with SIGKILL halfway: every line that got a success answer arrives in both', {
    timeout: 400_000,
  }, async (t) => {
    const name = `seed004-b-${process.pid}`;
    let s = await start(name);
    t.after(() => s.proc.stop(10_000));
    const N = 400;
    let killed: Promise<void> | undefined;
    const appRun = runApp(`http://127.0.0.1:${s.port}`, 'b', N, 10, (acked) => {
      if (acked < N / 2 || killed) return;
      // Halfway: kill -9, then the same config again on the same buffers and port.
      s.proc.proc.kill('SIGKILL');
      killed = (async () => {
        await s.proc.exited;
        const proc = spawnSluice(['-c', s.conf]);
        s = { ...s, proc };
        await proc.waitFor('stderr', /listening for the firehose API/, 60_000);
      })();
    });
    const app = await appRun;
    assert.ok(killed, 'sluice was killed while the app was logging');
    await killed;
    assert.equal(app.code, 0, app.stderr.slice(-2000));
    assert.equal(app.failedPuts, 0);
    assert.ok(app.flushErrors > 0, 'the handler saw Sluice gone while it was logging');
    const acked = [...new Set(app.acked)];
    assert.ok(acked.length >= N / 2, `${acked.length} lines acknowledged`);
    const index = `${name}-*`;
    const missing = async (docs: () => Promise<Record<string, unknown>[]>) => {
      const have = new Set((await docs()).map(seqOf));
      return acked.filter((q) => !have.has(q));
    };
    const fromIndex = async () =>
      (await allHits(os.url, index).catch(() => [])).map((h) => h._source as Record<string, unknown>);
    const fromBucket = () => bucketLines(s3, name);
    await waitUntil(
      async () => (await missing(fromIndex)).length === 0,
      'every acknowledged line in the index',
      180_000,
      500,
    );
    await waitUntil(
      async () => (await missing(fromBucket)).length === 0,
      'every acknowledged line in the bucket',
      180_000,
      500,
    );
    const idx = await fromIndex();
    const bkt = await fromBucket();
    const dup = (docs: Record<string, unknown>[]) =>
      [...counts(docs.map(seqOf)).values()].filter((n) => n > 1).length;
    t.diagnostic(
      `${N} lines logged, ${app.flushErrors} flushes failed while Sluice was down (the handler kept those lines and sent them again), ${acked.length} acknowledged; index: ${idx.length} documents, ${dup(idx)} lines twice; bucket: ${bkt.length} lines, ${dup(bkt)} twice`,
    );
    assert.deepEqual(await missing(fromIndex), []);
    assert.deepEqual(await missing(fromBucket), []);
  });
});
