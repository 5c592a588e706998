// The compose examples' own files, run for real on this machine (no Docker): the demo API
// and receiver scripts, and the two Sluice configs with only their container paths, hosts
// and ports rewritten to a temp dir and 127.0.0.1.
//   tail-to-files: api/app.mjs writes log/app.log -> in_tail -> out_file app.*.log
//   http-bus:      forward -> out_http + file buffer -> http/server.mjs, through an outage
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EventTime, packr } from '@sluice/forward';
import { freePort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { waitUntil } from '../helpers/wait.ts';
import { readRepo, repoPath } from './helpers.ts';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

/** A node script of the examples, with a waiter on its stdout. */
function runScript(file: string, env: Record<string, string>, cwd?: string) {
  const proc: ChildProcess = spawn(process.execPath, [file], {
    env: { ...process.env, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const listeners: (() => void)[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const l of listeners) l();
  });
  const exited = new Promise((r) => proc.on('exit', r));
  cleanup.push(async () => {
    proc.kill('SIGKILL');
    await exited;
  });
  return {
    proc,
    exited,
    output: () => out,
    waitFor(re: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${re}; got:\n${out.slice(-1000)}`)),
          ms,
        );
        const check = () => {
          const m = out.match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        };
        listeners.push(check);
        check();
      });
    },
  };
}

async function sluice(confText: string, dir: string): Promise<SluiceProcess> {
  const conf = join(dir, 'fluent.conf');
  await writeFile(conf, confText);
  const p = spawnSluice(['-c', conf]);
  cleanup.push(() => p.stop());
  await p.waitFor('stderr', /sluice started/, 30_000);
  return p;
}

describe('compose examples, run without Docker', () => {
  it('tail-to-files: the API logs each call, Sluice tails it into the aggregated file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ex-tail-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const [apiLog, outDir] = [join(dir, 'api/log'), join(dir, 'fluentd/log')];
    await mkdir(apiLog, { recursive: true });
    await mkdir(outDir, { recursive: true });
    const conf = readRepo('examples/compose/tail-to-files/fluentd/fluent.conf')
      .replaceAll('/var/log/', `${apiLog}/`)
      .replaceAll('/fluentd/log/', `${outDir}/`)
      .replace('port 24224', `port ${await freePort()}`)
      .replace('bind 0.0.0.0', 'bind 127.0.0.1');
    const collector = await sluice(conf, dir);

    const api = runScript(repoPath('examples/compose/tail-to-files/api/app.mjs'), {
      PORT: '0',
      LOG_DIR: apiLog,
    });
    const port = Number((await api.waitFor(/listening on (\d+)/))[1]);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.deepEqual(await health.json(), { health: 'ok' });
    const added = await fetch(`http://127.0.0.1:${port}/add_users/`, {
      method: 'POST',
      body: JSON.stringify({ id: 4, name: 'user4', age: '100' }),
    });
    assert.equal(added.status, 200);
    assert.equal(
      (await fetch(`http://127.0.0.1:${port}/add_users/`, { method: 'POST', body: '{oops' })).status,
      400,
      'bad JSON is a 400',
    );

    const logText = await readFile(join(apiLog, 'app.log'), 'utf8');
    assert.match(
      logText,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO _health START args=\(\) kwds=\{\}$/m,
      "seed 000's log line format",
    );
    const expected = logText.trim().split('\n').length;
    assert.ok(expected >= 5);

    // out_file keeps a day's chunk open (timekey 1d, as Fluentd): SIGUSR1 flushes it now.
    const lines = await waitUntil(
      async () => {
        collector.proc.kill('SIGUSR1');
        // Not the buffer's chunk files beside them (app.b<id>.log, out_file's default buffer at its path, as in Fluentd).
        const files = (await readdir(outDir)).filter(
          (f) => /^app\..+\.log$/.test(f) && !/^app\.[bq][0-9a-f]{32}\.log$/.test(f),
        );
        if (files.length === 0) return undefined;
        const text = (await Promise.all(files.map((f) => readFile(join(outDir, f), 'utf8')))).join('');
        const got = text.trim().split('\n');
        return got.length >= expected ? got : undefined;
      },
      'the aggregated file has every line',
      20_000,
    );
    assert.equal(lines.length, expected, 'each line once');
    const [time, tag, record] = lines.find((l) => l.includes('_health START'))!.split('\t');
    assert.match(time!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.equal(tag, 'app.log');
    assert.match(JSON.parse(record!).message, /INFO _health START/);
    assert.ok((await readdir(outDir)).includes('app.log.pos'), 'the position file is where the config says');
  });

  it('http-bus: one event per POST to /api/<tag[1]>/, kept through a receiver outage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ex-bus-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const receiverScript = repoPath('examples/compose/http-bus/http/server.mjs');
    const down = runScript(receiverScript, { PORT: '0', FAIL: '1' });
    const httpPort = Number((await down.waitFor(/listening on (\d+)/))[1]);
    const fwdPort = await freePort();
    const conf = readRepo('examples/compose/http-bus/fluentd/fluent.conf')
      .replaceAll('http://http:8000/', `http://127.0.0.1:${httpPort}/`)
      .replace('path /fluentd/buffer/api', `path ${join(dir, 'buffer')}`)
      .replace('port 24224', `port ${fwdPort}`)
      .replace('bind 0.0.0.0', 'bind 127.0.0.1');
    assert.notEqual(conf, readRepo('examples/compose/http-bus/fluentd/fluent.conf'));
    const collector = await sluice(conf, dir);

    // Forward protocol, Message mode: [tag, time, record].
    const sock = connect(fwdPort, '127.0.0.1');
    cleanup.push(async () => sock.destroy());
    await new Promise((r) => sock.once('connect', r));
    sock.write(packr.pack(['api.orders', EventTime.now(), { order_id: 42, amount: '9.90' }]));

    await down.waitFor(/"path":"\/api\/orders\/","status":503/).catch((e: Error) => {
      throw new Error(`${e.message}\nsluice stderr:\n${collector.stderr().slice(-3000)}`);
    });
    down.proc.kill('SIGTERM');
    await down.exited;
    const up = runScript(receiverScript, { PORT: String(httpPort) });
    const got = await up.waitFor(
      /\{"method":"POST","path":"\/api\/orders\/","status":200,"body":"(.*)"\}\n/,
      30_000,
    );
    const body = JSON.parse(JSON.parse(`"${got[1]}"`));
    assert.deepEqual(body, { order_id: 42, amount: '9.90' });
  });
});
