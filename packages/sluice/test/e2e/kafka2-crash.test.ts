// Acceptance (issue 24): forward (acknowledged) -> kafka2 with a file buffer, Sluice
// SIGKILLed again and again under load; every event the generator got an ack for must be
// in the topic (read back with a Kafka client). Duplicates are counted and reported: a chunk
// whose produce request was answered but not yet marked delivered when the process died is
// sent again by the next process, under a new producer id, which the broker cannot match.
// With exactly_once (a transaction per chunk recording its id) there must be none.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Consumer, MessagesStreamModes } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { tempDir } from '../buffer/helpers.ts';
import { freePort } from '../helpers/ports.ts';
import type { SluiceProcess } from '../helpers/sluice-process.ts';
import { createTopic, topicName } from '../plugins/output/kafka-helpers.ts';
import { type KafkaServer, startKafka } from '../stores/kafka.ts';
import { ackedAcrossKills } from './crash-rounds.ts';

const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 20);

/**
 * Reads the topic from its start with kafkajs (isolation read_committed): an independent
 * client whose filter of aborted transactions follows the protocol, where @platformatic/kafka
 * 1.35's lets through all but the last aborted transaction of a producer id in one fetch.
 */
async function readIdsKafkajs(brokers: string[], topic: string, ids: Set<number>, timeoutMs: number) {
  const seen = new Map<number, number>();
  const kafka = new kafkajs.Kafka({
    clientId: 'crash-reader-kafkajs',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `crash-kafkajs-${topic}`, readUncommitted: false });
  const missing = () => [...ids].filter((i) => !seen.has(i));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const id = (JSON.parse(String(message.value)) as { id: number }).id;
          seen.set(id, (seen.get(id) ?? 0) + 1);
          if (seen.size >= ids.size && missing().length === 0) {
            clearTimeout(t);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return { seen, missing: missing() };
}

/** Reads the topic from its start until every id in `ids` was seen (bounded); counts each id. */
async function readIds(brokers: string[], topic: string, ids: Set<number>, timeoutMs: number) {
  const seen = new Map<number, number>();
  const consumer = new Consumer({
    clientId: 'crash-reader',
    groupId: `crash-${topic}`,
    bootstrapBrokers: brokers,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
  });
  const missing = () => [...ids].filter((i) => !seen.has(i));
  try {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      stream.on('data', (m: { value: Buffer }) => {
        const id = (JSON.parse(m.value.toString()) as { id: number }).id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        if (seen.size >= ids.size && missing().length === 0) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  } finally {
    await stream.close();
    await consumer.close(true);
  }
  return { seen, missing: missing() };
}

describe('kafka2 with a file buffer survives SIGKILL (e2e)', () => {
  let kafka: KafkaServer;
  before(async () => {
    kafka = await startKafka();
  });
  after(async () => {
    await kafka?.stop();
  });

  it(`every acknowledged event is in the topic across ${KILLS} kills`, { timeout: 900_000 }, async (t) => {
    await crashRun(t, '');
  });

  it(`exactly_once: every acknowledged event is in the topic once across ${KILLS} kills`, {
    timeout: 900_000,
  }, async (t) => {
    const { dups } = await crashRun(t, '  exactly_once true\n');
    assert.equal(dups, 0, 'events written twice with exactly_once');
  });

  async function crashRun(t: TestContext, extra: string): Promise<{ dups: number }> {
    const transactional = extra.includes('exactly_once');
    const { dir, cleanup } = await tempDir();
    const topic = topicName('crash');
    await createTopic(kafka.brokers, topic, 2);
    const fwdPort = await freePort();
    const conf = join(dir, 'sluice.conf');
    await writeFile(
      conf,
      `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${fwdPort}\n</source>\n` +
        `<match crash.**>\n  @type kafka2\n  brokers ${kafka.brokers.join(',')}\n  default_topic ${topic}\n${extra}  <buffer>\n    @type file\n    path ${join(dir, 'buffer')}\n` +
        '    flush_mode interval\n    flush_interval 0.1\n    chunk_limit_records 200\n    flush_thread_count 2\n    retry_forever true\n    retry_wait 0.1\n    retry_max_interval 0.5\n  </buffer>\n</match>\n',
    );
    let proc: SluiceProcess | undefined;
    try {
      const run = await ackedAcrossKills(conf, fwdPort, KILLS);
      proc = run.last;
      const acked = run.acked;
      const count = (seen: Map<number, number>) => [...seen.values()].reduce((n, c) => n + (c - 1), 0);
      const { seen, missing } = transactional
        ? await readIdsKafkajs(kafka.brokers, topic, acked, 120_000)
        : await readIds(kafka.brokers, topic, acked, 120_000);
      const dups = count(seen);
      t.diagnostic(
        `kills: ${KILLS}, acked events: ${acked.size}, in the topic: ${seen.size} distinct, duplicates: ${dups}, missing: ${missing.length}${transactional ? ' (read by kafkajs, read_committed)' : ''}`,
      );
      if (transactional) {
        const p = await readIds(kafka.brokers, topic, acked, 120_000);
        t.diagnostic(
          `the same topic read by @platformatic/kafka (read_committed): ${count(p.seen)} duplicates, ${p.missing.length} missing`,
        );
      }
      assert.equal(
        missing.length,
        0,
        `acknowledged events not in the topic: ${missing.slice(0, 20).join(',')}`,
      );
      return { dups };
    } finally {
      await proc?.stop(10_000);
      await cleanup();
    }
  }
});
