// A Kafka 4.1.1 broker that a test can stop and start again on the same data and ports (the
// stores' startKafka() removes its data when it stops). Built from the stores' own pieces
// (test/stores/process.ts: the jars' classpath, the process harness, log waits); its data
// dir is removed by stop(). Used by kafka2-restart.test.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../helpers/ports.ts';
import { KAFKA_VERSION } from '../../stores/kafka.ts';
import {
  classpath,
  javaBin,
  type ServerProcess,
  STORES_SRC,
  serverDir,
  spawnServer,
  waitForLog,
  waitUntil,
} from '../../stores/process.ts';

export interface RestartableKafka {
  brokers: string[];
  /** with `sasl`: host:port of a SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-256) */
  saslBrokers: string[];
  /** with `tls`: host:port of an SSL listener serving that certificate */
  tlsBrokers: string[];
  /** SIGTERM (a clean broker shutdown), the data kept */
  stopBroker(): Promise<void>;
  /** the broker again, same data and ports; resolves once it serves */
  startBroker(): Promise<void>;
  stop(): Promise<void>;
}

const jvm = (heap: number, cp: string) => [
  `-Xms${heap}m`,
  `-Xmx${heap}m`,
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Djava.awt.headless=true',
  `-Dlog4j2.configurationFile=${join(STORES_SRC, 'jvm', 'kafka', 'log4j2.properties')}`,
  '-cp',
  cp,
];

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The users of the SASL listener: PLAIN and SCRAM-SHA-256 alike. */
export const SASL_USERS = { alice: 'alice-secret', bob: 'bob-secret' } as const;

export async function startRestartableKafka(
  opts: { sasl?: boolean; tls?: { cert: string; key: string } } = {},
): Promise<RestartableKafka> {
  const cp = classpath('kafka', `Kafka ${KAFKA_VERSION}`);
  const [port, controllerPort, saslPort, tlsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // PEM in a properties file: one line, newlines escaped (java.util.Properties reads \n)
  const pemProp = (file: string) => readFileSync(file, 'utf8').trim().replaceAll('\n', '\\n');
  const tlsProps: Record<string, string> = opts.tls
    ? {
        'listener.name.ssl.ssl.keystore.type': 'PEM',
        'listener.name.ssl.ssl.keystore.certificate.chain': pemProp(opts.tls.cert),
        'listener.name.ssl.ssl.keystore.key': pemProp(opts.tls.key),
      }
    : {};
  const extra = [
    ...(opts.sasl ? [`SASL_PLAINTEXT://127.0.0.1:${saslPort}`] : []),
    ...(opts.tls ? [`SSL://127.0.0.1:${tlsPort}`] : []),
  ]
    .map((l) => `,${l}`)
    .join('');
  const dir = serverDir('kafka-restartable');
  const sasl = opts.sasl === true;
  const users = Object.entries(SASL_USERS);
  const saslProps: Record<string, string> = sasl
    ? {
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required ${users.map(([u, pw]) => `user_${u}="${pw}"`).join(' ')};`,
        'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config':
          'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      }
    : {};
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${extra}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}${extra}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map':
      'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL',
    ...saslProps,
    ...tlsProps,
    'log.dirs': join(dir, 'data'),
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'background.threads': '2',
    'log.cleaner.enable': 'false',
  };
  const propsFile = join(dir, 'server.properties');
  writeFileSync(
    propsFile,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  let id = randomBytes(16).toString('base64url');
  while (id.startsWith('-')) id = randomBytes(16).toString('base64url');
  const format = spawnServer({
    name: 'kafka-format',
    command: javaBin(),
    args: [
      ...jvm(128, cp),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      id,
      '-c',
      propsFile,
      // SCRAM credentials live in the cluster metadata: written at format time
      ...(sasl
        ? users.flatMap(([u, pw]) => ['--add-scram', `SCRAM-SHA-256=[name=${u},password=${pw}]`])
        : []),
    ],
    dir,
    ownsDir: false,
  });
  const f = await format.exited;
  if (f.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw format.failure('kafka-storage format failed');
  }
  let broker: ServerProcess | undefined;
  let runs = 0;
  const startBroker = async () => {
    const name = `kafka-run${++runs}`;
    const b = spawnServer({
      name,
      command: javaBin(),
      args: [...jvm(256, cp), 'kafka.Kafka', propsFile],
      dir,
      ownsDir: false,
    });
    broker = b;
    try {
      await waitForLog(b, /Kafka Server started/, 120_000);
      await waitUntil(b, `the broker port ${port}`, () => portOpen(port), 60_000);
    } catch (e) {
      await b.stop(2_000);
      throw e;
    }
  };
  await startBroker();
  return {
    brokers: [`127.0.0.1:${port}`],
    saslBrokers: sasl ? [`127.0.0.1:${saslPort}`] : [],
    tlsBrokers: opts.tls ? [`127.0.0.1:${tlsPort}`] : [],
    startBroker,
    async stopBroker() {
      await broker?.stop(30_000);
      broker = undefined;
    },
    async stop() {
      await broker?.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
