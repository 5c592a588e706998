// Sluice with a local Kafka 4.1.1 (test/stores/kafka.ts): forward -> kafka2 (events/s until
// every event is in the topic) and kafka_group -> null (events/s until the group's committed
// offsets reach the end of the topic, reading what the first case wrote). Prints events/s,
// MB/s (forward wire bytes), Sluice's CPU per event and peak RSS; never pass/fail.
// Usage: node --import tsx bench/kafka/pipeline.ts [--events N] [--partitions P] [--rounds R]
//   [--chunk 4m] [--total 64m] [--exactly-once] [forward_to_kafka] [kafka_to_null]
// Environment: SLUICE_BIN (another sluice entry point); FLUENT_BIT_BIN (a Fluent Bit built
// with its kafka output, FLB_OUT_KAFKA) adds the same forward -> kafka case through Fluent
// Bit (in_forward -> out_kafka, acks all, idempotent) into a topic of its own, after each
// Sluice round (--rounds R: R turns each, alternating, in one sitting).

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Consumer } from '@platformatic/kafka';
import { freePort, waitForPort } from '../../packages/sluice/test/helpers/ports.ts';
import { startKafka } from '../../packages/sluice/test/stores/index.ts';
import { takeOption } from '../lib/args.ts';
import { type Child, helper, poll, report, sluice, treeCpuSeconds, treePeakRss } from '../vth/lib.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => takeOption(argv, name);
const EVENTS = Number(opt('--events') ?? 300_000);
const PARTITIONS = Number(opt('--partitions') ?? 4);
const ROUNDS = Number(opt('--rounds') ?? 1);
// kafka2's memory buffer: what it may hold bounds Sluice's memory when Kafka is the slower side
const CHUNK = opt('--chunk') ?? '4m';
const TOTAL = opt('--total') ?? '64m';
const EXACTLY_ONCE = argv.includes('--exactly-once');
if (EXACTLY_ONCE) argv.splice(argv.indexOf('--exactly-once'), 1);
const cases = argv.length ? argv : ['forward_to_kafka', 'kafka_to_null'];

const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-bench-'));
const kafka = await startKafka({ heapMb: 512 });
const brokers = kafka.brokers;
let topic = `bench-${Date.now()}`;
let wireBytes = 0;

async function endOffsets(): Promise<bigint> {
  const c = new Consumer({ clientId: 'bench-offsets', groupId: 'bench-offsets', bootstrapBrokers: brokers });
  try {
    const o = await c.listOffsets({ topics: [topic] });
    return (o.get(topic) ?? []).reduce((a, b) => a + b, 0n);
  } finally {
    await c.close(true);
  }
}

async function committed(group: string): Promise<bigint> {
  const c = new Consumer({ clientId: 'bench-committed', groupId: group, bootstrapBrokers: brokers });
  try {
    const partitions = Array.from({ length: PARTITIONS }, (_, i) => i);
    const o = await c.listCommittedOffsets({ topics: [{ topic, partitions }] });
    return (o.get(topic) ?? []).reduce((a, b) => a + (b > 0n ? b : 0n), 0n);
  } finally {
    await c.close(true);
  }
}

async function startSluice(name: string, conf: string): Promise<Child> {
  const file = join(dir, `${name}.conf`);
  await writeFile(file, conf);
  // SLUICE_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the Sluice process
  const nodeArgs = process.env.SLUICE_NODE_ARGS?.split(' ').filter(Boolean);
  const s = sluice(['-c', file, '-v'], { nodeArgs });
  await s.waitStderr(/sluice started/);
  return s;
}

async function forwardToKafka(): Promise<void> {
  const port = await freePort();
  const s = await startSluice(
    'forward_to_kafka',
    `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n</source>\n<match **>\n  @type kafka2\n  brokers ${brokers.join(',')}\n  default_topic ${topic}\n${EXACTLY_ONCE ? '  exactly_once true\n' : ''}  <buffer>\n    @type memory\n    chunk_limit_size ${CHUNK}\n    total_limit_size ${TOTAL}\n    overflow_action block\n    flush_mode interval\n    flush_interval 0.05\n    flush_thread_count 2\n  </buffer>\n</match>\n`,
  );
  const gen = helper('gen-forward.ts', [String(port), String(EVENTS), '1000', '2', '8']);
  try {
    await gen.ready;
    const pid = s.proc.pid!;
    const cpu0 = treeCpuSeconds(pid);
    const g0 = (await gen.request<{ cpuS: number }>('stats')).cpuS;
    const t0 = performance.now();
    gen.proc.send('start');
    await poll(
      async () => (await endOffsets()) >= BigInt(EVENTS),
      `${EVENTS} events in ${topic}`,
      600_000,
      100,
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = treeCpuSeconds(pid) - cpu0;
    const gs = await gen.request<{ cpuS: number; bytes: number }>('stats');
    wireBytes = gs.bytes;
    report({
      name: `forward_to_kafka (forward -> kafka2, memory buffer, acks all, idempotent${EXACTLY_ONCE ? ', exactly_once' : ''})`,
      events: EVENTS,
      bytes: gs.bytes,
      seconds,
      sluiceCpuS: cpu,
      peakRssMiB: treePeakRss(pid).max,
      harnessCpuS: gs.cpuS - g0,
      extra: `${((cpu / EVENTS) * 1e6).toFixed(2)} µs CPU per event; ${PARTITIONS} partitions; done when the topic's end offsets reach ${EVENTS}`,
    });
  } finally {
    await gen.kill();
    await s.kill();
  }
}

/** The same load into Fluent Bit's in_forward -> out_kafka (librdkafka), counted in the topic. */
async function fluentBitToKafka(bin: string): Promise<void> {
  const port = await freePort();
  const file = join(dir, 'fluent-bit.conf');
  await writeFile(
    file,
    `[SERVICE]\n    Flush 0.05\n    Log_Level warn\n\n[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port ${port}\n\n` +
      `[OUTPUT]\n    Name kafka\n    Match *\n    Brokers ${brokers.join(',')}\n    Topics ${topic}\n    Format json\n` +
      '    rdkafka.request.required.acks -1\n    rdkafka.enable.idempotence true\n',
  );
  const proc = spawn(bin, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const alive = () => {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`fluent-bit exited (${proc.exitCode ?? proc.signalCode}): ${err}`);
  };
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  try {
    // listening, or the reason it is not
    await Promise.race([waitForPort(port, 30_000), exited.then(alive)]);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  const gen = helper('gen-forward.ts', [String(port), String(EVENTS), '1000', '2', '8']);
  try {
    await gen.ready;
    const pid = proc.pid!;
    const cpu0 = treeCpuSeconds(pid);
    const t0 = performance.now();
    gen.proc.send('start');
    await poll(
      async () => (await endOffsets()) >= BigInt(EVENTS),
      `${EVENTS} events in ${topic}`,
      600_000,
      100,
    );
    const seconds = (performance.now() - t0) / 1000;
    const gs = await gen.request<{ cpuS: number; bytes: number }>('stats');
    const cpu = treeCpuSeconds(pid) - cpu0;
    report({
      name: 'fluent-bit forward -> kafka (librdkafka, acks all, idempotent)',
      events: EVENTS,
      bytes: gs.bytes,
      seconds,
      sluiceCpuS: cpu,
      peakRssMiB: treePeakRss(pid).max,
      harnessCpuS: 0,
      extra: `${((cpu / EVENTS) * 1e6).toFixed(2)} µs CPU per event (the "sluice CPU" above is Fluent Bit's)`,
    });
  } finally {
    await gen.kill();
    proc.kill('SIGTERM');
    await exited;
  }
}

async function kafkaToNull(): Promise<void> {
  const group = `bench-null-${Date.now()}`;
  const s = await startSluice(
    'kafka_to_null',
    `<source>\n  @type kafka_group\n  brokers ${brokers.join(',')}\n  consumer_group ${group}\n  topics ${topic}\n</source>\n<match **>\n  @type null\n</match>\n`,
  );
  try {
    const pid = s.proc.pid!;
    const cpu0 = treeCpuSeconds(pid);
    const t0 = performance.now();
    await poll(
      async () => (await committed(group)) >= BigInt(EVENTS),
      `group ${group} at ${EVENTS}`,
      600_000,
      100,
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = treeCpuSeconds(pid) - cpu0;
    report({
      name: 'kafka_to_null (kafka_group -> null)',
      events: EVENTS,
      bytes: wireBytes,
      seconds,
      sluiceCpuS: cpu,
      peakRssMiB: treePeakRss(pid).max,
      harnessCpuS: 0,
      extra: `${((cpu / EVENTS) * 1e6).toFixed(2)} µs CPU per event; from the start of the consumer (group join included) until its committed offsets reach ${EVENTS}; MB/s counted on the forward wire size`,
    });
  } finally {
    await s.kill();
  }
}

async function newTopic(prefix: string): Promise<void> {
  topic = `${prefix}-${Date.now()}`;
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  await admin.close();
}

try {
  await newTopic('bench');
  console.log(
    `Kafka 4.1.1 (512 MiB heap) at ${brokers.join(',')}, topic ${topic}, ${PARTITIONS} partitions, ${new Date().toISOString()}`,
  );
  // with FLUENT_BIT_BIN, Sluice and Fluent Bit take turns, each into a topic of its own
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1) await newTopic('bench');
    if (cases.includes('forward_to_kafka')) await forwardToKafka();
    if (cases.includes('kafka_to_null')) {
      if (!cases.includes('forward_to_kafka'))
        throw new Error('kafka_to_null reads what forward_to_kafka wrote: run both');
      await kafkaToNull();
    }
    if (process.env.FLUENT_BIT_BIN) {
      await newTopic('bench-fb');
      await fluentBitToKafka(process.env.FLUENT_BIT_BIN);
    }
  }
} finally {
  await kafka.stop();
  await rm(dir, { recursive: true, force: true });
}
