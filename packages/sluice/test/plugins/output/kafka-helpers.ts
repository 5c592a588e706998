// Helpers for the tests of kafka2 and kafka_group against the real broker of
// test/stores/kafka.ts: topics, a reader that collects a topic's messages from the start,
// and a TCP relay the tests cut to take the broker away from a client and give it back.
import net from 'node:net';
import { Admin, Consumer, type Message, MessagesStreamModes, Producer } from '@platformatic/kafka';
import { parseConfigText } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import type { PluginDescriptor } from '../../../src/core/plugin.ts';
import { preloadPlugins } from '../../../src/engine/plugin-loader.ts';
import { type TestContext, testContext } from '../../../src/testing/context.ts';

let seq = 0;
export function topicName(what: string): string {
  return `t-${what}-${process.pid}-${++seq}`;
}

export async function createTopic(
  brokers: string[],
  topic: string,
  partitions = 1,
  configs: { name: string; value: string }[] = [],
): Promise<void> {
  const admin = new Admin({ clientId: 'sluice-test-admin', bootstrapBrokers: brokers });
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1, configs });
  } finally {
    await admin.close();
  }
}

export type Read = Message<Buffer, Buffer, Buffer, Buffer>;

/** Reads a topic from its start until `count` messages arrived (bounded), in arrival order. */
export async function readTopic(
  brokers: string[],
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<Read[]> {
  const consumer = new Consumer({
    clientId: 'sluice-test-reader',
    groupId: `reader-${topic}-${++seq}`,
    bootstrapBrokers: brokers,
  });
  const got: Read[] = [];
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    try {
      await new Promise<void>((res, rej) => {
        if (count === 0) return res();
        const t = setTimeout(
          () => rej(new Error(`read ${got.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        stream.on('data', (m: Read) => {
          got.push(m);
          if (got.length >= count) {
            clearTimeout(t);
            res();
          }
        });
        stream.once('error', (e: Error) => {
          clearTimeout(t);
          rej(e);
        });
      });
    } finally {
      await stream.close();
    }
  } finally {
    await consumer.close(true);
  }
  return got;
}

/** Produces values (strings) to a topic, for the input's tests. */
export async function produce(
  brokers: string[],
  messages: {
    topic: string;
    value: string | Buffer;
    key?: string;
    headers?: Record<string, string>;
    partition?: number;
    timestamp?: bigint;
  }[],
): Promise<void> {
  const producer = new Producer({ clientId: 'sluice-test-producer', bootstrapBrokers: brokers });
  try {
    await producer.send({
      messages: messages.map((m) => ({
        topic: m.topic,
        value: Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value),
        key: m.key === undefined ? undefined : Buffer.from(m.key),
        partition: m.partition,
        timestamp: m.timestamp,
        headers: m.headers
          ? new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]))
          : undefined,
      })),
    });
  } finally {
    await producer.close();
  }
}

/** Builds a plugin (created asynchronously) from a snippet, its nested plugins loaded first. */
export async function build<I>(
  d: PluginDescriptor<I>,
  snippet: string,
  ctx: TestContext = testContext({ type: d.type }),
): Promise<{ plugin: I; ctx: TestContext }> {
  const root = parseConfigText(snippet, { file: 'test.conf' });
  const el = root.elements[0]!;
  await preloadPlugins([el]);
  // <buffer> and <secondary> are the engine's (as it resolves them for buffered outputs)
  const schema = {
    ...d.schema,
    sections: {
      ...d.schema.sections,
      buffer: { description: 'buffer', plugin: 'buffer' as const },
      secondary: { description: 'secondary', plugin: 'output' as const },
    },
  };
  const plugin = await d.create(resolve(schema, el, `<${el.name}> @type ${d.type}`), ctx);
  return { plugin, ctx };
}

/**
 * A TCP relay in front of the broker. The broker advertises the relay's port, so every
 * connection of a client goes through it; `cut()` closes them all and stops listening
 * (connections are refused, as when the broker is down), `restore()` listens again.
 */
export class Relay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private target = 0;

  constructor(readonly port: number) {}

  /** Listens on `port`; connections go to the target set by setTarget. */
  async listen(): Promise<void> {
    const server = net.createServer((c) => {
      const s = net.connect(this.target, '127.0.0.1');
      this.sockets.add(c);
      this.sockets.add(s);
      c.pipe(s);
      s.pipe(c);
      const end = () => {
        c.destroy();
        s.destroy();
        this.sockets.delete(c);
        this.sockets.delete(s);
      };
      c.on('error', end).on('close', end);
      s.on('error', end).on('close', end);
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
  }

  setTarget(port: number): void {
    this.target = port;
  }

  /** The broker is gone for the clients: connections reset, new ones refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async restore(): Promise<void> {
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
