// Kafka client comparison against a real local Kafka 4.1.1 (test/stores/kafka.ts): produce N
// messages of ~200 bytes in sends of B messages awaited one after the other (as the output
// delivers a chunk: acks all, idempotent where the client has it), then read them all back
// through a consumer group. Prints events/s and MB/s per client; never pass/fail.
// Usage: node --import tsx bench/kafka/clients.ts [N] [B]     (default 200000 1000)
// kafkajs is not a dependency of the project: KAFKAJS=/path/to/node_modules/kafkajs adds it
// (npm install kafkajs@2.2.4 in a scratch dir).
import { Admin, Consumer, MessagesStreamModes, Producer } from '@platformatic/kafka';
import { startKafka } from '../../packages/sluice/test/stores/index.ts';

const N = Number(process.argv[2] ?? 200_000);
const B = Number(process.argv[3] ?? 1000);
const values: Buffer[] = [];
for (let i = 0; i < B; i++)
  values.push(
    Buffer.from(
      JSON.stringify({
        host: `203.0.113.${i % 250}`,
        method: 'GET',
        path: `/api/v1/items/${i}?page=${i % 10}`,
        code: 200,
        size: 1000 + i,
        agent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
      }),
    ),
  );
const bytesPer = values.reduce((a, v) => a + v.length, 0) / B;

function report(client: string, what: string, ms: number): void {
  const rate = (N / ms) * 1000;
  console.log(
    `${client.padEnd(22)} ${what.padEnd(8)} ${Math.round(rate).toLocaleString('en').padStart(9)} events/s  ${((rate * bytesPer) / 1e6).toFixed(1).padStart(6)} MB/s  (${N} x ${Math.round(bytesPer)} B, ${(ms / 1000).toFixed(2)} s)`,
  );
}

async function createTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  await admin.close();
}

async function platformatic(brokers: string[]): Promise<void> {
  const topic = `bench-plt-${Date.now()}`;
  await createTopic(brokers, topic);
  const producer = new Producer({ clientId: 'bench', bootstrapBrokers: brokers, idempotent: true, acks: -1 });
  await producer.send({ messages: [{ topic, value: values[0]! }] }); // inits the producer id
  const t0 = performance.now();
  for (let sent = 0; sent < N; sent += B)
    await producer.send({ messages: values.map((value) => ({ topic, value })) });
  report('@platformatic/kafka', 'produce', performance.now() - t0);
  await producer.close();
  const consumer = new Consumer({
    clientId: 'bench-c',
    groupId: `bench-${topic}`,
    bootstrapBrokers: brokers,
  });
  const t1 = performance.now();
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
  });
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', () => {
      if (++got === N + 1) resolve();
    });
    stream.once('error', reject);
  });
  report('@platformatic/kafka', 'consume', performance.now() - t1);
  await stream.close();
  await consumer.close(true);
}

async function kafkajs(brokers: string[], dir: string): Promise<void> {
  const { Kafka, logLevel } = (await import(dir)) as any;
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench-kjs-${Date.now()}`;
  await createTopic(brokers, topic);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ value: values[0] }] });
  const t0 = performance.now();
  for (let sent = 0; sent < N; sent += B)
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  report('kafkajs', 'produce', performance.now() - t0);
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `bench-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const t1 = performance.now();
  let got = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }: { batch: { messages: unknown[] } }) => {
        got += batch.messages.length;
        if (got >= N + 1) resolve();
      },
    });
  });
  report('kafkajs', 'consume', performance.now() - t1);
  await consumer.disconnect();
}

const kafka = await startKafka();
try {
  console.log(`Kafka 4.1.1 at ${kafka.brokers.join(',')}`);
  await platformatic(kafka.brokers);
  if (process.env.KAFKAJS) await kafkajs(kafka.brokers, process.env.KAFKAJS);
} finally {
  await kafka.stop();
}
