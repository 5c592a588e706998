// Firehose's HTTP endpoint destination: a delivery stream in AWS POSTs its records to a URL.
// The request replayed here is test/fixtures/firehose/http-endpoint-request.json, written
// from AWS's documented request format (headers and example body): no real delivery stream
// can reach this machine, so it is not a capture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Running, received, runEngine } from './firehose-helpers.ts';
import { send } from './http-helpers.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/firehose/http-endpoint-request.json', import.meta.url), 'utf8'),
) as {
  path: string;
  headers: Record<string, string>;
  body: { requestId: string; records: { data: string }[] };
};

describe('firehose input: HTTP endpoint deliveries', () => {
  let s: Running;
  before(async () => {
    s = await runEngine(
      (port) => `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams logging-test
  tag_prefix firehose
  http_endpoint_path ${fixture.path}
  http_endpoint_access_key my-endpoint-access-key
  <parse>
    @type none
  </parse>
</source>
<match **>
  @type test_capture
</match>`,
    );
  });
  after(() => s.stop());

  const deliver = (headers: Record<string, string>, body: string | Buffer) =>
    send(s.port, fixture.path, { headers, body });

  it('the documented request: each record one event, answered {requestId, timestamp} with 200', async () => {
    const t0 = Date.now();
    const a = await deliver(fixture.headers, JSON.stringify(fixture.body));
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    const answer = JSON.parse(a.text) as { requestId: string; timestamp: number; errorMessage?: string };
    assert.deepEqual(Object.keys(answer).sort(), ['requestId', 'timestamp']);
    assert.equal(answer.requestId, fixture.body.requestId);
    assert.ok(answer.timestamp >= t0 && answer.timestamp <= Date.now());
    assert.deepEqual(received(), [
      { tag: 'firehose.testStream', record: { message: 'hello' } },
      { tag: 'firehose.testStream', record: { message: 'hello world' } },
    ]);
  });

  it('a retry of an answered request (same X-Amz-Firehose-Request-Id) is answered 200 and not emitted again', async () => {
    const before = received().length;
    const a = await deliver(fixture.headers, JSON.stringify(fixture.body));
    assert.equal(a.status, 200);
    assert.equal(received().length, before);
  });

  it('a gzip body (Content-Encoding: gzip, as a stream with compression sends it) is read', async () => {
    const before = received().length;
    const body = { ...fixture.body, requestId: 'a1b2c3d4-0000-4000-8000-000000000001' };
    const a = await deliver(
      { ...fixture.headers, 'X-Amz-Firehose-Request-Id': body.requestId, 'Content-Encoding': 'gzip' },
      gzipSync(JSON.stringify(body)),
    );
    assert.equal(a.status, 200);
    assert.equal(JSON.parse(a.text).requestId, body.requestId);
    assert.equal(received().length, before + 2);
  });

  it('a wrong access key gets 401 with errorMessage; a body that is not the format gets 400; nothing emitted', async () => {
    const before = received().length;
    const id = 'a1b2c3d4-0000-4000-8000-000000000002';
    const denied = await deliver(
      { ...fixture.headers, 'X-Amz-Firehose-Request-Id': id, 'X-Amz-Firehose-Access-Key': 'wrong' },
      JSON.stringify({ ...fixture.body, requestId: id }),
    );
    assert.equal(denied.status, 401);
    const d = JSON.parse(denied.text);
    assert.equal(d.requestId, id);
    assert.equal(typeof d.timestamp, 'number');
    assert.match(d.errorMessage, /X-Amz-Firehose-Access-Key/);
    const bad = await deliver({ ...fixture.headers, 'X-Amz-Firehose-Request-Id': id }, '{"requestId":"x"}');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).errorMessage, /records/);
    assert.equal(received().length, before);
  });
});
