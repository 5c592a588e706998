import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WriteResult } from '../../../src/core/plugin.ts';
import kafka2, { type Kafka2Output } from '../../../src/plugins/output/kafka2/index.ts';
import { chunkOf } from './http-helpers.ts';
import { build, createTopic, readTopic, topicName } from './kafka-helpers.ts';
import { type RestartableKafka, startRestartableKafka } from './kafka-restartable.ts';

// out_kafka2 while the broker process itself is stopped (SIGTERM) and started again on the
// same data, under load: every record delivered once the broker is back, none lost, and
// (the idempotent producer's state survives a broker restart) none written twice.

describe('out_kafka2: broker stopped and restarted under load', () => {
  let kafka: RestartableKafka;
  let out: Kafka2Output | undefined;
  before(async () => {
    kafka = await startRestartableKafka();
  });
  after(async () => {
    await out?.stop().catch(() => {});
    await kafka?.stop();
  });

  it('nothing lost, duplicates counted', { timeout: 300_000 }, async (t) => {
    const topic = topicName('restart');
    await createTopic(kafka.brokers, topic, 2);
    const r = await build(
      kafka2,
      `<match **>\n@type kafka2\nbrokers ${kafka.brokers.join(',')}\ndefault_topic ${topic}\nmax_send_retries 1\nack_timeout 2s\nconnect_timeout 1\nmax_batch_bytes 20k\n</match>\n`,
    );
    out = r.plugin;
    // the buffer engine's part: write, and write again on retry, chunk after chunk, until
    // 10 chunks went through after the broker is back
    const chunk = (c: number) =>
      chunkOf(
        't',
        Array.from({ length: 200 }, (_, i) => ({ c, i, pad: 'p'.repeat(50) })),
      );
    let retries = 0;
    let longest = 0;
    let written = 0;
    let restarted = false;
    let afterRestart = 0;
    let stopAt!: () => void;
    const tenDone = new Promise<void>((res) => {
      stopAt = res;
    });
    const writer = (async () => {
      while (!restarted || afterRestart < 10) {
        const c = chunk(written);
        for (;;) {
          const t0 = performance.now();
          const w: WriteResult = await r.plugin.write(c);
          longest = Math.max(longest, performance.now() - t0);
          if (w.status === 'ok') break;
          assert.equal(w.status, 'retry', JSON.stringify(w));
          retries++;
        }
        written++;
        if (restarted) afterRestart++;
        if (written === 10) stopAt();
      }
    })();
    await tenDone;
    const down = performance.now();
    await kafka.stopBroker();
    await kafka.startBroker();
    const outageMs = performance.now() - down;
    restarted = true;
    await writer;
    const CHUNKS = written;
    const got = await readTopic(kafka.brokers, topic, CHUNKS * 200, 120_000);
    const seen = new Map<string, number>();
    for (const m of got) {
      const v = JSON.parse(m.value.toString()) as { c: number; i: number };
      const k = `${v.c}:${v.i}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    const dups = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    t.diagnostic(
      `records: ${CHUNKS * 200}, distinct in the topic: ${seen.size}, duplicates: ${dups}, write() retries: ${retries}, longest write() ${Math.round(longest)} ms, broker away ${Math.round(outageMs)} ms`,
    );
    assert.equal(seen.size, CHUNKS * 200, 'every record delivered');
    // the output either answered retry during the outage or one write() waited through it
    assert.ok(retries >= 1 || longest > 1000, 'the restart was seen by the output');
  });
});
