import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import httpOut, { type HttpOutput } from '../../../src/plugins/output/http/index.ts';
import { instantiate } from '../../../src/testing/context.ts';
import { selfSignedCert } from '../../helpers/tls.ts';
import { chunkOf, Sink } from './http-helpers.ts';

const make = (body: string) => instantiate(httpOut, `<match **>\n@type http\n${body}\n</match>\n`).plugin;

describe('out_http', () => {
  let sink: Sink;
  let port: number;
  const outs: HttpOutput[] = [];
  const out = (body: string) => {
    const o = make(body);
    outs.push(o);
    return o;
  };
  before(async () => {
    sink = new Sink();
    port = await sink.listen();
  });
  after(async () => {
    for (const o of outs) await o.stop();
    await sink.close();
  });

  it('seed 003: ${tag[1]} in the endpoint, JSON body, application/json, one request per chunk', async () => {
    const o = out(
      `endpoint "http://127.0.0.1:${port}/api/\${tag[1]}/"\nopen_timeout 2\nhttp_method post\ncontent_type application/json`,
    );
    const n = sink.requests.length;
    assert.deepEqual(await o.write(chunkOf('api.users', [{ id: 1, name: 'ann' }])), { status: 'ok' });
    assert.deepEqual(await o.write(chunkOf('api.orders', [{ id: 2 }])), { status: 'ok' });
    const [a, b] = sink.requests.slice(n);
    assert.equal(a!.method, 'POST');
    assert.equal(a!.url, '/api/users/');
    assert.equal(a!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(a!.text), { id: 1, name: 'ann' });
    assert.equal(b!.url, '/api/orders/');
  });

  it('percent-encodes tag parts, tags and record values put into the URL path and query (hostile tags)', async () => {
    const seed = out(`endpoint "http://127.0.0.1:${port}/api/\${tag[1]}/"`);
    const whole = out(`endpoint "http://127.0.0.1:${port}/t/\${tag}/x?tag=\${tag}&id=\${id}"`);
    const sent = async (o: HttpOutput, tag: string, vars: Record<string, string> = {}) => {
      const n = sink.requests.length;
      assert.deepEqual(await o.write(chunkOf(tag, [{ a: 1 }], undefined, vars)), { status: 'ok' });
      return sink.requests[n]!.url;
    };
    assert.equal(await sent(seed, 'api.a/b?c=1'), '/api/a%2Fb%3Fc%3D1/');
    assert.equal(await sent(seed, 'api.x#frag'), '/api/x%23frag/');
    assert.equal(await sent(seed, 'api.%2e%2e'), '/api/%252e%252e/');
    assert.equal(await sent(seed, 'api.x y'), '/api/x%20y/');
    assert.equal(await sent(whole, '..', { id: '..' }), '/t/%2E%2E/x?tag=%2E%2E&id=%2E%2E');
    assert.equal(await sent(whole, '.', { id: 'a&b=c#d' }), '/t/%2E/x?tag=%2E&id=a%26b%3Dc%23d');
    assert.equal(await sent(whole, 'é/ü', { id: '1' }), '/t/%C3%A9%2F%C3%BC/x?tag=%C3%A9%2F%C3%BC&id=1');
  });

  it('big integers and msgpack bin in the JSON body as the json formatter writes them (json lines and json_array)', async () => {
    const rec = { big: 2n ** 64n - 1n, bin: Buffer.from('hi'), n: 1 };
    const want = '{"big":18446744073709551615,"bin":"hi","n":1}';
    let n = sink.requests.length;
    assert.deepEqual(await out(`endpoint http://127.0.0.1:${port}/big`).write(chunkOf('t', [rec])), {
      status: 'ok',
    });
    assert.equal(sink.requests[n]!.text, `${want}\n`);
    n = sink.requests.length;
    const arr = out(`endpoint http://127.0.0.1:${port}/big\njson_array true`);
    assert.deepEqual(await arr.write(chunkOf('t', [rec])), { status: 'ok' });
    assert.equal(sink.requests[n]!.text, `[${want}]`);
  });

  it('json lines by default (application/x-ndjson); json_array; put; headers; gzip', async () => {
    let o = out(`endpoint http://127.0.0.1:${port}/lines`);
    let n = sink.requests.length;
    await o.write(chunkOf('t', [{ a: 1 }, { a: 2 }]));
    let r = sink.requests[n]!;
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.equal(r.text, '{"a":1}\n{"a":2}\n');

    o = out(
      `endpoint http://127.0.0.1:${port}/arr\njson_array true\nhttp_method put\nheaders {"X-Team":"core"}\nheaders_from_placeholders {"X-Tag":"\${tag}"}\ncompress gzip`,
    );
    n = sink.requests.length;
    await o.write(chunkOf('app.web', [{ a: 1 }, { b: 'x' }]));
    r = sink.requests[n]!;
    assert.equal(r.method, 'PUT');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['x-team'], 'core');
    assert.equal(r.headers['x-tag'], 'app.web');
    assert.deepEqual(JSON.parse(r.text), [{ a: 1 }, { b: 'x' }]);
  });

  it('<auth> basic and bearer', async () => {
    let o = out(
      `endpoint http://127.0.0.1:${port}/a\n<auth>\nmethod basic\nusername alice\npassword s3cret\n</auth>`,
    );
    let n = sink.requests.length;
    await o.write(chunkOf('t', [{ a: 1 }]));
    assert.equal(
      sink.requests[n]!.headers.authorization,
      `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
    );
    o = out(`endpoint http://127.0.0.1:${port}/a\n<auth>\nmethod bearer\ntoken tok123\n</auth>`);
    n = sink.requests.length;
    await o.write(chunkOf('t', [{ a: 1 }]));
    assert.equal(sink.requests[n]!.headers.authorization, 'Bearer tok123');
  });

  it('answers: 503 retries, other errors fatal by default, logged-and-dropped when error_response_as_unrecoverable false', async () => {
    sink.status = (r) => (r.url === '/s503' ? 503 : r.url === '/s500' ? 500 : r.url === '/s429' ? 429 : 200);
    try {
      let o = out(`endpoint http://127.0.0.1:${port}/s503`);
      let res = await o.write(chunkOf('t', [{ a: 1 }]));
      assert.equal(res.status, 'retry');
      o = out(`endpoint http://127.0.0.1:${port}/s500`);
      res = await o.write(chunkOf('t', [{ a: 1 }]));
      assert.equal(res.status, 'fatal');
      assert.match((res as { error: Error }).error.message, /500 status 500/);
      o = out(`endpoint http://127.0.0.1:${port}/s429\nretryable_response_codes [429, 503]`);
      assert.equal((await o.write(chunkOf('t', [{ a: 1 }]))).status, 'retry');
      o = out(`endpoint http://127.0.0.1:${port}/s500\nerror_response_as_unrecoverable false`);
      assert.equal((await o.write(chunkOf('t', [{ a: 1 }]))).status, 'ok');
    } finally {
      sink.status = () => 200;
    }
  });

  it('a refused connection is a retry, not a loss', async () => {
    const dead = new Sink();
    const deadPort = await dead.listen();
    await dead.close();
    const o = out(`endpoint http://127.0.0.1:${deadPort}/x\nopen_timeout 1`);
    const res = await o.write(chunkOf('t', [{ a: 1 }]));
    assert.equal(res.status, 'retry');
    assert.match((res as { error: Error }).error.message, /ECONNREFUSED|connect/i);
  });

  it('keeps connections alive across writes', async () => {
    const s2 = new Sink();
    const p2 = await s2.listen();
    try {
      const o = out(`endpoint http://127.0.0.1:${p2}/k`);
      for (let i = 0; i < 10; i++) assert.equal((await o.write(chunkOf('t', [{ i }]))).status, 'ok');
      assert.equal(s2.requests.length, 10);
      // undici may open a second socket while the first is being released; never one per request.
      assert.ok(s2.connections <= 2, `${s2.connections} connections for 10 requests`);
    } finally {
      await s2.close();
    }
  });

  it('a placeholder host needs allowed_hosts (fatal otherwise)', async () => {
    let o = out(`endpoint http://\${tag}:${port}/x`);
    let res = await o.write(chunkOf('127.0.0.1', [{ a: 1 }]));
    assert.equal(res.status, 'fatal');
    assert.match((res as { error: Error }).error.message, /allowed_hosts is strictly required/);
    o = out(`endpoint http://\${tag}:${port}/x\nallowed_hosts ["127.0.0.1"]`);
    res = await o.write(chunkOf('127.0.0.1', [{ a: 1 }]));
    assert.equal(res.status, 'ok');
  });

  it('config errors: bad endpoint, json_array with another format, bad status code, aws_sigv4', () => {
    assert.throws(() => make('endpoint not a url'), /Invalid endpoint URI/);
    assert.throws(
      () => make('endpoint http://h/\njson_array true\n<format>\n@type csv\n</format>'),
      /json_array option could be used with json formatter only/,
    );
    assert.throws(
      () => make('endpoint http://h/\nretryable_response_codes abc,503'),
      /is not an HTTP status code/,
    );
    assert.throws(
      () => make('endpoint http://h/\n<auth>\nmethod aws_sigv4\n</auth>'),
      /aws_sigv4.*not built/,
    );
    assert.throws(
      () => make('endpoint http://h/\ntls_ca_cert_path /nonexistent/ca.pem'),
      /tls_ca_cert_path is wrong/,
    );
  });

  it('https with tls_ca_cert_path; an unknown CA is a retry; tls_verify_mode none skips verification', async () => {
    const c = selfSignedCert();
    const bodies: string[] = [];
    const server = https.createServer(
      { cert: readFileSync(c.cert), key: readFileSync(c.key) },
      (req, res) => {
        let b = '';
        req.on('data', (d: Buffer) => (b += d));
        req.on('end', () => {
          bodies.push(b);
          res.end('ok');
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const tlsPort = (server.address() as net.AddressInfo).port;
    try {
      let o = out(`endpoint https://127.0.0.1:${tlsPort}/s\ntls_ca_cert_path ${c.cert}`);
      assert.equal((await o.write(chunkOf('t', [{ tls: 1 }]))).status, 'ok');
      o = out(`endpoint https://127.0.0.1:${tlsPort}/s`);
      const r = await o.write(chunkOf('t', [{ tls: 2 }]));
      assert.equal(r.status, 'retry');
      assert.match((r as { error: Error }).error.message, /self.signed|certificate/i);
      o = out(`endpoint https://127.0.0.1:${tlsPort}/s\ntls_verify_mode none`);
      assert.equal((await o.write(chunkOf('t', [{ tls: 3 }]))).status, 'ok');
      assert.deepEqual(bodies, ['{"tls":1}\n', '{"tls":3}\n']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      c.cleanup();
    }
  });

  it('goes through an HTTP proxy (CONNECT) when proxy is set', async () => {
    const tunnels: string[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, p] = (req.url ?? '').split(':');
      const up = net.connect(Number(p), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    try {
      const o = out(`endpoint http://127.0.0.1:${port}/via-proxy\nproxy http://127.0.0.1:${proxyPort}`);
      const n = sink.requests.length;
      assert.equal((await o.write(chunkOf('t', [{ p: 1 }]))).status, 'ok');
      assert.equal(sink.requests[n]!.url, '/via-proxy');
      assert.deepEqual(tunnels, [`127.0.0.1:${port}`]);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
