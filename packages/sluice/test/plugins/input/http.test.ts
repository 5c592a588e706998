import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { EventTime, encode } from '@sluice/forward';
import type { EventBatch } from '../../../src/core/batch.ts';
import { BufferOverflowError } from '../../../src/core/errors.ts';
import type { ParserPlugin } from '../../../src/core/plugin.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import httpInput, { type HttpInput } from '../../../src/plugins/input/http/index.ts';
import { instantiate, type TestContext, testContext } from '../../../src/testing/context.ts';
import { selfSignedCert } from '../../helpers/tls.ts';
import { json, send } from './http-helpers.ts';

async function startInput(
  body: string,
  ctx?: TestContext,
): Promise<{ input: HttpInput; ctx: TestContext; port: number }> {
  const r = instantiate(httpInput, `<source>\n@type http\nport 0\nbind 127.0.0.1\n${body}\n</source>\n`, ctx);
  await r.plugin.start();
  return { input: r.plugin, ctx: r.ctx, port: r.plugin.receiver.port };
}

describe('in_http body types', () => {
  let s: Awaited<ReturnType<typeof startInput>>;
  before(async () => {
    s = await startInput('');
  });
  after(() => s.input.stop());
  const last = (): EventBatch => s.ctx.emitted.at(-1)!;

  it('application/json object: the path is the tag, time comes out of the record', async () => {
    const a = await json(s.port, '/app/access', { msg: 'hi', n: 1, time: 1700000000.5 });
    assert.equal(a.status, 200);
    assert.equal(a.text, '');
    assert.equal(last().tag, 'app.access');
    const [e] = last().entries();
    assert.deepEqual(e!.record, { msg: 'hi', n: 1 });
    assert.equal(e!.time.sec, 1700000000);
    assert.equal(e!.time.nsec, 500000000);
  });

  it('application/json array: every element is an event of one batch', async () => {
    const a = await json(s.port, '/app', [{ a: 1 }, { a: 2 }, { a: 3 }]);
    assert.equal(a.status, 200);
    assert.equal(last().count, 3);
    assert.deepEqual(
      last()
        .entries()
        .map((e) => e.record.a),
      [1, 2, 3],
    );
  });

  it('application/msgpack map and array', async () => {
    let a = await send(s.port, '/mp', {
      headers: { 'Content-Type': 'application/msgpack' },
      body: encode({ k: 'v', bin: 7 }),
    });
    assert.equal(a.status, 200);
    assert.deepEqual(last().entries()[0]!.record, { k: 'v', bin: 7 });
    a = await send(s.port, '/mp', {
      headers: { 'Content-Type': 'application/msgpack' },
      body: encode([{ i: 1 }, { i: 2, time: 1600000000 }]),
    });
    assert.equal(a.status, 200);
    assert.deepEqual(
      last()
        .entries()
        .map((e) => e.record),
      [{ i: 1 }, { i: 2 }],
    );
    assert.equal(last().entries()[1]!.time.sec, 1600000000);
  });

  it('application/x-ndjson: one event per line', async () => {
    const a = await send(s.port, '/nd', {
      headers: { 'Content-Type': 'application/x-ndjson' },
      body: '{"l":1}\n{"l":2}\r\n\n{"l":3}\n',
    });
    assert.equal(a.status, 200);
    assert.deepEqual(
      last()
        .entries()
        .map((e) => e.record.l),
      [1, 2, 3],
    );
  });

  it('form fields json= and msgpack=, and ?json= in the query', async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    let a = await send(s.port, '/form', {
      headers: form,
      body: `json=${encodeURIComponent('{"f":"x y+z"}')}`,
    });
    assert.equal(a.status, 200);
    assert.deepEqual(last().entries()[0]!.record, { f: 'x y+z' });
    const mp = encode({ m: 'é', n: 300 });
    const pct = [...mp].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    a = await send(s.port, '/form', { headers: form, body: `msgpack=${pct}` });
    assert.equal(a.status, 200);
    assert.deepEqual(last().entries()[0]!.record, { m: 'é', n: 300 });
    a = await send(s.port, `/q?json=${encodeURIComponent('{"q":true}')}`, {});
    assert.equal(a.status, 200);
    assert.equal(last().tag, 'q');
    assert.deepEqual(last().entries()[0]!.record, { q: true });
  });

  it('?time= sets the time of every event and wins over the record', async () => {
    await json(s.port, '/t?time=1500000000.25', [{ a: 1, time: 1 }, { a: 2 }]);
    for (const e of last().entries()) {
      assert.equal(e.time.sec, 1500000000);
      assert.equal(e.time.nsec, 250000000);
    }
    // Fluentd leaves the record's own time field alone when ?time= is given.
    assert.deepEqual(last().entries()[0]!.record, { a: 1, time: 1 });
  });

  it('gzip and deflate bodies', async () => {
    let a = await send(s.port, '/z', {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: gzipSync('{"z":"gz"}'),
    });
    assert.equal(a.status, 200);
    assert.deepEqual(last().entries()[0]!.record, { z: 'gz' });
    a = await send(s.port, '/z', {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' },
      body: deflateSync('{"z":"df"}'),
    });
    assert.equal(a.status, 200);
    assert.deepEqual(last().entries()[0]!.record, { z: 'df' });
  });

  it('a null record is skipped with 200, as in Fluentd', async () => {
    const before = s.ctx.emitted.length;
    const a = await json(s.port, '/n', null);
    assert.equal(a.status, 200);
    assert.equal(s.ctx.emitted.length, before);
  });

  it('GET /healthz answers ok; other GETs an empty 200', async () => {
    let a = await send(s.port, '/healthz', { method: 'GET' });
    assert.equal(a.status, 200);
    assert.deepEqual(JSON.parse(a.text), { status: 'ok' });
    a = await send(s.port, '/', { method: 'GET' });
    assert.equal(a.status, 200);
    assert.equal(a.text, '');
  });
});

describe('in_http bad input: a 4xx naming the problem, and the server keeps serving', () => {
  let s: Awaited<ReturnType<typeof startInput>>;
  before(async () => {
    s = await startInput('body_size_limit 1k\ndecompression_size_limit 2k');
  });
  after(() => s.input.stop());

  it('malformed JSON', async () => {
    const a = await send(s.port, '/x', { headers: { 'Content-Type': 'application/json' }, body: '{"a":' });
    assert.equal(a.status, 400);
    assert.match(a.text, /^400 Bad Request\ninvalid JSON in body/);
  });
  it('malformed ndjson line names the line', async () => {
    const a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/x-ndjson' },
      body: '{"a":1}\nnope\n',
    });
    assert.equal(a.status, 400);
    assert.match(a.text, /invalid JSON in line 2/);
  });
  it('truncated msgpack', async () => {
    const a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/msgpack' },
      body: encode({ a: 'long string here' }).subarray(0, 6),
    });
    assert.equal(a.status, 400);
    assert.match(a.text, /invalid msgpack body/);
  });
  it('a record that is not an object', async () => {
    const a = await json(s.port, '/x', [{ a: 1 }, 42]);
    assert.equal(a.status, 400);
    assert.match(a.text, /element 1: a record must be an object/);
  });
  it('a non-numeric time field', async () => {
    const a = await json(s.port, '/x', { time: 'yesterday' });
    assert.equal(a.status, 400);
    assert.match(a.text, /field 'time' must be epoch seconds/);
  });
  it('no json/msgpack parameter', async () => {
    const a = await send(s.port, '/x', { headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
    assert.equal(a.status, 400);
    assert.match(a.text, /'json', 'ndjson' or 'msgpack' parameter is required \(Content-Type 'text\/plain'/);
  });
  it('no tag in the path', async () => {
    const a = await json(s.port, '/', { a: 1 });
    assert.equal(a.status, 400);
    assert.match(a.text, /the request path names the tag/);
  });
  it('corrupt gzip', async () => {
    const a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: 'not gzip',
    });
    assert.equal(a.status, 400);
    assert.match(a.text, /cannot decode gzip body/);
  });
  it('unknown content encoding', async () => {
    const a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br' },
      body: '{}',
    });
    assert.equal(a.status, 415);
    assert.match(a.text, /unsupported Content-Encoding 'br'/);
  });
  it('413 over body_size_limit (Content-Length and chunked) and over decompression_size_limit', async () => {
    let a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(2000) }),
    });
    assert.equal(a.status, 413);
    a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      body: JSON.stringify({ a: 'x'.repeat(2000) }),
    });
    assert.equal(a.status, 413);
    a = await send(s.port, '/x', {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ a: 'x'.repeat(5000) })),
    });
    assert.equal(a.status, 413);
    assert.match(a.text, /decompression_size_limit/);
  });
  it('after all of that, a good request is still accepted and nothing bad was emitted', async () => {
    const a = await json(s.port, '/good', { ok: 1 });
    assert.equal(a.status, 200);
    assert.deepEqual(s.ctx.records(), [{ ok: 1 }]);
  });
});

describe('in_http options', () => {
  it('add_http_headers, add_query_params, add_remote_addr, add_tag_prefix', async () => {
    const s = await startInput(
      'add_http_headers true\nadd_query_params true\nadd_remote_addr true\nadd_tag_prefix web',
    );
    try {
      const a = await json(s.port, '/app?user-id=7&x=a%20b', { m: 1 }, { 'X-Custom-Header': 'yes' });
      assert.equal(a.status, 200);
      const b = s.ctx.emitted[0]!;
      assert.equal(b.tag, 'web.app');
      const r = b.entries()[0]!.record;
      assert.equal(r.m, 1);
      assert.equal(r.HTTP_X_CUSTOM_HEADER, 'yes');
      assert.equal(r.HTTP_CONTENT_TYPE, 'application/json');
      assert.equal(r.QUERY_USER_ID, '7');
      assert.equal(r.QUERY_X, 'a b');
      assert.equal(r.REMOTE_ADDR, '127.0.0.1');
      await json(s.port, '/app', { m: 2 }, { 'X-Forwarded-For': '10.1.2.3, 10.0.0.1' });
      assert.equal(s.ctx.emitted[1]!.entries()[0]!.record.REMOTE_ADDR, '10.1.2.3');
    } finally {
      await s.input.stop();
    }
  });

  it('use_204_response and respond_with_empty_img', async () => {
    let s = await startInput('use_204_response true');
    try {
      const a = await json(s.port, '/a', { m: 1 });
      assert.equal(a.status, 204);
      assert.equal(a.body.length, 0);
    } finally {
      await s.input.stop();
    }
    s = await startInput('respond_with_empty_img true');
    try {
      const a = await json(s.port, '/a', { m: 1 });
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'image/gif; charset=utf-8');
      assert.equal(a.body.subarray(0, 6).toString('latin1'), 'GIF89a');
    } finally {
      await s.input.stop();
    }
  });

  it('CORS: preflight, allowed and refused origins, credentials', async () => {
    const s = await startInput(
      'cors_allow_origins ["https://app.example.com", "https://*.example.org"]\ncors_allow_credentials true',
    );
    try {
      const pre = (origin: string, method = 'POST') =>
        send(s.port, '/a', {
          method: 'OPTIONS',
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': method,
            'Access-Control-Request-Headers': 'content-type',
          },
        });
      let a = await pre('https://app.example.com');
      assert.equal(a.status, 200);
      assert.equal(a.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(a.headers['access-control-allow-methods'], 'POST');
      assert.equal(a.headers['access-control-allow-headers'], 'content-type');
      assert.equal(a.headers['access-control-allow-credentials'], 'true');
      a = await pre('https://x.example.org');
      assert.equal(a.status, 200);
      a = await pre('https://evil.example.net');
      assert.equal(a.status, 403);
      a = await pre('https://app.example.com', 'PUT');
      assert.equal(a.status, 403);
      a = await json(s.port, '/a', { m: 1 }, { Origin: 'https://evil.example.net' });
      assert.equal(a.status, 403);
      a = await json(s.port, '/a', { m: 2 }, { Origin: 'https://app.example.com' });
      assert.equal(a.status, 200);
      assert.equal(a.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.deepEqual(s.ctx.records(), [{ m: 2 }]);
    } finally {
      await s.input.stop();
    }
  });

  it('cors_allow_credentials without specific origins is a config error', () => {
    assert.throws(
      () =>
        instantiate(
          httpInput,
          '<source>\n@type http\ncors_allow_origins ["*"]\ncors_allow_credentials true\n</source>\n',
        ),
      /cors_allow_credentials needs specific/,
    );
  });

  it('OPTIONS without CORS configured is refused', async () => {
    const s = await startInput('');
    try {
      const a = await send(s.port, '/a', {
        method: 'OPTIONS',
        headers: { Origin: 'https://a', 'Access-Control-Request-Method': 'POST' },
      });
      assert.equal(a.status, 403);
    } finally {
      await s.input.stop();
    }
  });

  it('<parse>: the whole body goes through the configured parser', async () => {
    const ctx = testContext({ type: 'http' });
    const seen: string[] = [];
    ctx.createNested = <T>() =>
      ({
        parse(text: string) {
          seen.push(text);
          const m = /^(\w+)=(\w+)$/.exec(text.trim());
          return m ? { time: new EventTime(1234, 0), record: { [m[1]!]: m[2] } } : undefined;
        },
      }) satisfies ParserPlugin as T;
    const s = await startInput('<parse>\n@type kv_test\n</parse>', ctx);
    try {
      let a = await send(s.port, '/txt', { headers: { 'Content-Type': 'text/plain' }, body: 'key=value\n' });
      assert.equal(a.status, 200);
      assert.deepEqual(s.ctx.records(), [{ key: 'value' }]);
      assert.equal(s.ctx.emitted[0]!.entries()[0]!.time.sec, 1234);
      a = await send(s.port, '/txt', { headers: { 'Content-Type': 'text/plain' }, body: 'no match here' });
      assert.equal(a.status, 400);
      assert.match(a.text, /does not match the configured <parse> format/);
      assert.deepEqual(seen, ['key=value\n', 'no match here']);
    } finally {
      await s.input.stop();
    }
  });
});

describe('in_http with a real <parse>', () => {
  it('@type json: a JSON array body gives one event per element; a mismatch is a 400 naming the parse error', async () => {
    await loadPlugin('parser', 'json');
    const s = await startInput('<parse>\n@type json\n</parse>');
    try {
      let a = await send(s.port, '/p', {
        headers: { 'Content-Type': 'text/plain' },
        body: '[{"a":1},{"a":2}]',
      });
      assert.equal(a.status, 200);
      assert.deepEqual(s.ctx.records(), [{ a: 1 }, { a: 2 }]);
      a = await send(s.port, '/p', { headers: { 'Content-Type': 'text/plain' }, body: 'plain words' });
      assert.equal(a.status, 400);
      assert.match(a.text, /does not match the configured <parse> format/);
    } finally {
      await s.input.stop();
    }
  });
});

describe('in_http answers when the pipeline refuses', () => {
  it('503 with Retry-After while a buffer overflows (throw_exception), 500 on other errors', async () => {
    let mode: 'ok' | 'full' | 'broken' = 'full';
    const ctx = testContext({
      type: 'http',
      onEmit: () => {
        if (mode === 'full') throw new BufferOverflowError('buffer space has too many data');
        if (mode === 'broken') throw new Error('output exploded');
      },
    });
    const s = await startInput('', ctx);
    try {
      let a = await json(s.port, '/a', { m: 1 });
      assert.equal(a.status, 503);
      assert.equal(a.headers['retry-after'], '1');
      assert.match(a.text, /buffer space has too many data/);
      mode = 'broken';
      a = await json(s.port, '/a', { m: 2 });
      assert.equal(a.status, 500);
      mode = 'ok';
      a = await json(s.port, '/a', { m: 3 });
      assert.equal(a.status, 200);
      assert.deepEqual(ctx.records(), [{ m: 3 }]);
    } finally {
      await s.input.stop();
    }
  });

  it('the answer waits until the pipeline accepted the events', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let entered!: () => void;
    const inEmit = new Promise<void>((r) => {
      entered = r;
    });
    const ctx = testContext({ type: 'http', onEmit: () => (entered(), gate) });
    const s = await startInput('', ctx);
    try {
      let answered = false;
      const pending = json(s.port, '/a', { m: 1 }).then((a) => {
        answered = true;
        return a;
      });
      await inEmit;
      assert.equal(answered, false);
      release();
      assert.equal((await pending).status, 200);
    } finally {
      await s.input.stop();
    }
  });
});

describe('in_http connections', () => {
  it('keep-alive: consecutive requests reuse one connection', async () => {
    const s = await startInput('');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a1 = await json(s.port, '/k', { i: 1 });
      const reqs = [];
      for (let i = 2; i <= 5; i++)
        reqs.push(
          await send(s.port, '/k', {
            headers: { 'Content-Type': 'application/json' },
            body: `{"i":${i}}`,
            agent,
          }),
        );
      assert.equal(a1.status, 200);
      assert.equal(reqs[0]!.reusedSocket, false);
      for (const r of reqs.slice(1)) {
        assert.equal(r.status, 200);
        assert.equal(r.reusedSocket, true);
        assert.equal(r.headers.connection, 'keep-alive');
      }
      assert.equal(s.ctx.records().length, 5);
    } finally {
      agent.destroy();
      await s.input.stop();
    }
  });

  it('TLS via <transport tls>', async () => {
    const c = selfSignedCert();
    try {
      const s = await startInput(
        `<transport tls>\ncert_path ${c.cert}\nprivate_key_path ${c.key}\n</transport>`,
      );
      try {
        const a = await send(s.port, '/secure', {
          headers: { 'Content-Type': 'application/json' },
          body: '{"s":1}',
          tls: { ca: [readFileSync(c.cert)] },
        });
        assert.equal(a.status, 200);
        assert.deepEqual(s.ctx.records(), [{ s: 1 }]);
      } finally {
        await s.input.stop();
      }
    } finally {
      c.cleanup();
    }
  });

  it('<transport tls> without a certificate is a config error', () => {
    assert.throws(
      () => instantiate(httpInput, '<source>\n@type http\n<transport tls>\n</transport>\n</source>\n'),
      /needs cert_path and private_key_path/,
    );
  });
});
