// Acceptance (issue 23, S3): a chunk of a file buffer uploaded again after kill -9 of a real
// sluice process gets the same key, so the replay overwrites its object instead of adding one.
// A proxy in front of moto passes the first PutObject on to moto (the object is stored) and holds
// its answer, as when an answer is lost: Sluice is killed while it waits, started again on the
// same buffer, and uploads the chunk again.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { type SluiceProcess, spawnSluice } from '../../../helpers/sluice-process.ts';
import { type MotoServer, startMoto } from '../../../stores/moto.ts';
import { client, getObject, keys } from './helpers.ts';

/** Passes requests on to moto; with `hold`, a PutObject's answer is kept from the client once moto stored it. */
class HoldingProxy {
  hold = true;
  /** object keys of the PutObject requests moto answered, in order */
  readonly puts: string[] = [];
  private readonly held: ServerResponse[] = [];
  private readonly server: Server;
  private waiters: (() => void)[] = [];

  constructor(upstream: string) {
    const target = new URL(upstream);
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const up = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (upRes) => {
            const body: Buffer[] = [];
            upRes.on('data', (d: Buffer) => body.push(d));
            upRes.on('end', () => {
              const path = new URL(req.url ?? '/', 'http://x').pathname;
              const isPut = req.method === 'PUT' && path.split('/').filter(Boolean).length > 1;
              if (isPut && upRes.statusCode === 200) {
                this.puts.push(decodeURIComponent(path.split('/').slice(2).join('/')));
                for (const w of this.waiters.splice(0)) w();
                if (this.hold) {
                  this.held.push(res);
                  return;
                }
              }
              res.writeHead(upRes.statusCode ?? 502, upRes.headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(parts));
      });
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once `n` PutObjects were stored. */
  async stored(n: number, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.puts.length < n) {
      if (Date.now() > deadline) throw new Error(`${this.puts.length} of ${n} PutObjects seen`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async close(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.server.closeAllConnections();
    this.server.close();
  }
}

describe('out_s3: file buffer chunk replayed after kill -9 (e2e)', () => {
  let moto: MotoServer;
  let s3c: S3Client;
  let proxy: HoldingProxy;
  let at: string;
  before(async () => {
    moto = await startMoto();
    s3c = client(moto);
    proxy = new HoldingProxy(moto.endpoint);
    at = await proxy.listen();
  });
  after(async () => {
    await proxy?.close();
    s3c?.destroy();
    await moto?.stop();
  });

  it('the answer to the PutObject is lost, sluice is killed, started again: the chunk goes up again under the same key, one object', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-s3-crash-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bucket = `sluice-crash-${process.pid}`;
    await s3c.send(new CreateBucketCommand({ Bucket: bucket }));
    const log = join(dir, 'app.log');
    writeFileSync(log, Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
    const conf = join(dir, 'sluice.conf');
    writeFileSync(
      conf,
      `<source>
  @type tail
  path ${log}
  pos_file ${join(dir, 'tail.pos')}
  tag app
  read_from_head true
  <parse>
    @type none
  </parse>
</source>
<match app>
  @type s3
  s3_bucket ${bucket}
  s3_region ${moto.region}
  s3_endpoint ${at}
  force_path_style true
  aws_key_id ${moto.credentials.accessKeyId}
  aws_sec_key ${moto.credentials.secretAccessKey}
  path logs/\${tag}/
  store_as text
  request_timeout 120s
  <format>
    @type json
  </format>
  <buffer tag, time>
    @type file
    path ${join(dir, 'buffer')}
    timekey 1d
    timekey_wait 0s
    flush_mode interval
    flush_interval 0.5s
    retry_wait 0.2s
    retry_forever true
  </buffer>
</match>
`,
    );
    let proc: SluiceProcess | undefined = spawnSluice(['-c', conf]);
    t.after(() => proc?.stop(5_000));
    await proxy.stored(1);
    // the object is in the bucket; the answer never reached Sluice: the chunk is still queued
    assert.equal((await keys(s3c, bucket)).length, 1);
    const chunkFiles = (await readdir(join(dir, 'buffer'))).filter((f) => /\.q[0-9a-f]+\.log$/.test(f));
    assert.equal(chunkFiles.length, 1, `queued chunk on disk: ${chunkFiles}`);
    const id = /\.q([0-9a-f]+)\.log$/.exec(chunkFiles[0]!)![1]!;
    proc.proc.kill('SIGKILL');
    await proc.exited;
    proxy.hold = false;
    proc = spawnSluice(['-c', conf]);
    await proxy.stored(2);
    // delivered this time: the chunk file goes
    const deadline = Date.now() + 30_000;
    while ((await readdir(join(dir, 'buffer'))).some((f) => f.endsWith('.log'))) {
      assert.ok(Date.now() < deadline, 'the replayed chunk was not deleted');
      await new Promise((r) => setTimeout(r, 100));
    }
    await proc.stop(10_000);
    proc = undefined;
    assert.equal(proxy.puts[0], proxy.puts[1], 'the same key both times');
    assert.match(proxy.puts[0]!, new RegExp(`^logs/app/\\d{8}_${id}\\.txt$`));
    const all = await keys(s3c, bucket);
    assert.deepEqual(all, [proxy.puts[0]], 'one object');
    const lines = (await getObject(s3c, bucket, all[0]!)).body.toString().trim().split('\n');
    assert.equal(lines.length, 50);
    assert.deepEqual(JSON.parse(lines[49]!), { message: 'line 49' });
  });
});
