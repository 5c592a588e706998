import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch, type EventRecord } from '../../../../src/core/batch.ts';
import { Engine } from '../../../../src/engine/engine.ts';
import { Dashboard } from '../../../../src/monitor/dashboard.ts';
import { engineMetrics } from '../../../../src/monitor/metrics.ts';
import es, { type ElasticsearchOutput } from '../../../../src/plugins/output/elasticsearch/index.ts';
import { instantiate, type TestContext } from '../../../../src/testing/context.ts';
import { captured, gates, recordsOf, registerTestPlugins } from '../../../helpers/capture.ts';
import { type OpenSearchServer, startOpenSearch } from '../../../stores/opensearch.ts';
import { BulkProxy, chunkOf, hitsOf, json } from './helpers.ts';

// Issue 23 points 2 and 3 against a real OpenSearch 2.19 node: the outcome of each document of
// a bulk request (stored, already there, retried alone, rejected to @ERROR with the reason),
// and ids that make a re-send land once. 429s and slow answers come from a real HTTP proxy in
// front of the node that speaks the bulk protocol (helpers.ts).

/** Resolves once `name`'s capture holds `n` records (the capture output's gate is the event). */
function captureReaches(name: string, n: number, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${name} got ${recordsOf(name).length} of ${n} records`)),
      ms,
    );
    const check = () => {
      if (recordsOf(name).length < n) return;
      clearTimeout(t);
      resolve();
    };
    gates.set(name, () => {
      // the batch is added once the gate's promise has resolved: check after that turn
      setImmediate(check);
    });
    check();
  });
}

describe('out_elasticsearch: per-document outcomes and ids, against OpenSearch', () => {
  let os: OpenSearchServer;
  let hostPort: string;
  const outs: ElasticsearchOutput[] = [];
  const proxies: BulkProxy[] = [];
  let n = 0;
  const uniq = (base: string) => `${base}-${process.pid}-${++n}`;
  const make = (body: string): { o: ElasticsearchOutput; ctx: TestContext } => {
    const { plugin, ctx } = instantiate(es, `<match **>\n@type opensearch\n${body}\n</match>\n`);
    outs.push(plugin);
    return { o: plugin, ctx };
  };
  const proxy = async () => {
    const p = new BulkProxy(os.url);
    proxies.push(p);
    return { p, at: await p.listen() };
  };
  /** an index whose `count` field is a long: a document with count "abc" is rejected (mapper_parsing_exception) */
  const strictIndex = async (name: string) => {
    const made = (await json(os.url, `/${name}`, 'PUT', {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: { properties: { count: { type: 'long' } } },
    })) as { acknowledged?: boolean };
    assert.equal(made.acknowledged, true, JSON.stringify(made));
  };

  before(async () => {
    os = await startOpenSearch();
    hostPort = new URL(os.url).host;
    registerTestPlugins();
  });
  after(async () => {
    for (const o of outs) await o.stop();
    for (const p of proxies) await p.close();
    await os?.stop();
  });

  it('a mapping conflict on some documents: every good one stored once, every bad one to <label @ERROR> with the reason; the chunk is not retried', async () => {
    const index = uniq('conflict');
    await strictIndex(index);
    const engine = await Engine.fromText(
      `<match app.**>
  @type opensearch
  @id es_out
  hosts ${hostPort}
  index_name ${index}
  <buffer>
    flush_mode immediate
  </buffer>
</match>
<label @ERROR>
  <match **>
    @type test_capture
    name es_errors
  </match>
</label>
`,
      { logger: pino({ level: 'silent' }) },
    );
    await engine.start();
    try {
      const records: EventRecord[] = Array.from({ length: 20 }, (_, i) => ({
        i,
        count: i % 5 === 2 ? `not a number ${i}` : i,
      }));
      const errorsIn = captureReaches('es_errors', 4);
      await engine.emit(
        EventBatch.fromEntries(
          'app.web',
          records.map((record) => ({ time: EventTime.now(), record })),
        ),
      );
      await errorsIn;
      const bad = recordsOf('es_errors');
      assert.deepEqual(
        bad.map((r) => r.i).sort((a, b) => Number(a) - Number(b)),
        [2, 7, 12, 17],
      );
      for (const r of bad) {
        const e = r.es_error as { status: number; type: string; reason: string; index: string };
        assert.equal(e.status, 400);
        assert.equal(e.type, 'mapper_parsing_exception');
        assert.match(e.reason, /failed to parse field \[count\] of type \[long\]/);
        assert.equal(e.index, index);
        assert.equal(r.count, `not a number ${r.i}`, 'the record as it was, plus the reason');
      }
      const hits = await hitsOf(os.url, index);
      assert.equal(hits.length, 16);
      assert.equal(new Set(hits.map((h) => h._source.i)).size, 16);
      const plugin = engine.plugins.find((p) => p.id === 'es_out');
      const m = (plugin?.ctx.metrics ?? {}) as Record<string, number>;
      assert.equal(m.documents_stored, 16);
      assert.equal(m.documents_rejected, 4);
      assert.equal(plugin?.output?.buffer?.metrics().retryCount, 0, 'the chunk was delivered at once');
      assert.equal(plugin?.output?.buffer?.metrics().writeRecords, 20);
      const text = await engineMetrics(engine, { processMetrics: false }).text();
      assert.match(
        text,
        /sluice_output_documents_total\{plugin_id="es_out",type="opensearch",outcome="stored"\} 16/,
      );
      assert.match(
        text,
        /sluice_output_documents_total\{plugin_id="es_out",type="opensearch",outcome="rejected"\} 4/,
      );
      const dashboard = new Dashboard(engine, { rate: 1, maxRecordChars: 100, perBatch: 1 });
      assert.deepEqual(dashboard.sample().outputs.es_out?.documents, {
        stored: 16,
        duplicate: 0,
        retried: 0,
        rejected: 4,
      });
      dashboard.close();
    } finally {
      await engine.stop();
      captured.delete('es_errors');
    }
  });

  it('without an @ERROR label a rejected document is logged with its reason and counted', async () => {
    const index = uniq('conflict-nolabel');
    await strictIndex(index);
    const { o, ctx } = make(`hosts ${hostPort}\nindex_name ${index}`);
    const res = await o.write(chunkOf('t', [{ count: 1 }, { count: 'x' }, { count: 3 }]));
    assert.deepEqual(res, { status: 'ok' });
    // the test context stands for the engine, which logs "dump an error event" with the error
    assert.equal(ctx.errors.length, 1);
    assert.match(
      ctx.errors[0]!.error.message,
      /^ES_DOCUMENT_REJECTED: 400 mapper_parsing_exception: failed to parse/,
    );
    assert.equal(ctx.metrics.documents_rejected, 1);
    assert.equal(ctx.metrics.documents_stored, 2);
  });

  it('429 on chosen documents (a proxy speaking the bulk protocol): only those are sent again, each lands once', async () => {
    const index = uniq('throttle');
    const { p, at } = await proxy();
    p.plan = () => ({ reject429: ({ doc, attempt }) => attempt === 1 && (doc as { n: number }).n % 3 === 0 });
    const { o, ctx } = make(`hosts ${at}\nindex_name ${index}`);
    const chunk = chunkOf(
      't',
      Array.from({ length: 10 }, (_, k) => ({ n: k })),
    );
    const first = await o.write(chunk);
    assert.equal(first.status, 'retry');
    assert.match(
      (first as { error: Error }).error.message,
      /^ES_DOCUMENTS_RETRY: 4 of 10 documents were refused for now \(429 es_rejected_execution_exception/,
    );
    assert.equal((await hitsOf(os.url, index)).length, 6);
    const second = await o.write(chunk);
    assert.deepEqual(second, { status: 'ok' });
    const bulks = p.bulks();
    assert.equal(bulks.length, 2);
    assert.equal(bulks[0]!.docs!.length, 10);
    assert.deepEqual(
      bulks[1]!.docs!.map((d) => (d.doc as { n: number }).n),
      [0, 3, 6, 9],
      'the retry carries the refused documents only',
    );
    const hits = await hitsOf(os.url, index);
    assert.equal(hits.length, 10);
    assert.deepEqual(
      hits.map((h) => h._id).sort(),
      Array.from({ length: 10 }, (_, k) => `${chunk.id}-${k}`).sort(),
    );
    assert.equal(ctx.metrics.documents_retried, 4);
    assert.equal(ctx.metrics.documents_stored, 10);
  });

  it('through the buffer: a 429 is retried after retry_wait with the refused documents only', async () => {
    const index = uniq('throttle-buffer');
    const { p, at } = await proxy();
    p.plan = () => ({ reject429: ({ doc, attempt }) => attempt <= 2 && (doc as { n: number }).n === 1 });
    const engine = await Engine.fromText(
      `<match app.**>
  @type elasticsearch
  hosts ${at}
  index_name ${index}
  <buffer>
    flush_mode immediate
    retry_wait 0.2s
    retry_randomize false
  </buffer>
</match>
`,
      { logger: pino({ level: 'silent' }) },
    );
    await engine.start();
    let stopped = false;
    try {
      const thirdBulk = new Promise<void>((resolve) => {
        const plan = p.plan;
        p.plan = (r) => {
          if (p.bulks().length === 3) queueMicrotask(resolve);
          return plan(r);
        };
      });
      await engine.emit(
        EventBatch.fromEntries(
          'app.x',
          [0, 1, 2].map((k) => ({ time: EventTime.now(), record: { n: k } })),
        ),
      );
      await thirdBulk;
      // stopping waits for the write in flight (the third request) to settle
      await engine.stop();
      stopped = true;
      const sizes = p.bulks().map((b) => b.docs!.length);
      assert.deepEqual(sizes, [3, 1, 1]);
      const hits = await hitsOf(os.url, index);
      assert.deepEqual(hits.map((h) => h._source.n).sort(), [0, 1, 2]);
    } finally {
      if (!stopped) await engine.stop();
    }
  });

  it('a request that timed out (the node stored it, the answer came too late) is sent again without duplicating', async () => {
    const index = uniq('timeout');
    const { p, at } = await proxy();
    p.plan = () => (p.bulks().length === 1 ? { delayMs: 2500 } : {});
    const { o, ctx } = make(`hosts ${at}\nindex_name ${index}\nrequest_timeout 1s`);
    const chunk = chunkOf(
      't',
      Array.from({ length: 5 }, (_, k) => ({ k })),
    );
    const first = await o.write(chunk);
    assert.equal(first.status, 'retry');
    assert.match((first as { error: Error }).error.message, /ES_BULK_FAILED: .*(timeout|Timeout)/);
    assert.equal((await hitsOf(os.url, index)).length, 5, 'the node stored them all');
    assert.deepEqual(await o.write(chunk), { status: 'ok' });
    assert.equal(ctx.metrics.documents_duplicate, 5, 'create answered 409: already stored');
    assert.equal((await hitsOf(os.url, index)).length, 5);
  });

  it('ids: a file-buffer chunk replayed after a crash (same id, same bytes, a new process) lands once; id_policy hash and explicit index do not duplicate either', async () => {
    const index = uniq('replay');
    const chunk = chunkOf(
      't',
      Array.from({ length: 4 }, (_, k) => ({ k, same: 'line' })),
    );
    const before = make(`hosts ${hostPort}\nindex_name ${index}`).o;
    assert.deepEqual(await before.write(chunk), { status: 'ok' });
    const { o: after, ctx } = make(`hosts ${hostPort}\nindex_name ${index}`);
    assert.deepEqual(await after.write({ ...chunk }), { status: 'ok' });
    assert.equal(ctx.metrics.documents_duplicate, 4);
    assert.equal((await hitsOf(os.url, index)).length, 4);

    const hashed = uniq('hash');
    const h1 = make(`hosts ${hostPort}\nindex_name ${hashed}\nid_policy hash\nwrite_operation index`).o;
    assert.deepEqual(await h1.write(chunk), { status: 'ok' });
    // the same events in another chunk (a source that sent them twice): same ids
    assert.deepEqual(
      await h1.write(
        chunkOf(
          't',
          Array.from({ length: 4 }, (_, k) => ({ k, same: 'line' })),
        ),
      ),
      {
        status: 'ok',
      },
    );
    const hashHits = await hitsOf(os.url, hashed);
    assert.equal(hashHits.length, 4);
    assert.ok(hashHits.every((h) => /^[A-Za-z0-9_-]{27}$/.test(h._id)));

    const none = uniq('none');
    const n1 = make(`hosts ${hostPort}\nindex_name ${none}\nid_policy none`).o;
    assert.deepEqual(await n1.write(chunk), { status: 'ok' });
    assert.deepEqual(await n1.write(chunk), { status: 'ok' });
    assert.equal(
      (await hitsOf(os.url, none)).length,
      8,
      'id_policy none: the server makes ids, a re-send duplicates',
    );
  });

  it('a request refused whole with 400 is sent again a document at a time: the bad one is rejected alone', async () => {
    const index = uniq('split');
    const { p, at } = await proxy();
    p.plan = (r) => {
      const docs = r.docs ?? [];
      if (docs.length > 1) return { status: 400 };
      if (docs.length === 1 && (docs[0]!.doc as { bad?: boolean }).bad) return { status: 400 };
      return {};
    };
    const { o, ctx } = make(`hosts ${at}\nindex_name ${index}`);
    const res = await o.write(chunkOf('t', [{ a: 1 }, { a: 2, bad: true }, { a: 3 }]));
    assert.deepEqual(res, { status: 'ok' });
    assert.equal(ctx.errors.length, 1);
    assert.equal(ctx.errors[0]!.record.a, 2);
    assert.equal((ctx.errors[0]!.record.es_error as { status: number }).status, 400);
    assert.deepEqual((await hitsOf(os.url, index)).map((h) => h._source.a).sort(), [1, 3]);
  });
});
