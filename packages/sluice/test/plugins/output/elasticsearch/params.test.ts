import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import pino from 'pino';
import { parseConfigText } from '../../../../src/config/parser.ts';
import { resolve } from '../../../../src/config/schema.ts';
import { Engine } from '../../../../src/engine/engine.ts';
import { loadPlugin } from '../../../../src/engine/registry.ts';
import es, { type ElasticsearchOutput } from '../../../../src/plugins/output/elasticsearch/index.ts';
import { instantiate, type TestContext } from '../../../../src/testing/context.ts';
import { UTC } from '../../../../src/time/time-zone.ts';
import { selfSignedCert, type TestCert } from '../../../helpers/tls.ts';
import { type OpenSearchServer, startOpenSearch } from '../../../stores/opensearch.ts';
import { BulkProxy, chunkOf, hitsOf, json } from './helpers.ts';

// Every parameter of issue 23 point 1 against a real OpenSearch 2.19 node, read back from the
// index (or, for what the node does not show, from the requests a proxy in front of it saw).

describe('out_elasticsearch: parameters, read back from OpenSearch', () => {
  let os: OpenSearchServer;
  let hostPort: string;
  const outs: ElasticsearchOutput[] = [];
  const proxies: BulkProxy[] = [];
  let cert: TestCert | undefined;
  let n = 0;
  const uniq = (base: string) => `${base}-${process.pid}-${++n}`;
  const make = (body: string): { o: ElasticsearchOutput; ctx: TestContext } => {
    const { plugin, ctx } = instantiate(es, `<match **>\n@type elasticsearch\n${body}\n</match>\n`);
    outs.push(plugin);
    return { o: plugin, ctx };
  };
  const out = (body: string) => make(`hosts ${hostPort}\n${body}`).o;
  const proxy = async (tls?: { cert: Buffer; key: Buffer; minVersion?: 'TLSv1.3' }) => {
    const p = new BulkProxy(os.url, tls);
    proxies.push(p);
    return { p, at: await p.listen() };
  };

  before(async () => {
    os = await startOpenSearch();
    hostPort = new URL(os.url).host;
  });
  after(async () => {
    for (const o of outs) await o.stop();
    for (const p of proxies) await p.close();
    cert?.cleanup();
    await os?.stop();
  });

  it('@type opensearch is the same plugin; what is not built is refused at check time by name', async () => {
    assert.equal(await loadPlugin('output', 'opensearch'), await loadPlugin('output', 'elasticsearch'));
    assert.throws(
      () => make('enable_ilm true'),
      /test\.conf:3:\d+: ES_PARAM_NOT_BUILT: parameter 'enable_ilm'/,
    );
    assert.throws(() => make('write_operation upsert'), /ES_UPDATE_NEEDS_ID_KEY/);
    assert.throws(() => make('data_stream_name Logs'), /ES_DATA_STREAM_NAME: .*lowercase/);
    assert.throws(() => make('data_stream_name logs\nwrite_operation index'), /ES_DATA_STREAM_CREATE_ONLY/);
    assert.throws(() => make('bulk_message_request_threshold lots'), /ES_BAD_THRESHOLD/);
    assert.throws(() => make('hosts ftp://x:1'), /ES_BAD_HOSTS: .*http or https/);
    assert.throws(() => make('hosts " , "'), /ES_BAD_HOSTS: hosts names no server/);
    assert.throws(() => make('ca_file /nonexistent/ca.pem'), /ES_CA_FILE/);
    // a not-built parameter set to what asks for nothing (its Ruby default, the feature off) is accepted,
    // as the official fluentd-kubernetes-daemonset config sets them
    make(
      'enable_ilm false\nilm_policy_overwrite false\nsniffer_class_name Fluent::Plugin::ElasticsearchSimpleSniffer\ntemplate_overwrite false\nmax_retry_putting_template 3',
    );
    assert.throws(
      () => make('sniffer_class_name My::Sniffer'),
      /ES_PARAM_NOT_BUILT: parameter 'sniffer_class_name'/,
    );
    // accepted for compatibility
    const root = parseConfigText(
      '<match **>\n@type opensearch\nreload_connections false\nreload_on_failure true\nreconnect_on_error true\nhttp_backend typhoeus\nsuppress_type_name true\ntype_name _doc\n</match>\n',
      { file: 't.conf' },
    );
    resolve(es.schema, root.elements[0]!, 'opensearch');
  });

  it('<buffer> defaults as the plugin: chunk key tag, timekey_use_utc true (unless the config says otherwise)', async () => {
    const zoneOf = async (buffer: string) => {
      const engine = await Engine.fromText(
        `<match **>\n  @type elasticsearch\n  @id es\n  hosts ${hostPort}\n  ${buffer}\n</match>\n`,
        { logger: pino({ level: 'silent' }) },
      );
      try {
        return engine.plugins.find((p) => p.id === 'es')!.output!.buffer!.config.zone;
      } finally {
        await engine.stop();
      }
    };
    assert.equal(await zoneOf('<buffer tag, time>\n    timekey 1d\n  </buffer>'), UTC);
    assert.notEqual(
      await zoneOf('<buffer tag, time>\n    timekey 1d\n    timekey_use_utc false\n  </buffer>'),
      UTC,
    );
  });

  it('index_name with placeholders, include_tag_key/tag_key, remove_keys, type_name accepted (no _type to OpenSearch 2)', async () => {
    const base = uniq('app');
    const o = out(
      `index_name ${base}-\${tag[1]}\ninclude_tag_key true\ntag_key the_tag\nremove_keys secret,other\ntype_name mytype`,
    );
    const res = await o.write(
      chunkOf('svc.WEB', [{ msg: 'a', secret: 's', other: 1, keep: true }, { msg: 'b' }]),
    );
    assert.deepEqual(res, { status: 'ok' });
    const hits = await hitsOf(os.url, `${base}-web`);
    assert.equal(hits.length, 2);
    assert.deepEqual(
      hits.map((h) => h._source).sort((a, b) => String(a.msg).localeCompare(String(b.msg))),
      [
        { msg: 'a', keep: true, the_tag: 'svc.WEB' },
        { msg: 'b', the_tag: 'svc.WEB' },
      ],
    );
  });

  it('logstash_format, logstash_prefix (placeholders), logstash_prefix_separator, logstash_dateformat, utc_index; @timestamp with nanoseconds', async () => {
    const prefix = uniq('ls');
    const o = out(
      `logstash_format true\nlogstash_prefix ${prefix}-\${tag}\nlogstash_prefix_separator _\nlogstash_dateformat %Y%m`,
    );
    // 2023-11-14T22:13:20Z and 2023-12-01T00:00:01Z: two months, two indices
    const times = [new EventTime(1700000000, 5), new EventTime(1701388801, 0)];
    assert.deepEqual(await o.write(chunkOf('t', [{ n: 1 }, { n: 2 }], { time: (i) => times[i]! })), {
      status: 'ok',
    });
    const nov = await hitsOf(os.url, `${prefix}-t_202311`);
    const dec = await hitsOf(os.url, `${prefix}-t_202312`);
    assert.equal(nov.length, 1);
    assert.equal(dec.length, 1);
    assert.equal(nov[0]!._source['@timestamp'], '2023-11-14T22:13:20.000000005+00:00');
    assert.equal(dec[0]!._source['@timestamp'], '2023-12-01T00:00:01.000000000+00:00');
    // utc_index false: the date in the local zone of the process (TZ of the test: UTC unless set)
    const local = out(`logstash_format true\nlogstash_prefix ${prefix}-local\nutc_index false`);
    assert.equal((await local.write(chunkOf('t', [{ n: 3 }], { time: times[0] }))).status, 'ok');
    const d = new Date(1700000000 * 1000);
    const day = `${d.getFullYear()}.${String(d.getMonth() + 1).padStart(2, '0')}.${String(d.getDate()).padStart(2, '0')}`;
    assert.equal((await hitsOf(os.url, `${prefix}-local-${day}`)).length, 1);
  });

  it('include_timestamp, time_key, time_key_format; a record with @timestamp keeps it', async () => {
    const index = uniq('ts');
    const o = out(
      `index_name ${index}\ninclude_timestamp true\ntime_key at\ntime_key_format %d/%m/%Y %H:%M:%S`,
    );
    const res = await o.write(
      chunkOf('t', [
        { id: 1, at: '02/01/2024 03:04:05' },
        { id: 2 },
        { id: 3, '@timestamp': '2020-01-01T00:00:00Z' },
      ]),
    );
    assert.deepEqual(res, { status: 'ok' });
    const byId = new Map((await hitsOf(os.url, index)).map((h) => [h._source.id, h._source]));
    assert.equal(byId.get(1)!['@timestamp'], '2024-01-02T03:04:05.000000000+00:00');
    assert.equal(byId.get(1)!.at, '02/01/2024 03:04:05');
    assert.equal(byId.get(2)!['@timestamp'], '2023-11-14T22:13:20.123456789+00:00');
    assert.equal(byId.get(3)!['@timestamp'], '2020-01-01T00:00:00Z');
  });

  it('id_key (nested), routing_key, pipeline, parent_key (as routing on OpenSearch)', async () => {
    const index = uniq('ids');
    const made = (await json(os.url, `/_ingest/pipeline/${index}-p`, 'PUT', {
      processors: [{ set: { field: 'piped', value: 'yes' } }],
    })) as { acknowledged?: boolean };
    assert.equal(made.acknowledged, true, JSON.stringify(made));
    const o = out(`index_name ${index}\nid_key $.meta.uid\nrouting_key user\npipeline ${index}-p`);
    assert.deepEqual(
      await o.write(
        chunkOf('t', [
          { meta: { uid: 'u-1' }, user: 'ann' },
          { meta: { uid: 'u-2' }, user: 'bob' },
        ]),
      ),
      { status: 'ok' },
    );
    // a record without the id_key field gets the generated id
    const noId = chunkOf('t', [{ user: 'cy' }]);
    assert.deepEqual(await o.write(noId), { status: 'ok' });
    const hits = (await hitsOf(os.url, index)).filter((h) => h._id !== `${noId.id}-0`);
    assert.equal((await hitsOf(os.url, index)).length, 3);
    assert.deepEqual(hits.map((h) => [h._id, h._routing, h._source.user, h._source.piped]).sort(), [
      ['u-1', 'ann', 'ann', 'yes'],
      ['u-2', 'bob', 'bob', 'yes'],
    ]);
    const { o: missing, ctx: mctx } = make(`hosts ${hostPort}\nindex_name ${index}\npipeline ${index}-none`);
    assert.deepEqual(await missing.write(chunkOf('t', [{ a: 1 }])), { status: 'ok' });
    assert.equal(mctx.errors.length, 1);
    assert.match(
      String((mctx.errors[0]!.record.es_error as { reason: string }).reason),
      new RegExp(`${index}-none`),
    );
    // parent_key: OpenSearch has no _parent; the parent's id is sent as the routing a join-field child needs
    const withParent = out(`index_name ${index}-parent\nparent_key p`);
    assert.deepEqual(await withParent.write(chunkOf('t', [{ p: 'x', a: 1 }])), { status: 'ok' });
    const child = await hitsOf(os.url, `${index}-parent`);
    assert.equal(child[0]!._routing, 'x');
  });

  it('entries the msgpack walker leaves to the decoder (integer time, big integer, bin, invalid UTF-8) are written by the same rules', async () => {
    const index = uniq('slow');
    const { o, ctx } = make(
      `hosts ${hostPort}\nindex_name ${index}\ninclude_tag_key true\nremove_keys drop\ninclude_timestamp true`,
    );
    // [1700000000, {...}] with an integer time: the fast path takes EventTime entries only
    const slow = Buffer.concat([
      encode([1700000000, { kind: 'slow', big: 2n ** 60n, bin: Buffer.from('hi'), drop: 1 }]),
      // a string that is not UTF-8 (0xff): written as the decoder reads it
      Buffer.from([0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x00]),
      Buffer.from([
        0x82,
        0xa4,
        ...Buffer.from('kind'),
        0xa3,
        ...Buffer.from('bad'),
        0xa1,
        0x73,
        0xa2,
        0x61,
        0xff,
      ]),
    ]);
    const fast = chunkOf('t', [{ kind: 'fast', drop: 1 }]);
    assert.deepEqual(await o.write({ ...fast, bytes: Buffer.concat([fast.bytes, slow]), count: 3 }), {
      status: 'ok',
    });
    assert.deepEqual(ctx.errors, []);
    const byKind = new Map((await hitsOf(os.url, index)).map((h) => [h._source.kind, h._source]));
    assert.deepEqual(byKind.get('fast'), {
      kind: 'fast',
      '@timestamp': '2023-11-14T22:13:20.123456789+00:00',
      tag: 't',
    });
    assert.deepEqual(byKind.get('slow'), {
      kind: 'slow',
      big: 2 ** 60,
      bin: 'hi',
      '@timestamp': '2023-11-14T22:13:20.000000000+00:00',
      tag: 't',
    });
    assert.equal(byKind.get('bad')!.s, 'a\ufffd');
  });

  it('write_operation index, create, update, upsert', async () => {
    const index = uniq('ops');
    const idx = out(`index_name ${index}\nid_key k\nwrite_operation index`);
    assert.equal(
      (
        await idx.write(
          chunkOf('t', [
            { k: 'a', v: 1 },
            { k: 'b', v: 1 },
          ]),
        )
      ).status,
      'ok',
    );
    assert.equal((await idx.write(chunkOf('t', [{ k: 'a', v: 2 }]))).status, 'ok');
    const { o: createCounted, ctx: cctx } = make(
      `hosts ${hostPort}\nindex_name ${index}\nid_key k\nwrite_operation create`,
    );
    assert.equal(
      (
        await createCounted.write(
          chunkOf('t', [
            { k: 'a', v: 3 },
            { k: 'c', v: 1 },
          ]),
        )
      ).status,
      'ok',
    );
    assert.equal(cctx.metrics.documents_duplicate, 1, 'create of an existing _id is a duplicate, done');
    const { o: upd, ctx: uctx } = make(
      `hosts ${hostPort}\nindex_name ${index}\nid_key k\nwrite_operation update`,
    );
    assert.equal(
      (
        await upd.write(
          chunkOf('t', [
            { k: 'b', w: 9 },
            { k: 'nope', w: 1 },
          ]),
        )
      ).status,
      'ok',
    );
    assert.equal(uctx.errors.length, 1, 'update of a missing document goes to @ERROR');
    assert.match(String((uctx.errors[0]!.record.es_error as { type: string }).type), /document_missing/);
    const upsert = out(`index_name ${index}\nid_key k\nwrite_operation upsert`);
    assert.equal(
      (
        await upsert.write(
          chunkOf('t', [
            { k: 'c', w: 5 },
            { k: 'd', w: 6 },
          ]),
        )
      ).status,
      'ok',
    );
    const byId = Object.fromEntries((await hitsOf(os.url, index)).map((h) => [h._id, h._source]));
    assert.deepEqual(byId, {
      a: { k: 'a', v: 2 },
      b: { k: 'b', v: 1, w: 9 },
      c: { k: 'c', v: 1, w: 5 },
      d: { k: 'd', w: 6 },
    });
  });

  it('data_stream_name: the template is created and documents land in the stream with @timestamp', async () => {
    const name = uniq('ds');
    const o = out(`data_stream_name ${name}`);
    assert.deepEqual(await o.write(chunkOf('t', [{ m: 1 }, { m: 2 }])), { status: 'ok' });
    const stream = (await json(os.url, `/_data_stream/${name}`)) as { data_streams: { name: string }[] };
    assert.equal(stream.data_streams[0]!.name, name);
    const tmpl = (await json(os.url, `/_index_template/${name}_template`)) as { index_templates: unknown[] };
    assert.equal(tmpl.index_templates.length, 1);
    const hits = await hitsOf(os.url, name);
    assert.equal(hits.length, 2);
    assert.equal(hits[0]!._source['@timestamp'], '2023-11-14T22:13:20.123456789+00:00');
    assert.match(hits[0]!._index, /^\.ds-/);
  });

  it('data_stream_template_name names the template made for the stream', async () => {
    const name = uniq('dst');
    const template = uniq('own-template');
    const o = out(`data_stream_name ${name}\ndata_stream_template_name ${template}`);
    assert.deepEqual(await o.write(chunkOf('t', [{ m: 1 }, { m: 2 }])), { status: 'ok' });
    const tmpl = (await json(os.url, `/_index_template/${template}`)) as {
      index_templates: { index_template: { index_patterns: string[]; data_stream?: unknown } }[];
    };
    assert.deepEqual(tmpl.index_templates[0]!.index_template.index_patterns, [`${name}*`]);
    assert.ok(tmpl.index_templates[0]!.index_template.data_stream);
    assert.equal(
      (await fetch(`${os.url}/_index_template/${name}_template`)).status,
      404,
      'no default-named template',
    );
    assert.equal((await hitsOf(os.url, name)).length, 2);
  });

  it('type_name and suppress_type_name follow the version GET / reports: type_name to Elasticsearch 6, _doc to 7 unless suppressed, none to 8', async () => {
    const cases: [version: string, params: string, type: string | undefined][] = [
      ['6.8.23', 'type_name mytype', 'mytype'],
      ['6.8.23', 'type_name mytype\nsuppress_type_name true', undefined],
      ['7.17.0', 'type_name mytype', '_doc'],
      ['7.17.0', 'suppress_type_name true', undefined],
      ['8.11.0', 'type_name mytype', undefined],
    ];
    for (const [version, params, type] of cases) {
      const { p, at } = await proxy();
      // the node behind is OpenSearch: the proxy claims the version and takes _type out (see helpers.ts)
      p.plan = (r) =>
        r.method === 'GET' && r.url === '/'
          ? {
              answer: {
                status: 200,
                body: { version: { number: version }, tagline: 'You Know, for Search' },
              },
            }
          : {};
      const index = uniq('type');
      const o = make(`hosts ${at}\nindex_name ${index}\n${params}`).o;
      assert.deepEqual(await o.write(chunkOf('t', [{ a: 1 }])), { status: 'ok' }, `${version} ${params}`);
      const meta = Object.values(p.bulks()[0]!.docs![0]!.action)[0]!;
      assert.equal(meta._type, type, `${version} ${params}`);
      assert.equal((await hitsOf(os.url, index)).length, 1);
    }
  });

  it('host/port/scheme/path, user/password, hosts (a dead one skipped), bulk_message_request_threshold', async () => {
    const { p, at } = await proxy();
    p.prefix = '/es';
    const [h, port] = at.split(':');
    const index = uniq('conn');
    const o = make(
      `host ${h}\nport ${port}\nscheme http\npath /es/\nuser alice\npassword s3cret\nindex_name ${index}\nbulk_message_request_threshold 300`,
    ).o;
    // one document larger than the threshold goes alone
    const recs = Array.from({ length: 7 }, (_, i) => ({ i, pad: 'x'.repeat(i === 3 ? 1000 : 60) }));
    assert.deepEqual(await o.write(chunkOf('t', recs)), { status: 'ok' });
    const bulks = p.bulks();
    assert.ok(bulks.length >= 4, `threshold splits the chunk (got ${bulks.length} requests)`);
    assert.deepEqual(
      bulks.flatMap((r) => r.docs!.map((d) => (d.doc as { i: number }).i)),
      [0, 1, 2, 3, 4, 5, 6],
      'in order, each once',
    );
    assert.ok(bulks.some((r) => r.docs!.length === 1 && (r.docs![0]!.doc as { i: number }).i === 3));
    assert.ok(bulks.every((r) => r.url.startsWith('/es/_bulk?filter_path=')));
    assert.equal(bulks[0]!.headers.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    assert.equal((await hitsOf(os.url, index)).length, 7);

    // hosts: a port nothing listens on, then the node; every write lands
    const dead = await proxy();
    await dead.p.close();
    const index2 = uniq('hosts');
    const multi = make(`hosts http://${dead.at},${hostPort}\nindex_name ${index2}\nrequest_timeout 2s`).o;
    for (let k = 0; k < 3; k++) {
      let res = await multi.write(chunkOf('t', [{ k }], { id: `c${k}`.padEnd(32, '0') }));
      if (res.status === 'retry')
        res = await multi.write(chunkOf('t', [{ k }], { id: `c${k}`.padEnd(32, '0') }));
      assert.equal(res.status, 'ok');
    }
    assert.equal((await hitsOf(os.url, index2)).length, 3);
  });

  it('https: ca_file verifies the server; ssl_verify false accepts any certificate; ssl_min_version, ssl_max_version', async () => {
    cert = selfSignedCert();
    const { at } = await proxy({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) });
    const index = uniq('tls');
    const verified = make(`hosts https://${at}\nca_file ${cert.cert}\nindex_name ${index}`).o;
    assert.deepEqual(await verified.write(chunkOf('t', [{ a: 1 }])), { status: 'ok' });
    const unverified = make(`hosts ${at}\nscheme https\nssl_verify false\nindex_name ${index}`).o;
    assert.deepEqual(await unverified.write(chunkOf('t', [{ a: 2 }])), { status: 'ok' });
    // ssl_max_version below what the server accepts: no handshake
    const tls13 = await proxy({
      cert: readFileSync(cert.cert),
      key: readFileSync(cert.key),
      minVersion: 'TLSv1.3',
    });
    const capped = make(
      `hosts https://${tls13.at}\nca_file ${cert.cert}\nssl_max_version TLSv1_2\nindex_name ${index}`,
    ).o;
    const refused = await capped.write(chunkOf('t', [{ a: 4 }]));
    assert.equal(refused.status, 'retry');
    assert.match(
      (refused as { error: Error }).error.message,
      /ES_SERVER_UNAVAILABLE.*(version|protocol|alert)/i,
    );
    const modern = make(
      `hosts https://${tls13.at}\nca_file ${cert.cert}\nssl_min_version TLSv1_3\nindex_name ${index}`,
    ).o;
    assert.deepEqual(await modern.write(chunkOf('t', [{ a: 5 }])), { status: 'ok' });
    const strict = make(`hosts https://${at}\nindex_name ${index}`).o;
    const res = await strict.write(chunkOf('t', [{ a: 3 }]));
    assert.equal(res.status, 'retry');
    assert.match(
      (res as { error: Error }).error.message,
      /ES_SERVER_UNAVAILABLE.*(self.signed|certificate)/i,
    );
    assert.equal((await hitsOf(os.url, index)).length, 3);
  });
});
