import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { Sink } from '../plugins/output/http-helpers.ts';
import { AckingClient } from './forward-client.ts';

// Seed 003: Fluentd as an asynchronous HTTP bus. The config is the article's, with the
// retry interval capped at 1s so the test does not wait minutes for a backoff.
const config = (fwdPort: number, httpPort: number, dir: string) => `
<source>
  @type forward
  port ${fwdPort}
  bind 127.0.0.1
</source>
<match api.*>
  @type http
  endpoint "http://127.0.0.1:${httpPort}/api/\${tag[1]}/"
  open_timeout 2
  http_method post
  content_type application/json
  <buffer tag>
    @type file
    path ${dir}/api.buffer
    retry_forever true
    flush_mode immediate
    chunk_limit_records 1
    total_limit_size 10GB
    flush_thread_count 10
    retry_type exponential_backoff
    retry_wait 0.2s
    retry_max_interval 1s
    retry_randomize true
    compress text
  </buffer>
</match>
`;

describe('seed 003: forward -> out_http with a file buffer, guaranteed delivery', () => {
  let dir: string;
  let conf: string;
  let fwdPort: number;
  let httpPort: number;
  let proc: SluiceProcess | undefined;
  let sink: Sink | undefined;
  let client: AckingClient | undefined;
  const delivered: { url: string; text: string }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-seed003-'));
    fwdPort = await freePort();
    httpPort = await freePort();
    conf = join(dir, 'fluent.conf');
    await writeFile(conf, config(fwdPort, httpPort, dir));
  });
  after(async () => {
    client?.close();
    await proc?.stop();
    await sink?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const startSluice = async () => {
    proc = spawnSluice(['-c', conf, '--log-level', 'info']);
    client = new AckingClient(fwdPort);
    await client.connect(); // retries until sluice listens
  };
  const startSink = async () => {
    sink = new Sink();
    await sink.listen(httpPort);
  };
  const stopSink = async () => {
    // closed first, so a request answered while closing is still counted
    await sink!.close();
    delivered.push(...sink!.requests.map((r) => ({ url: r.url, text: r.text })));
    sink = undefined;
  };
  /** Waits until every event of a phase was delivered; on timeout names the missing ones. */
  const arrived = (prefix: string, n: number, ms: number) => {
    const seen = () =>
      new Set([...delivered, ...sink!.requests].map((r) => (JSON.parse(r.text) as { id: string }).id));
    const missing = () =>
      Array.from({ length: n }, (_, i) => `${prefix}${i}`).filter((id) => !seen().has(id));
    return sink!.waitUntil(
      () => missing().length === 0,
      ms,
      () => `not delivered: ${missing().join(', ')}; sluice stderr:\n${proc!.stderr().slice(-3000)}`,
    );
  };
  const send = async (prefix: string, n: number) => {
    for (let i = 0; i < n; i++)
      await client!.send(i % 2 ? 'api.users' : 'api.orders', [{ id: `${prefix}${i}`, n: i }], 10_000);
  };

  it('delivers each event in its own request to its ${tag[1]} path, through an outage and a SIGKILL', {
    timeout: 120_000,
  }, async () => {
    await startSink();
    await startSluice();

    await send('a', 6);
    await arrived('a', 6, 15_000);

    // The service goes away; events keep coming and are acknowledged (the buffer has them).
    await stopSink();
    await send('b', 10);
    await startSink();
    await arrived('b', 10, 30_000);

    // Outage again, and Sluice is killed while events wait in the file buffer.
    await stopSink();
    await send('c', 10);
    client!.close();
    proc!.proc.kill('SIGKILL');
    await proc!.exited;
    await startSluice();
    await startSink();
    await arrived('c', 10, 30_000);
    await stopSink();

    const ids = new Map<string, number>();
    for (const r of delivered) {
      // chunk_limit_records 1: one JSON object per request
      const lines = r.text.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `one event per request, got ${JSON.stringify(r.text)}`);
      const rec = JSON.parse(lines[0]!) as { id: string; n: number };
      assert.equal(r.url, rec.n % 2 ? '/api/users/' : '/api/orders/');
      ids.set(rec.id, (ids.get(rec.id) ?? 0) + 1);
    }
    for (const [prefix, n] of [
      ['a', 6],
      ['b', 10],
      ['c', 10],
    ] as const) {
      for (let i = 0; i < n; i++) assert.ok(ids.has(`${prefix}${i}`), `event ${prefix}${i} was delivered`);
    }
    // At-least-once: a chunk in flight when Sluice was killed may arrive twice, nothing else.
    const dupes = [...ids.values()].filter((c) => c > 1).length;
    assert.ok(dupes <= 10, `${dupes} duplicated events`);
  });
});
