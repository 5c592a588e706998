import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, waitForPort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { send } from '../plugins/input/http-helpers.ts';
import { Sink } from '../plugins/output/http-helpers.ts';

const POD = 'post2log-7bcd9d6cdf-7jmsd';
const ROTBYTES = 600;
const ROTBACKUPS = 2;
// Enough postbacks that each worker rotates twice even when the cluster's round robin
// hands one worker more connections than the other (a loaded machine).
const N = 60;

describe('sluice postback (post2log from P2L_* variables)', () => {
  let dir: string;
  let port: number;
  let sink: Sink;
  let proc: SluiceProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-postback-'));
    sink = new Sink();
    const sinkPort = await sink.listen();
    port = await freePort();
    proc = spawnSluice(['postback'], {
      env: {
        P2L_PORT: String(port),
        P2L_ENDPOINT: '/postback',
        P2L_LOG_QUERYPARAM: 'true',
        P2L_WORKERS: '2',
        P2L_ROTBYTES: String(ROTBYTES),
        P2L_ROTBACKUPS: String(ROTBACKUPS),
        P2L_UVICORN_LOGLEVEL: 'info',
        P2L_LOGDIR: dir,
        POD_NAME: POD,
        NODE_NAME: 'node-a',
        P2L_FLUENTD_OUTCONF: `<match post2log>\n  @type http\n  endpoint http://127.0.0.1:${sinkPort}/forwarded\n  <buffer>\n    flush_mode immediate\n  </buffer>\n</match>`,
      },
    });
    await waitForPort(port, 30_000);
    // Both workers must be listening before the requests are spread over them.
    const both = /listening for postbacks[\s\S]*listening for postbacks/;
    await Promise.any([proc.waitFor('stdout', both, 30_000), proc.waitFor('stderr', both, 30_000)]);
  });
  after(async () => {
    await proc?.stop();
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers like post2log, forwards every postback and writes size-rotated files per worker', {
    timeout: 60_000,
  }, async () => {
    let a = await send(port, '/other?p1=v1', {});
    assert.equal(a.status, 404);
    assert.equal(a.text, '{"detail":"Not Found"}');
    for (let i = 0; i < N; i++) {
      // a new connection each time, so the cluster spreads them over both workers
      a = await send(port, `/postback?p1=v1&p2=v2&i=${i}`, { headers: { Connection: 'close' } });
      assert.equal(a.status, 200);
      assert.equal(a.text, '{"status":"success"}');
    }
    await sink.waitFor(N, 20_000);

    const forwarded = new Map<string, Record<string, unknown>>();
    for (const r of sink.requests) {
      for (const line of r.text.split('\n').filter(Boolean)) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        forwarded.set(rec.i as string, rec);
      }
    }
    assert.equal(forwarded.size, N);
    const procIds = new Set<string>();
    for (const [i, r] of forwarded) {
      assert.deepEqual(Object.keys(r), [
        'p1',
        'p2',
        'i',
        '_path',
        '_postTimestamp',
        '_postDatetimeGMT',
        '_nodeName',
        '_workerPodHash',
        '_workerProcId',
      ]);
      assert.equal(r.p1, 'v1');
      assert.equal(r.p2, 'v2');
      assert.equal(r.i, i);
      assert.equal(r._path, '/postback');
      assert.ok(Number.isInteger(r._postTimestamp));
      assert.equal(r._postDatetimeGMT, `${new Date(r._postTimestamp as number).toISOString().slice(0, 19)}Z`);
      assert.equal(r._nodeName, 'node-a');
      assert.equal(r._workerPodHash, '7bcd9d6cdf-7jmsd');
      assert.match(r._workerProcId as string, /^\d+$/);
      procIds.add(r._workerProcId as string);
    }
    assert.equal(procIds.size, 2, 'both workers served postbacks');

    // A graceful stop flushes every buffer, so the files are complete once it exits.
    assert.equal(await proc!.stop(), 0);
    // Files: <pod>_<worker>.txt plus at most P2L_ROTBACKUPS rotated ones, each under P2L_ROTBYTES.
    const files = (await readdir(dir)).filter((f) => f.endsWith('.txt') || /\.txt\.\d+$/.test(f)).sort();
    for (const w of [0, 1]) {
      const base = `${POD}_${w}.txt`;
      assert.ok(files.includes(base), `${base} exists (files: ${files.join(', ')})`);
      assert.ok(
        files.includes(`${base}.1`) && files.includes(`${base}.2`),
        `${base} was rotated (files: ${files.join(', ')}; postbacks per worker process: ${[...procIds].map((id) => [...forwarded.values()].filter((r) => r._workerProcId === id).length).join('/')})`,
      );
      assert.ok(!existsSync(join(dir, `${base}.${ROTBACKUPS + 1}`)), `only ${ROTBACKUPS} backups kept`);
    }
    let lines = 0;
    for (const f of files) {
      assert.ok((await stat(join(dir, f))).size <= ROTBYTES, `${f} is at most P2L_ROTBYTES`);
      for (const line of (await readFile(join(dir, f), 'utf8')).split('\n').filter(Boolean)) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        // The file line and the forwarded record are the same event, field by field.
        assert.deepEqual(rec, forwarded.get(rec.i as string));
        lines++;
      }
    }
    assert.ok(lines > 0 && lines < N, `rotation dropped the oldest lines (${lines} of ${N} kept)`);
  });
});
