import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@opensearch-project/opensearch';
import { type OpenSearchServer, startOpenSearch } from './opensearch.ts';

// A real OpenSearch node (started once for this file) and the official client.

describe('stores: OpenSearch', () => {
  let os: OpenSearchServer;
  let client: Client;
  before(async () => {
    os = await startOpenSearch();
    client = new Client({ node: os.url });
  });
  after(async () => {
    await client?.close();
    await os?.stop();
  });

  it('indexes a document and finds it again, also through an ingest pipeline', async () => {
    const index = `smoke-${process.pid}-${Date.now()}`;
    await client.indices.create({
      index,
      body: { settings: { number_of_shards: 1, number_of_replicas: 0 } },
    });
    const doc = { '@timestamp': '2026-01-02T03:04:05.678Z', message: 'hello from sluice', level: 'info' };
    const put = await client.index({ index, id: 'doc-1', body: doc, refresh: true });
    assert.equal(put.body.result, 'created');
    const got = await client.get({ index, id: 'doc-1' });
    assert.deepEqual(got.body._source, doc);
    const found = await client.search({ index, body: { query: { match: { message: 'sluice' } } } });
    const hits = found.body.hits.hits;
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!._id, 'doc-1');
    // an ingest pipeline (ingest-common), as a log output may name one
    // (the raw request: the client's typings take a set processor's value for an object)
    await client.transport.request({
      method: 'PUT',
      path: `/_ingest/pipeline/${index}-pipeline`,
      body: {
        processors: [
          { set: { field: 'source', value: 'sluice' } },
          { grok: { field: 'message', patterns: ['%{WORD:first} %{GREEDYDATA:rest}'] } },
        ],
      },
    });
    await client.index({
      index,
      id: 'doc-2',
      body: { message: 'piped through' },
      pipeline: `${index}-pipeline`,
      refresh: true,
    });
    const piped = await client.get({ index, id: 'doc-2' });
    assert.deepEqual(piped.body._source, {
      message: 'piped through',
      source: 'sluice',
      first: 'piped',
      rest: 'through',
    });

    const info = await client.info();
    assert.match(String(info.body.version.number), /^2\.19\./);
  });
});
