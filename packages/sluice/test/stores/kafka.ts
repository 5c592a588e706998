// A one-node Apache Kafka 4.x in KRaft combined mode (broker and controller in one JVM) for
// tests and benchmarks, from the jars of jvm/kafka/pom.xml (installed by
// scripts/test-deps.d/50-stores.sh). The data dir is formatted with kafka.tools.StorageTool,
// then kafka.Kafka runs. SLUICE_TEST_KAFKA_BROKERS (host:port[,host:port]) points the tests
// at a cluster of your own instead (nothing is started then, and stop() leaves it alone).

import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.ts';
import {
  classpath,
  javaBin,
  type ServerProcess,
  STORES_SRC,
  serverDir,
  spawnServer,
  startOrStop,
  waitForLog,
  waitUntil,
} from './process.ts';

export const KAFKA_VERSION = '4.1.1';

export interface KafkaServer {
  /** host:port of the PLAINTEXT listener, as clients take them */
  brokers: string[];
  /** false when SLUICE_TEST_KAFKA_BROKERS named a cluster started elsewhere */
  started: boolean;
  /** ms from the start of the format to a broker accepting connections (0 for an external one) */
  startMs: number;
  /** VmHWM of the broker's JVM so far, KiB (undefined for an external one) */
  peakRssKiB(): number | undefined;
  stop(): Promise<void>;
}

export interface KafkaOptions {
  /** JVM heap in MiB (default 256) */
  heapMb?: number;
  /** bound on the whole start, ms (default 120 s) */
  timeoutMs?: number;
  /** extra server.properties lines, e.g. { 'message.max.bytes': '2000000' } */
  properties?: Record<string, string>;
}

/** A cluster id as `kafka-storage random-uuid` prints it: 16 random bytes, base64url, never starting with '-'. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function jvmArgs(heap: number, cp: string): string[] {
  return [
    `-Xms${heap}m`,
    `-Xmx${heap}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(STORES_SRC, 'jvm', 'kafka', 'log4j2.properties')}`,
    '-cp',
    cp,
  ];
}

async function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(2_000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startKafka(opts: KafkaOptions = {}): Promise<KafkaServer> {
  const external = process.env.SLUICE_TEST_KAFKA_BROKERS;
  if (external) {
    const brokers = external
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    return { brokers, started: false, startMs: 0, peakRssKiB: () => undefined, stop: async () => {} };
  }
  const cp = classpath('kafka', `Kafka ${KAFKA_VERSION}`);
  // The listeners need fixed ports (the controller's is in the voters list), picked free
  // just before; if another process takes one in between, the broker fails to bind and the
  // start is tried once more with new ports.
  try {
    return await startKafkaOnce(cp, opts);
  } catch (err) {
    if (!/Address already in use/.test((err as Error).message)) throw err;
    return startKafkaOnce(cp, opts);
  }
}

async function startKafkaOnce(cp: string, opts: KafkaOptions): Promise<KafkaServer> {
  const since = performance.now();
  const heap = opts.heapMb ?? 256;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = serverDir('kafka');
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'num.partitions': '1',
    'default.replication.factor': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'background.threads': '2',
    'log.cleaner.enable': 'false',
    ...opts.properties,
  };
  const propsFile = join(dir, 'server.properties');
  writeFileSync(
    propsFile,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );

  // Format first (a short JVM run of its own); its output goes to the same log.
  const format: ServerProcess = spawnServer({
    name: 'kafka-format',
    command: javaBin(),
    args: [...jvmArgs(128, cp), 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', propsFile],
    dir,
    ownsDir: false,
  });
  let timer: NodeJS.Timeout | undefined;
  const formatted = await Promise.race([
    format.exited,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), Math.max(1_000, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
  if (formatted?.code !== 0) {
    const err = format.failure(
      formatted ? 'kafka-storage format failed' : 'kafka-storage format did not finish in time',
    );
    await format.stop(1_000);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const server = spawnServer({
    name: 'kafka',
    command: javaBin(),
    args: [...jvmArgs(heap, cp), 'kafka.Kafka', propsFile],
    dir,
    since, // the start counts the format
  });
  return startOrStop(server, async () => {
    await waitForLog(server, /Kafka Server started/, Math.max(1_000, deadline - Date.now()));
    await waitUntil(
      server,
      `the broker port ${port}`,
      () => tcpOpen(port),
      Math.max(1_000, deadline - Date.now()),
    );
    return {
      brokers: [`127.0.0.1:${port}`],
      started: true,
      get startMs() {
        return server.startMs;
      },
      peakRssKiB: () => server.peakRssKiB(),
      stop: () => server.stop(),
    };
  });
}
