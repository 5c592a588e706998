import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../../src/core/batch.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, recordsOf, registerTestPlugins } from '../../helpers/capture.ts';
import { waitUntil } from '../../helpers/wait.ts';
import {
  FIREHOSE_LIMITS,
  type FirehoseFake,
  startFirehoseFake,
  THROTTLED,
} from '../../stores/firehose-fake.ts';

// out_kinesis_firehose in a running pipeline: the buffer retries a chunk whose records Firehose
// kept refusing past retries_on_batch_request, and the retry sends only what was not delivered;
// an oversized record reaches <label @ERROR> while the rest of its chunk is delivered.

describe('out_kinesis_firehose behind the buffer', () => {
  let fake: FirehoseFake;
  before(async () => {
    registerTestPlugins();
    fake = await startFirehoseFake({ streams: ['app-logs'] });
  });
  after(async () => {
    await fake?.close();
  });

  it('a chunk retried by the buffer sends only its undelivered records; the oversized one goes to @ERROR once', async () => {
    // record 3 is refused the first three times it is offered: twice in write 1, which then
    // fails (retries_on_batch_request 1), once more in write 2, whose retry delivers it
    fake.failRecords(({ data, attempt }) =>
      data.toString() === '{"i":3}\n' && attempt < 3 ? THROTTLED : undefined,
    );
    const engine = await Engine.fromText(
      `<match app.**>
  @type kinesis_firehose
  @id fh
  delivery_stream_name app-logs
  region ${fake.region}
  endpoint ${fake.endpoint}
  aws_key_id ${fake.credentials.accessKeyId}
  aws_sec_key ${fake.credentials.secretAccessKey}
  retries_on_batch_request 1
  batch_request_max_count 5
  <buffer>
    flush_mode immediate
    retry_wait 0.1
  </buffer>
</match>
<label @ERROR>
  <match **>
    @type test_capture
    name fh_errors
  </match>
</label>
`,
      { logger: pino({ level: 'silent' }) },
    );
    await engine.start();
    try {
      const records = Array.from({ length: 12 }, (_, i) => ({
        i,
        ...(i === 7 ? { big: 'x'.repeat(FIREHOSE_LIMITS.maxRecordBytes) } : {}),
      }));
      await engine.emit(
        EventBatch.fromEntries(
          'app.web',
          records.map((record) => ({ time: EventTime.now(), record })),
        ),
      );
      const plugin = engine.plugins.find((p) => p.id === 'fh');
      const m = plugin?.ctx.metrics as Record<string, number>;
      // the plugin's count, not the fake's: the fake stores a record before it answers
      await waitUntil(
        () => m.records_sent >= 11,
        () => `${m.records_sent} of 11 records delivered`,
        30_000,
      );
      const got = fake.records('app-logs').map((b) => (JSON.parse(b.toString()) as { i: number }).i);
      assert.deepEqual(
        [...got].sort((a, b) => a - b),
        [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11],
        'every record but the oversized one, once',
      );
      const puts = fake.requests.filter((r) => r.operation === 'PutRecordBatch').map((r) => r.records);
      // write 1: [0-4] with 3 refused, [3] refused again -> retry; write 2: [3, 5, 6, 8, 9] with 3
      // refused, [3] accepted, [10, 11]
      assert.deepEqual(puts, [5, 1, 5, 1, 2]);
      assert.deepEqual(
        recordsOf('fh_errors').map((r) => r.i),
        [7],
      );
      assert.equal(m.records_sent, 11);
      assert.equal(m.records_too_large, 1);
      assert.equal(plugin?.output?.buffer?.metrics().retryCount, 1, 'the buffer retried the chunk once');
    } finally {
      await engine.stop();
      captured.delete('fh_errors');
    }
  });
});
