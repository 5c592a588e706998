import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import httpInput from '../../../src/plugins/input/http/index.ts';
import { instantiate } from '../../../src/testing/context.ts';

// curl and many HTTP clients send `Expect: 100-continue` before a body: a body within
// the limit must be let through, one announced over the limit refused before it is sent.
function postWithContinue(port: number, body: string): Promise<{ status: number; continued: boolean }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/app.continue',
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Expect: '100-continue',
      },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      if (!continued) req.destroy();
    });
    req.on('error', (e) => (continued ? reject(e) : undefined));
    req.flushHeaders();
  });
}

test('Expect: 100-continue: a body within body_size_limit is accepted, an oversized one refused with 413', async () => {
  const { plugin, ctx } = instantiate(
    httpInput,
    '<source>\n@type http\nport 0\nbind 127.0.0.1\nbody_size_limit 100\n</source>\n',
  );
  await plugin.start();
  try {
    const ok = await postWithContinue(plugin.receiver.port, '{"a":1}');
    assert.equal(ok.continued, true);
    assert.equal(ok.status, 200);
    assert.deepEqual(ctx.records(), [{ a: 1 }]);
    const big = await postWithContinue(plugin.receiver.port, JSON.stringify({ a: 'x'.repeat(500) }));
    assert.equal(big.continued, false);
    assert.equal(big.status, 413);
    assert.equal(ctx.records().length, 1);
  } finally {
    await plugin.stop();
  }
});
