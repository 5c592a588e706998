import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { EventTime } from '@sluice/forward';
import { ConfigError } from '../../../../src/core/errors.ts';
import { loadPlugin } from '../../../../src/engine/registry.ts';
import plain, { type S3Output } from '../../../../src/plugins/output/s3/index.ts';
import { instantiate, testContext } from '../../../../src/testing/context.ts';
import { type MotoServer, startMoto } from '../../../stores/moto.ts';
import { chunkOf, client, conf, getObject, head, keys } from './helpers.ts';

// Issue 23 point 4 against moto's S3: keys, formats and compression read back, placeholders,
// multipart (and its abort), two workers on one path, a chunk uploaded twice.

// instantiate() resolves the descriptor's own schema; the engine adds <buffer> to a buffered output's
const s3 = {
  ...plain,
  schema: {
    ...plain.schema,
    sections: { ...plain.schema.sections, buffer: { plugin: 'buffer' as const, description: 'buffer' } },
  },
};

const UTC_BUFFER = '<buffer time>\ntimekey 1d\ntimekey_use_utc true\n</buffer>';

describe('out_s3 against moto', () => {
  let moto: MotoServer;
  let s3c: S3Client;
  const outs: S3Output[] = [];
  let n = 0;
  const bucketName = () => `sluice-s3-${process.pid}-${++n}`;
  const make = async (bucket: string, body: string, workerId = 0) => {
    const ctx = testContext({ type: 's3' });
    ctx.workerId = workerId;
    const { plugin } = instantiate(s3, conf(moto, bucket, body), ctx);
    outs.push(plugin);
    await plugin.start();
    return { o: plugin, ctx };
  };

  before(async () => {
    for (const f of ['json', 'ltsv', 'single_value', 'out_file']) await loadPlugin('formatter', f);
    moto = await startMoto();
    s3c = client(moto);
  });
  after(async () => {
    for (const o of outs) await o.stop();
    s3c?.destroy();
    await moto?.stop();
  });

  it('default key %{path}%{time_slice}_%{index}.%{file_extension}: index is the chunk id; store_as gzip (default) reads back as out_file lines', async () => {
    const bucket = bucketName();
    const { o, ctx } = await make(bucket, `path logs/\n${UTC_BUFFER}`);
    const chunk = chunkOf('app.web', [
      { message: 'hello', n: 1 },
      { message: 'wörld', big: 12345678901234567890n },
    ]);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const key = `logs/20231114_${chunk.id}.gz`;
    assert.deepEqual(await keys(s3c, bucket), [key]);
    const got = await getObject(s3c, bucket, key);
    assert.equal(got.contentType, 'application/x-gzip');
    const lines = gunzipSync(got.body).toString().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    const [t, tag, json] = lines[0]!.split('\t');
    assert.match(t!, /^2023-11-1\dT\d\d:\d\d:20[+-]\d\d:\d\d$/, 'ISO 8601 in local time');
    assert.equal(new Date(t!).getTime(), 1700000000_000);
    assert.equal(tag, 'app.web');
    assert.equal(json, '{"message":"hello","n":1}');
    assert.equal(lines[1]!.split('\t')[2], '{"message":"wörld","big":12345678901234567890}');
    assert.equal(ctx.metrics.objects_uploaded, 1);
    const h = await head(s3c, bucket, key);
    assert.equal(h.Metadata?.['sluice-chunk'], chunk.id);
  });

  it('store_as json and text keep the formatted bytes; <format> json, ltsv and single_value', async () => {
    const bucket = bucketName();
    const records = [
      { a: 1, s: 'x' },
      { a: 2, s: 'y\tz' },
    ];
    const cases: [string, string, string, string][] = [
      [
        'json',
        '<format>\n@type json\n</format>',
        'application/json',
        '{"a":1,"s":"x"}\n{"a":2,"s":"y\\tz"}\n',
      ],
      ['text', '<format>\n@type single_value\nmessage_key s\n</format>', 'text/plain', 'x\ny\tz\n'],
      ['text', '<format>\n@type ltsv\n</format>', 'text/plain', 'a:1\ts:x\na:2\ts:y z\n'],
    ];
    for (const [i, [storeAs, format, type, expected]] of cases.entries()) {
      const { o } = await make(bucket, `path f${i}/\nstore_as ${storeAs}\n${format}\n${UTC_BUFFER}`);
      const chunk = chunkOf('t', records);
      assert.deepEqual(await o.write(chunk), { status: 'ok' });
      const ext = storeAs === 'json' ? 'json' : 'txt';
      const got = await getObject(s3c, bucket, `f${i}/20231114_${chunk.id}.${ext}`);
      assert.equal(got.contentType, type);
      if (i === 2) assert.match(got.body.toString(), /^a:1\ts:x\na:2\ts:y.z\n$/);
      else assert.equal(got.body.toString(), expected);
    }
  });

  it('gzip compresses: 10,000 similar lines are much smaller stored, and read back whole', async () => {
    const bucket = bucketName();
    const { o, ctx } = await make(bucket, `<format>\n@type json\n</format>\n${UTC_BUFFER}`);
    const records = Array.from({ length: 10_000 }, (_, i) => ({
      i,
      message: `GET /index.html 200 ${i % 7}`,
    }));
    const chunk = chunkOf('t', records);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const [key] = await keys(s3c, bucket);
    assert.equal(key, `20231114_${chunk.id}.gz`);
    const got = await getObject(s3c, bucket, key!);
    const text = gunzipSync(got.body).toString();
    assert.equal(text.split('\n').length, 10_001);
    assert.equal(JSON.parse(text.split('\n')[9_999]!).i, 9_999);
    assert.ok(got.body.length * 5 < text.length, `${got.body.length} stored for ${text.length}`);
    assert.equal(ctx.metrics.bytes_uploaded, got.body.length);
  });

  it('placeholders: ${tag}, ${tag[N]}, strftime and record keys in path; %{time_slice} with time_slice_format; %{hex_random}, %{uuid_flush}, %{hostname}, %{hms_slice}, ${chunk_id}', async () => {
    const bucket = bucketName();
    const { o } = await make(
      bucket,
      [
        'path ${tag[0]}/${tag}/%Y/%m/${region}/',
        's3_object_key_format %{path}%{time_slice}-%{hms_slice}-%{hex_random}-%{uuid_flush}-%{hostname}-${chunk_id}.%{file_extension}',
        'time_slice_format %Y%m%d-%H',
        'hex_random_length 6',
        'store_as text',
        '<buffer tag, time, region>\ntimekey 1h\ntimekey_use_utc true\n</buffer>',
      ].join('\n'),
    );
    const chunk = chunkOf('app.api', [{ m: 1 }], {
      timekey: 1700000000 - (1700000000 % 3600),
      vars: { region: 'eu' },
    });
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const id = chunk.id;
    const ms = Number.parseInt(id.slice(0, 12), 16);
    const hms = new Date(ms).toISOString().slice(11, 19).replaceAll(':', '');
    const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    const hex = [...id].reverse().join('').slice(0, 6);
    const expected = `app/app.api/2023/11/eu/20231114-22-${hms}-${hex}-${uuid}-${hostname()}-${id}.txt`;
    assert.deepEqual(await keys(s3c, bucket), [expected]);
  });

  it('a chunk over 16 MiB goes up by multipart upload (8 MiB parts) and reads back byte for byte', async () => {
    const bucket = bucketName();
    const { o, ctx } = await make(bucket, `store_as text\n<format>\n@type json\n</format>\n${UTC_BUFFER}`);
    const filler = 'x'.repeat(1000);
    const records = Array.from({ length: 18_000 }, (_, i) => ({ i, filler }));
    const chunk = chunkOf('big', records);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const key = `20231114_${chunk.id}.txt`;
    const h = await head(s3c, bucket, key);
    assert.ok(h.ContentLength! > 16 * 1024 * 1024, `${h.ContentLength}`);
    assert.match(h.ETag ?? '', /-3"?$/, 'three parts');
    assert.equal(h.Metadata?.['sluice-chunk'], chunk.id);
    const got = await getObject(s3c, bucket, key);
    const lines = got.body.toString().split('\n');
    assert.equal(lines.length, 18_001);
    assert.deepEqual(JSON.parse(lines[17_999]!), { i: 17_999, filler });
    assert.equal(ctx.metrics.multipart_uploads, 1);
  });

  it('a gzip object over 16 MiB: formatted and gzipped a slice at a time, one gzip member across the parts', async () => {
    const bucket = bucketName();
    const { o, ctx } = await make(bucket, `<format>\n@type json\n</format>\n${UTC_BUFFER}`);
    // random text compresses to about three quarters: about 20 MB stored
    const records = Array.from({ length: 26_000 }, (_, i) => ({ i, r: randomBytes(750).toString('base64') }));
    const chunk = chunkOf('big', records);
    assert.ok(chunk.bytes.length > 4 * 4 * 1024 * 1024, 'more than four slices');
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const key = `20231114_${chunk.id}.gz`;
    const h = await head(s3c, bucket, key);
    assert.ok(h.ContentLength! > 16 * 1024 * 1024, `${h.ContentLength}`);
    assert.match(h.ETag ?? '', /-3"?$/, 'three parts');
    const got = await getObject(s3c, bucket, key);
    const lines = gunzipSync(got.body).toString().split('\n');
    assert.equal(lines.length, 26_001);
    for (const k of [0, 9_999, 25_999]) assert.deepEqual(JSON.parse(lines[k]!), records[k]);
    assert.equal(ctx.metrics.multipart_uploads, 1);
    assert.equal(ctx.metrics.bytes_uploaded, got.body.length);
  });

  it('a chunk of several slices through a formatter (single_value) and <inject>: every event once, in order', async () => {
    const bucket = bucketName();
    const { o } = await make(
      bucket,
      `store_as text\n<format>\n@type single_value\nmessage_key line\nadd_newline true\n</format>\n<inject>\ntag_key t\n</inject>\n${UTC_BUFFER}`,
    );
    const records = Array.from({ length: 12_000 }, (_, i) => ({ line: `${i} ${'z'.repeat(1000)}` }));
    const chunk = chunkOf('sv', records);
    assert.ok(chunk.bytes.length > 2 * 4 * 1024 * 1024, 'more than two slices');
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const lines = (await getObject(s3c, bucket, `20231114_${chunk.id}.txt`)).body.toString().split('\n');
    assert.equal(lines.length, 12_001);
    for (let i = 0; i < 12_000; i++) assert.equal(lines[i]!.slice(0, String(i).length + 1), `${i} `);
  });

  it('an endpoint that does not answer stops the start (S3_START_FAILED)', async () => {
    const ctx = testContext({ type: 's3' });
    const { plugin } = instantiate(
      s3,
      `<match **>\n@type s3\ns3_bucket b\ns3_endpoint http://127.0.0.1:1\nforce_path_style true\naws_key_id a\naws_sec_key b\nrequest_timeout 5s\n</match>\n`,
      ctx,
    );
    outs.push(plugin);
    await assert.rejects(plugin.start(), /^Error: S3_START_FAILED: /);
  });

  it('bytes that are not msgpack entries fail the chunk for good (S3_BROKEN_CHUNK), small or sliced; nothing uploaded', async () => {
    const bucket = bucketName();
    const { o } = await make(bucket, `store_as text\n<format>\n@type json\n</format>\n${UTC_BUFFER}`);
    const small = chunkOf('t', [{ a: 1 }]);
    const big = chunkOf(
      't',
      Array.from({ length: 6000 }, (_, i) => ({ i, f: 'q'.repeat(1000) })),
    );
    for (const c of [small, big]) {
      const broken = { ...c, bytes: Buffer.concat([c.bytes, Buffer.from([0x92, 0xc1])]) };
      const r = await o.write(broken);
      assert.equal(r.status, 'fatal');
      assert.match((r as { error: Error }).error.message, /^S3_BROKEN_CHUNK: /);
    }
    assert.deepEqual(await keys(s3c, bucket), []);
  });

  it('a multipart upload that fails is aborted (no incomplete upload left) and the chunk is retried', async () => {
    const bucket = bucketName();
    // parts of 1 MiB: S3 (and moto) refuse parts under 5 MiB but the last at CompleteMultipartUpload
    const { o, ctx } = await make(
      bucket,
      `store_as text\nmultipart_threshold 2MB\nmultipart_chunk_size 1MB\n<format>\n@type json\n</format>\n${UTC_BUFFER}`,
    );
    const chunk = chunkOf(
      'big',
      Array.from({ length: 3000 }, (_, i) => ({ i, f: 'y'.repeat(1000) })),
    );
    const r = await o.write(chunk);
    assert.equal(r.status, 'retry');
    assert.match((r as { error: Error }).error.message, /^S3_UPLOAD_FAILED: /);
    const uploads = await s3c.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.equal(uploads.Uploads?.length ?? 0, 0, 'aborted');
    assert.deepEqual(await keys(s3c, bucket), []);
    assert.equal(ctx.metrics.upload_failures, 1);
  });

  it('two workers writing the same path at the same moment: no collision, every object kept', async () => {
    const bucket = bucketName();
    const w0 = await make(bucket, `path shared/\nstore_as text\n${UTC_BUFFER}`, 0);
    const w1 = await make(bucket, `path shared/\nstore_as text\n${UTC_BUFFER}`, 1);
    // same tag, same timekey, every chunk id with the same creation ms and sequence number, as
    // two processes (workers or hosts) make them at the same moment: only the random bits differ.
    // Written concurrently, as flush threads would.
    const ms = Date.now().toString(16).padStart(12, '0');
    const chunks = Array.from({ length: 40 }, (_, i) =>
      chunkOf('app', [{ i }], { id: `${ms}0000${randomBytes(8).toString('hex')}` }),
    );
    const results = await Promise.all(chunks.map((c, i) => (i % 2 ? w1.o : w0.o).write(c)));
    for (const r of results) assert.deepEqual(r, { status: 'ok' });
    const got = await keys(s3c, bucket, 'shared/');
    assert.equal(got.length, 40);
    const seen = new Set<number>();
    for (const k of got) {
      const body = (await getObject(s3c, bucket, k)).body.toString();
      seen.add(JSON.parse(body.split('\t')[2]!).i);
    }
    assert.equal(seen.size, 40);
  });

  it('the same chunk uploaded twice (a retry; a replay by a new instance after a crash) leaves one object', async () => {
    const bucket = bucketName();
    const first = await make(bucket, `path replay/\n${UTC_BUFFER}`);
    const chunk = chunkOf('app', [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(await first.o.write(chunk), { status: 'ok' });
    assert.deepEqual(await first.o.write(chunk), { status: 'ok' });
    const second = await make(bucket, `path replay/\n${UTC_BUFFER}`, 0);
    assert.deepEqual(await second.o.write(chunk), { status: 'ok' });
    const got = await keys(s3c, bucket, 'replay/');
    assert.deepEqual(got, [`replay/20231114_${chunk.id}.gz`]);
    assert.equal(
      gunzipSync((await getObject(s3c, bucket, got[0]!)).body)
        .toString()
        .split('\n').length,
      3,
    );
  });

  it("check_object with a key format without a unique placeholder: another chunk's object is not overwritten (S3_OBJECT_EXISTS), the same chunk's is; overwrite true and check_object false overwrite", async () => {
    const bucket = bucketName();
    const fmt = 's3_object_key_format %{path}%{time_slice}.%{file_extension}';
    const { o } = await make(bucket, `path same/\n${fmt}\nstore_as text\n${UTC_BUFFER}`);
    const a = chunkOf('app', [{ who: 'a' }]);
    const b = chunkOf('app', [{ who: 'b' }]);
    assert.deepEqual(await o.write(a), { status: 'ok' });
    assert.deepEqual(await o.write(a), { status: 'ok' }, 'its own object: a replay overwrites');
    const r = await o.write(b);
    assert.equal(r.status, 'fatal');
    assert.match((r as { error: Error }).error.message, /^S3_OBJECT_EXISTS: /);
    const key = 'same/20231114.txt';
    assert.match((await getObject(s3c, bucket, key)).body.toString(), /"who":"a"/);
    const ow = await make(bucket, `path same/\n${fmt}\nstore_as text\noverwrite true\n${UTC_BUFFER}`);
    assert.deepEqual(await ow.o.write(b), { status: 'ok' });
    assert.match((await getObject(s3c, bucket, key)).body.toString(), /"who":"b"/);
    const nc = await make(bucket, `path same/\n${fmt}\nstore_as text\ncheck_object false\n${UTC_BUFFER}`);
    assert.deepEqual(await nc.o.write(a), { status: 'ok' });
    assert.match((await getObject(s3c, bucket, key)).body.toString(), /"who":"a"/);
  });

  it('auto_create_bucket creates a missing bucket at start; false refuses to start (S3_NO_BUCKET)', async () => {
    const bucket = bucketName();
    const ctx = testContext({ type: 's3' });
    const { plugin } = instantiate(s3, conf(moto, bucket, 'auto_create_bucket false'), ctx);
    outs.push(plugin);
    await assert.rejects(plugin.start(), /^Error: S3_NO_BUCKET: /);
    await make(bucket, '');
    assert.deepEqual(await keys(s3c, bucket), []);
  });

  it('storage_class, acl and tagging reach the object', async () => {
    const bucket = bucketName();
    const { o } = await make(
      bucket,
      `storage_class STANDARD_IA\nacl public-read\ntagging team=ops\n${UTC_BUFFER}`,
    );
    const chunk = chunkOf('t', [{ a: 1 }]);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const h = await head(s3c, bucket, `20231114_${chunk.id}.gz`);
    assert.equal(h.StorageClass, 'STANDARD_IA');
  });

  it('use_server_side_encryption aws:kms with ssekms_key_id reaches the object', async () => {
    const bucket = bucketName();
    const key = 'arn:aws:kms:us-east-1:123456789012:key/0000aaaa-bbbb-cccc-dddd-eeeeffff0000';
    const { o } = await make(
      bucket,
      `use_server_side_encryption aws:kms\nssekms_key_id ${key}\n${UTC_BUFFER}`,
    );
    const chunk = chunkOf('t', [{ a: 1 }]);
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    const h = await head(s3c, bucket, `20231114_${chunk.id}.gz`);
    assert.equal(h.ServerSideEncryption, 'aws:kms');
    assert.equal(h.SSEKMSKeyId, key);
  });

  it('without aws_key_id/aws_sec_key the SDK default chain is used: credentials from the environment sign the requests; none anywhere stops the start', async () => {
    const bucket = bucketName();
    await make(bucket, `auto_create_bucket true`); // the bucket, made with the config's credentials
    const saved = { ...process.env };
    const noKeys = `<match **>\n@type s3\ns3_bucket ${bucket}\ns3_region ${moto.region}\ns3_endpoint ${moto.endpoint}\nforce_path_style true\n${UTC_BUFFER}\n</match>\n`;
    // no shared files, no instance metadata: the environment is the only source left
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    for (const k of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ])
      delete process.env[k];
    try {
      const none = instantiate(s3, noKeys, testContext({ type: 's3' })).plugin;
      outs.push(none);
      await assert.rejects(none.start(), /S3_START_FAILED: .*CredentialsProviderError/);

      process.env.AWS_ACCESS_KEY_ID = moto.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = moto.credentials.secretAccessKey;
      const fromEnv = instantiate(s3, noKeys, testContext({ type: 's3' })).plugin;
      outs.push(fromEnv);
      await fromEnv.start();
      const chunk = chunkOf('t', [{ a: 1 }]);
      assert.deepEqual(await fromEnv.write(chunk), { status: 'ok' });
      assert.equal((await head(s3c, bucket, `20231114_${chunk.id}.gz`)).ContentLength! > 0, true);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('out_s3 check-time errors', () => {
  const base = '<match **>\n@type s3\ns3_bucket b\n';
  const refuse = (body: string, code: RegExp) =>
    assert.throws(
      () => instantiate(s3, `${base}${body}\n</match>\n`),
      (e: unknown) =>
        e instanceof ConfigError && code.test((e as Error).message.replace(/^test\.conf:\d+:\d+: /, '')),
    );
  it('a parameter or section of fluent-plugin-s3 that is not built is refused by name', () => {
    refuse('aws_credential_process /bin/creds', /^S3_PARAM_NOT_BUILT: parameter 'aws_credential_process'/);
    refuse('s3_metadata {"a":"b"}', /^S3_PARAM_NOT_BUILT: parameter 's3_metadata'/);
    refuse('store_as zstd', /^S3_PARAM_NOT_BUILT: store_as zstd /);
    refuse(
      '<assume_role_credentials>\nrole_arn x\n</assume_role_credentials>',
      /^S3_PARAM_NOT_BUILT: section <assume_role_credentials>/,
    );
    // the Ruby default asks for nothing missing
    instantiate(s3, `${base}ssl_verify_peer true\nuse_bundled_cert false\n</match>\n`);
  });
  it('an AWS endpoint in s3_endpoint, one credential of two, a removed placeholder', () => {
    refuse('s3_endpoint https://s3.eu-west-1.amazonaws.com', /^S3_ENDPOINT: /);
    refuse('aws_key_id AKIA', /^S3_CREDENTIALS: /);
    refuse('s3_object_key_format %{path}%{uuid}.gz', /^S3_KEY_FORMAT: /);
    instantiate(s3, `${base}s3_endpoint https://bucket.vpce-1.s3.us-east-1.vpce.amazonaws.com\n</match>\n`);
  });
  it('a v0.12 config: time_slice_format makes the timekey and is the format of %{time_slice}, utc its zone', () => {
    const { plugin } = instantiate(
      s3,
      `${base}path logs/\ntime_slice_format %Y%m%d-%H\ntime_slice_wait 10m\nutc\n</match>\n`,
    );
    const chunk = chunkOf('t', [{ x: 1 }], { timekey: 1700000000 - (1700000000 % 3600) });
    assert.equal(plugin.key(chunk), `logs/20231114-22_${chunk.id}.gz`);
  });
  it('keys are the same for the same chunk and differ between chunks, with no request made', () => {
    const { plugin } = instantiate(
      s3,
      `${base}path p/\n<buffer time>\ntimekey 3600\ntimekey_use_utc true\n</buffer>\n</match>\n`,
    );
    const a = chunkOf('t', [{ x: 1 }], {
      timekey: 1700000000 - (1700000000 % 3600),
      time: new EventTime(1700000000, 0),
    });
    const b = chunkOf('t', [{ x: 1 }], { timekey: a.keys.time });
    assert.equal(plugin.key(a), `p/2023111422_${a.id}.gz`, '1-hour timekey: %Y%m%d%H');
    assert.equal(plugin.key(a), plugin.key({ ...a }));
    assert.notEqual(plugin.key(a), plugin.key(b));
  });
});
