import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Admin,
  Consumer,
  type Message,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { type KafkaServer, startKafka } from './kafka.ts';

// A real Kafka 4 broker (KRaft, started once for this file) and @platformatic/kafka, a pure
// JavaScript client that speaks the protocol versions Kafka 4 kept (KIP-896 removed the old
// ones).

describe('stores: Kafka', () => {
  let kafka: KafkaServer;
  before(async () => {
    kafka = await startKafka();
  });
  after(async () => {
    await kafka?.stop();
  });

  it('produces a message and consumes it again', async () => {
    const topic = `smoke-${process.pid}-${Date.now()}`;
    const admin = new Admin({ clientId: 'sluice-test-admin', bootstrapBrokers: kafka.brokers });
    const producer = new Producer({
      clientId: 'sluice-test-producer',
      bootstrapBrokers: kafka.brokers,
      serializers: stringSerializers,
    });
    const consumer = new Consumer({
      clientId: 'sluice-test-consumer',
      groupId: `sluice-test-${process.pid}`,
      bootstrapBrokers: kafka.brokers,
      deserializers: stringDeserializers,
    });
    try {
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const sent = await producer.send({
        messages: [
          { topic, key: 'host-1', value: '{"message":"hello from sluice"}', headers: { source: 'smoke' } },
        ],
      });
      assert.equal(sent.offsets?.[0]?.offset, 0n);

      const stream = await consumer.consume({
        topics: [topic],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: false,
      });
      const got = await new Promise<Message<string, string, string, string>>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no message consumed within 30 s')), 30_000);
        stream.once('data', (m: Message<string, string, string, string>) => {
          clearTimeout(t);
          resolve(m);
        });
        stream.once('error', (e: Error) => {
          clearTimeout(t);
          reject(e);
        });
      });
      await stream.close();
      assert.equal(got.topic, topic);
      assert.equal(got.key, 'host-1');
      assert.equal(got.value, '{"message":"hello from sluice"}');
      assert.equal(got.headers.get('source'), 'smoke');
      assert.equal(got.offset, 0n);
    } finally {
      await Promise.allSettled([consumer.close(true), producer.close(), admin.close()]);
    }
  });
});
