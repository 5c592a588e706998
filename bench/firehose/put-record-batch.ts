// PutRecordBatch load -> the firehose input -> null, against the sluice CLI (a child
// process, as users run it). Each call is what boto3 / the AWS SDK send for 500 records of
// about 1 KB (JSON log lines): an AWS JSON 1.1 body with base64 data, SigV4-signed. Several
// clients on keep-alive connections, each with one call in flight. Prints records/s, MB/s
// of record data, call latency (p50, p99), CPU and peak RSS of the sluice process; figures
// only, never pass/fail.
//
//   node --import tsx bench/firehose/put-record-batch.ts [seconds, default 10] [clients, default 4]
//
// Two cases: without <security> (no signature check) and with it (each body's SHA-256 and
// the HMAC chain checked). The request body is built and signed once per case and sent
// again and again (a signature stays valid for the 5 minutes of allowed clock skew), so the
// client side costs only the socket writes and the machine's CPU goes to Sluice.
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../packages/sluice/test/helpers/ports.ts';
import { fmt, tree, usage } from '../lib/store-bench.ts';

const seconds = Number(process.argv[2] ?? 10);
const clients = Number(process.argv[3] ?? 4);
const BIN = fileURLToPath(new URL('../../packages/sluice/bin/sluice.js', import.meta.url));
const KEY = { id: 'AKIDBENCH', secret: 'bench-secret' };
const RECORDS = 500;

/** One ~1 KB JSON log line, as python-json-logger writes them. */
function line(i: number): string {
  const base = {
    asctime: '2026-12-06T23:00:00+0000',
    name: 'app.requests',
    levelname: 'INFO',
    message: 'request handled',
    seq: i,
    path: `/api/items/${i}`,
    status: 200,
    duration_ms: 12.5,
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
  };
  const pad = 1024 - JSON.stringify({ ...base, detail: '' }).length;
  return JSON.stringify({ ...base, detail: 'x'.repeat(pad) });
}

const body = Buffer.from(
  JSON.stringify({
    DeliveryStreamName: 'bench',
    Records: Array.from({ length: RECORDS }, (_, i) => ({ Data: Buffer.from(line(i)).toString('base64') })),
  }),
);
const dataBytes = Array.from({ length: RECORDS }, (_, i) => line(i).length).reduce((a, b) => a + b, 0);

function signedHeaders(port: number): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const h: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    host: `127.0.0.1:${port}`,
    'x-amz-date': amzDate,
    'x-amz-target': 'Firehose_20150804.PutRecordBatch',
  };
  const names = Object.keys(h).sort();
  const canonical = [
    'POST',
    '/',
    '',
    names.map((n) => `${n}:${h[n]}\n`).join(''),
    names.join(';'),
    createHash('sha256').update(body).digest('hex'),
  ].join('\n');
  const scope = `${day}/us-east-1/firehose/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join(
    '\n',
  );
  const hm = (k: Buffer | string, d: string) => createHmac('sha256', k).update(d).digest();
  const key = hm(hm(hm(hm(`AWS4${KEY.secret}`, day), 'us-east-1'), 'firehose'), 'aws4_request');
  const sig = createHmac('sha256', key).update(sts).digest('hex');
  return {
    ...h,
    authorization: `AWS4-HMAC-SHA256 Credential=${KEY.id}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`,
    'content-length': String(body.length),
  };
}

async function run(security: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-firehose-'));
  const port = await freePort();
  const conf = join(dir, 'sluice.conf');
  writeFileSync(
    conf,
    `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams bench
${security ? `  <security>\n    <access_key>\n      access_key_id ${KEY.id}\n      secret_access_key ${KEY.secret}\n    </access_key>\n  </security>\n` : ''}</source>
<match **>
  @type null
</match>
`,
  );
  // BENCH_NODE_ARGS: flags for the sluice process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = spawn(process.execPath, [...nodeArgs, BIN, '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('listening for the firehose API')) resolve();
      if (out.length > 1e6) out = out.slice(-1e5);
    });
    proc.once('exit', (c) => reject(new Error(`sluice exited ${c}`)));
  });
  const idle = usage(tree(proc.pid!));
  const headers = signedHeaders(port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let calls = 0;
  let failed = 0;
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/', headers, agent },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            const text = Buffer.concat(parts).toString();
            if (res.statusCode !== 200 || !text.startsWith('{"FailedPutCount":0')) {
              failed++;
              if (failed === 1) console.error(`unexpected answer ${res.statusCode}: ${text.slice(0, 300)}`);
            }
            calls++;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  // Warm-up: JIT and the first buffers, not counted.
  for (let i = 0; i < 20; i++) await call();
  latencies.length = 0;
  calls = 0;
  const before = usage(tree(proc.pid!));
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) await call();
    }),
  );
  const elapsed = (Date.now() - t0) / 1000;
  const after = usage(tree(proc.pid!));
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  console.log(
    `firehose -> null, ${security ? 'SigV4 verified' : 'no <security>'}, ${clients} clients, ${RECORDS} x ~1 KB records per call (${(body.length / 1e6).toFixed(2)} MB body): ` +
      `${fmt((calls * RECORDS) / elapsed)} records/s, ${((calls * dataBytes) / elapsed / 1e6).toFixed(1)} MB/s of record data, ` +
      `${(calls / elapsed).toFixed(1)} calls/s, latency p50 ${pct(0.5).toFixed(1)} ms p99 ${pct(0.99).toFixed(1)} ms, ` +
      `CPU ${((after.cpuSec - before.cpuSec) / elapsed).toFixed(2)} cores, peak RSS ${after.hwmMb.toFixed(0)} MiB (${idle.hwmMb.toFixed(0)} MiB once started), ${failed} failed calls`,
  );
}

await run(false);
await run(true);
