import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferOverflowError } from '../../../src/core/errors.ts';
import postback from '../../../src/plugins/input/postback.ts';
import { gmtSeconds, podHash } from '../../../src/shared/http-in/postback-meta.ts';
import { instantiate, testContext } from '../../../src/testing/context.ts';
import { send } from './http-helpers.ts';

async function start(extra = '', ctx = testContext({ type: 'postback' })) {
  const r = instantiate(
    postback,
    `<source>\n@type postback\nport 0\nbind 127.0.0.1\nnode_name minikube\npod_name post2log-7bcd9d6cdf-7jmsd\n${extra}\n</source>\n`,
    ctx,
  );
  await r.plugin.start();
  return { input: r.plugin, ctx: r.ctx, port: r.plugin.receiver.port };
}

describe('postback input (post2log)', () => {
  it('records query params and post2log metadata, answers {"status":"success"}', async () => {
    const s = await start();
    try {
      const before = Date.now();
      const a = await send(s.port, '/postback?p1=v1&p2=v2', {});
      const afterMs = Date.now();
      assert.equal(a.status, 200);
      assert.equal(a.text, '{"status":"success"}');
      assert.equal(a.headers['content-type'], 'application/json');
      const b = s.ctx.emitted[0]!;
      assert.equal(b.tag, 'post2log');
      const { time, record: r } = b.entries()[0]!;
      assert.deepEqual(Object.keys(r), [
        'p1',
        'p2',
        '_path',
        '_postTimestamp',
        '_postDatetimeGMT',
        '_nodeName',
        '_workerPodHash',
        '_workerProcId',
      ]);
      assert.equal(r.p1, 'v1');
      assert.equal(r.p2, 'v2');
      assert.equal(r._path, '/postback');
      const ts = r._postTimestamp as number;
      assert.ok(Number.isInteger(ts) && ts >= before && ts <= afterMs);
      assert.equal(r._postDatetimeGMT, gmtSeconds(ts));
      assert.match(r._postDatetimeGMT as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(r._nodeName, 'minikube');
      assert.equal(r._workerPodHash, '7bcd9d6cdf-7jmsd');
      assert.equal(r._workerProcId, String(process.pid));
      assert.equal(time.toMillis(), ts);
    } finally {
      await s.input.stop();
    }
  });

  it('merges a JSON or form body over the query; log_queryparam false drops the query', async () => {
    const s = await start();
    try {
      await send(s.port, '/postback?a=q&b=q', {
        headers: { 'Content-Type': 'application/json' },
        body: '{"b":"body","n":3}',
      });
      await send(s.port, '/postback', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'f=1&g=h+i',
      });
      const [r1, r2] = s.ctx.records();
      assert.equal(r1!.a, 'q');
      assert.equal(r1!.b, 'body');
      assert.equal(r1!.n, 3);
      assert.equal(r2!.f, '1');
      assert.equal(r2!.g, 'h i');
    } finally {
      await s.input.stop();
    }
    const q = await start('log_queryparam false');
    try {
      await send(q.port, '/postback?p1=v1', {});
      const [r] = q.ctx.records();
      assert.equal(r!.p1, undefined);
      assert.equal(r!._path, '/postback');
    } finally {
      await q.input.stop();
    }
  });

  it('404 {"detail":"Not Found"} elsewhere, 405 for GET on the endpoint, health on / and /healthz, 400 on bad JSON', async () => {
    const s = await start('endpoint /postback/airbridge');
    try {
      let a = await send(s.port, '/postback?p1=v1', {});
      assert.equal(a.status, 404);
      assert.equal(a.text, '{"detail":"Not Found"}');
      a = await send(s.port, '/postback/airbridge', { method: 'GET' });
      assert.equal(a.status, 405);
      a = await send(s.port, '/healthz', { method: 'GET' });
      assert.equal(a.status, 200);
      assert.equal(a.text, '"ok"');
      a = await send(s.port, '/postback/airbridge', {
        headers: { 'Content-Type': 'application/json' },
        body: '{oops',
      });
      assert.equal(a.status, 400);
      assert.match(JSON.parse(a.text).error, /^Invalid JSON data - \{oops/);
      a = await send(s.port, '/postback/airbridge', {
        headers: { 'Content-Type': 'application/json' },
        body: '[1]',
      });
      assert.equal(a.status, 400);
      a = await send(s.port, '/postback/airbridge?ok=1', {});
      assert.equal(a.status, 200);
      assert.equal(s.ctx.records().length, 1);
      assert.equal(s.ctx.records()[0]!._path, '/postback/airbridge');
    } finally {
      await s.input.stop();
    }
  });

  it('503 while the buffer refuses', async () => {
    const ctx = testContext({
      type: 'postback',
      onEmit: () => {
        throw new BufferOverflowError('buffer full');
      },
    });
    const s = await start('', ctx);
    try {
      const a = await send(s.port, '/postback?x=1', {});
      assert.equal(a.status, 503);
    } finally {
      await s.input.stop();
    }
  });

  it('pod hash derivation', () => {
    assert.equal(podHash('post2log-7bcd9d6cdf-7jmsd'), '7bcd9d6cdf-7jmsd');
    assert.equal(podHash('collector-5d8f7c9b6-x2k4p'), '5d8f7c9b6-x2k4p');
    assert.equal(podHash('collector-3'), '3');
    assert.equal(podHash('laptop'), 'laptop');
  });
});
