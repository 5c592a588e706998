import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../../src/core/batch.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, gates, recordsOf, registerTestPlugins, tagsOf } from '../../helpers/capture.ts';
import { freePort } from '../../helpers/ports.ts';
import { waitUntil } from '../../helpers/wait.ts';

// Sluice to Sluice over the Firehose API: kinesis_firehose puts records to Sluice's own
// `firehose` input, which verifies their SigV4 signatures against its <security> keys. When the
// receiving pipeline refuses a batch, the input answers those records failed, and the output
// sends them again until they are taken: every event arrives once.

describe('kinesis_firehose -> firehose input (Sluice to Sluice)', () => {
  before(registerTestPlugins);
  after(() => {
    captured.delete('relayed');
    gates.delete('relayed');
  });

  it('signed calls are taken; records the receiver refused are sent again alone; every event once', async () => {
    const port = await freePort();
    // the receiving side refuses its first two batches
    let refusals = 2;
    gates.set('relayed', () => {
      if (refusals > 0) {
        refusals--;
        throw new Error('buffer full (test)');
      }
    });
    const engine = await Engine.fromText(
      `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams relay
  tag_prefix fh
  <security>
    <access_key>
      access_key_id AKIDSLUICETEST
      secret_access_key relay-secret
    </access_key>
  </security>
</source>
<match fh.**>
  @type test_capture
  name relayed
</match>
<match app.**>
  @type kinesis_firehose
  @id fh_out
  delivery_stream_name relay
  region us-east-1
  endpoint http://127.0.0.1:${port}
  aws_key_id AKIDSLUICETEST
  aws_sec_key relay-secret
  batch_request_max_count 20
  <buffer>
    flush_mode immediate
  </buffer>
</match>
`,
      { logger: pino({ level: 'silent' }) },
    );
    await engine.start();
    try {
      const records = Array.from({ length: 50 }, (_, i) => ({ i, message: `event ${i}`, ok: true }));
      await engine.emit(
        EventBatch.fromEntries(
          'app.web',
          records.map((record) => ({ time: EventTime.now(), record })),
        ),
      );
      const m = engine.plugins.find((p) => p.id === 'fh_out')?.ctx.metrics as Record<string, number>;
      await waitUntil(
        () => m.records_sent >= 50,
        () => `${m.records_sent} of 50 sent`,
        30_000,
      );
      await waitUntil(
        () => recordsOf('relayed').length >= 50,
        () => `${recordsOf('relayed').length} of 50 relayed`,
        30_000,
      );
      const got = recordsOf('relayed');
      assert.deepEqual(
        got.map((r) => r.i).sort((a, b) => Number(a) - Number(b)),
        records.map((r) => r.i),
        'every event once',
      );
      assert.deepEqual(
        got.find((r) => r.i === 3),
        { i: 3, message: 'event 3', ok: true },
      );
      assert.ok(
        tagsOf('relayed').every((t) => t === 'fh.relay'),
        'tagged by the receiving stream',
      );
      assert.ok(m.records_retried > 0, 'the refused records were sent again');
      assert.equal(m.records_sent, 50);
    } finally {
      await engine.stop();
    }
  });

  it('a wrong secret: the receiver refuses the signature and the write fails with its error', async () => {
    const port = await freePort();
    const engine = await Engine.fromText(
      `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams relay
  <security>
    <access_key>
      access_key_id AKIDSLUICETEST
      secret_access_key relay-secret
    </access_key>
  </security>
</source>
<match app.**>
  @type kinesis_firehose
  @id fh_bad
  delivery_stream_name relay
  region us-east-1
  endpoint http://127.0.0.1:${port}
  aws_key_id AKIDSLUICETEST
  aws_sec_key not-the-secret
  <buffer>
    flush_mode immediate
    retry_wait 30s
  </buffer>
</match>
`,
      { logger: pino({ level: 'silent' }) },
    );
    await engine.start();
    try {
      await engine.emit(EventBatch.fromEntries('app.web', [{ time: EventTime.now(), record: { i: 1 } }]));
      const plugin = engine.plugins.find((p) => p.id === 'fh_bad');
      const m = plugin?.ctx.metrics as Record<string, number>;
      const buffer = plugin?.output?.buffer;
      await waitUntil(
        () => (buffer?.metrics().retryCount ?? 0) >= 1,
        () => `${buffer?.metrics().retryCount} retries`,
        30_000,
      );
      assert.equal(m.batch_request_failures, 1);
      assert.equal(m.records_sent, 0);
      assert.match(
        String(buffer?.metrics().lastError),
        /^FIREHOSE_REQUEST_FAILED: PutRecordBatch to 'relay' \(chunk [0-9a-f]+, 1 records\) failed: \w+: .*signature/i,
      );
    } finally {
      await engine.stop();
    }
  });
});
