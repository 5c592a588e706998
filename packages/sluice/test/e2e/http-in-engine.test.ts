import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { freePort } from '../helpers/ports.ts';
import { send } from '../plugins/input/http-helpers.ts';
import { Sink } from '../plugins/output/http-helpers.ts';

const logger = pino({ level: 'silent' });

describe('in_http through the engine', () => {
  it('text/plain with <parse> @type regexp, routed to out_http', async () => {
    const sink = new Sink();
    const sinkPort = await sink.listen();
    const port = await freePort();
    const engine = await Engine.fromText(
      `<source>
  @type http
  port ${port}
  bind 127.0.0.1
  <parse>
    @type regexp
    expression /^(?<user>\\w+) (?<action>\\w+)$/
  </parse>
</source>
<match audit.**>
  @type http
  endpoint http://127.0.0.1:${sinkPort}/audit/\${tag[1]}
  <buffer tag>
    flush_mode immediate
  </buffer>
</match>
`,
      { logger },
    );
    await engine.start();
    try {
      let a = await send(port, '/audit/login', {
        headers: { 'Content-Type': 'text/plain' },
        body: 'ann signin',
      });
      assert.equal(a.status, 200);
      a = await send(port, '/audit/login', {
        headers: { 'Content-Type': 'text/plain' },
        body: 'not matching at all',
      });
      assert.equal(a.status, 400);
      await sink.waitFor(1);
      assert.equal(sink.requests[0]!.url, '/audit/login');
      assert.deepEqual(JSON.parse(sink.requests[0]!.text), { user: 'ann', action: 'signin' });
    } finally {
      await engine.stop();
      await sink.close();
    }
  });

  it('503 while the output buffer is full (overflow_action throw_exception); bad input still gets 400', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const engine = await Engine.fromText(
      `<source>
  @type http
  port ${port}
  bind 127.0.0.1
</source>
<match **>
  @type http
  endpoint http://127.0.0.1:${deadPort}/down
  <buffer>
    @type memory
    chunk_limit_size 1k
    total_limit_size 2k
    overflow_action throw_exception
    flush_mode interval
    flush_interval 1h
  </buffer>
</match>
`,
      { logger },
    );
    await engine.start();
    try {
      const body = JSON.stringify({ pad: 'x'.repeat(300) });
      const statuses: number[] = [];
      for (let i = 0; i < 20 && !statuses.includes(503); i++) {
        statuses.push(
          (await send(port, '/t', { headers: { 'Content-Type': 'application/json' }, body })).status,
        );
      }
      assert.equal(statuses.at(-1), 503, `statuses: ${statuses.join(',')}`);
      assert.ok(statuses.slice(0, -1).every((s) => s === 200) && statuses.length > 1);
      // bad input still gets its 400, not a 503
      const bad = await send(port, '/t', { headers: { 'Content-Type': 'application/json' }, body: '{' });
      assert.equal(bad.status, 400);
    } finally {
      await engine.stop();
    }
  });
});
