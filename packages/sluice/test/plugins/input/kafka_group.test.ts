import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Consumer, Producer } from '@platformatic/kafka';
import { encode } from '@sluice/forward';
import type { EventBatch } from '../../../src/core/batch.ts';
import kafkaGroup, { type KafkaGroupInput } from '../../../src/plugins/input/kafka_group/index.ts';
import { testContext } from '../../../src/testing/context.ts';
import { type KafkaServer, startKafka } from '../../stores/kafka.ts';
import { build, createTopic, produce, topicName } from '../output/kafka-helpers.ts';

// in_kafka_group against a real Kafka 4.1.1 broker (one per file).

/** Resolves once `cond()` holds, checked after every emit (bounded). */
function emitted(ctx: ReturnType<typeof testContext>, cond: () => boolean, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`condition not met in ${ms} ms; ${ctx.records().length} records`)),
      ms,
    );
    const check = () => {
      if (cond()) {
        clearTimeout(t);
        resolve();
        return true;
      }
      return false;
    };
    if (check()) return;
    const orig = ctx.emit.bind(ctx);
    ctx.emit = async (b: EventBatch) => {
      await orig(b);
      check();
    };
  });
}

describe('in_kafka_group against Kafka 4', () => {
  let kafka: KafkaServer;
  let brokers: string[];
  const inputs: KafkaGroupInput[] = [];
  const input = async (body: string, ctx = testContext({ type: 'kafka_group' })) => {
    const r = await build(
      kafkaGroup,
      `<source>\n@type kafka_group\nbrokers ${brokers.join(',')}\nretry_wait_seconds 1\n${body}\n</source>\n`,
      ctx,
    );
    inputs.push(r.plugin);
    return r;
  };
  const committed = async (group: string, topic: string): Promise<bigint> => {
    const c = new Consumer({ clientId: 'sluice-test-offsets', groupId: group, bootstrapBrokers: brokers });
    try {
      const o = await c.listCommittedOffsets({ topics: [{ topic, partitions: [0] }] });
      return o.get(topic)![0]!;
    } finally {
      await c.close(true);
    }
  };

  before(async () => {
    kafka = await startKafka();
    brokers = kafka.brokers;
  });
  after(async () => {
    for (const i of inputs) await i.stop().catch(() => {});
    await kafka?.stop();
  });

  it('JSON from the beginning: tag from the topic with add_prefix/add_suffix, kafka_message_key, add_headers, time_source kafka; offsets committed only once the emit resolved', async () => {
    const topic = topicName('in');
    await createTopic(brokers, topic);
    await produce(brokers, [
      { topic, value: '{"a":1}', key: 'k1', headers: { h: 'v' }, timestamp: 1700000000123n },
      { topic, value: 'not json' },
      { topic, value: '{"a":2}', timestamp: 1700000001000n },
    ]);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const ctx = testContext({ type: 'kafka_group', onEmit: () => gate });
    const group = `g-${topic}`;
    const { plugin } = await input(
      `consumer_group ${group}\ntopics ${topic}\nadd_prefix pre\nadd_suffix suf\nkafka_message_key key\nadd_headers true\ntime_source kafka`,
      ctx,
    );
    let calls = 0;
    const origEmit = ctx.emit.bind(ctx);
    let entered!: () => void;
    const inEmit = new Promise<void>((r) => {
      entered = r;
    });
    ctx.emit = (b) => {
      calls++;
      entered();
      return origEmit(b);
    };
    const done = emitted(ctx, () => ctx.records().length === 2);
    await plugin.start();
    await inEmit;
    // the emit has not resolved: nothing committed yet
    assert.equal(await committed(group, topic), -1n);
    release();
    await done;
    const b = ctx.emitted[0]!;
    assert.equal(b.tag, `pre.${topic}.suf`);
    const e = b.entries();
    assert.deepEqual(e[0]!.record, { a: 1, key: 'k1', h: 'v' });
    assert.deepEqual(e[1]!.record, { a: 2, key: null });
    assert.equal(e[0]!.time.toMillis(), 1700000000123);
    assert.equal(calls, 1);
    assert.equal(ctx.metrics.kafkaParseErrors, 1);
    // committed after the emit: the next offset to read
    for (let i = 0; i < 100 && (await committed(group, topic)) !== 3n; i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(await committed(group, topic), 3n);
    await plugin.stop();
  });

  it('format ltsv, msgpack, text, a <parse> section; time_source record with time_format; tag_source record; /regex/ topics', async () => {
    const base = topicName('fmt');
    const cases: [string, Buffer | string, unknown][] = [
      ['format ltsv', 'a:1\tb:x', { a: '1', b: 'x' }],
      ['format msgpack', encode({ a: 1, n: [1, 2] }), { a: 1, n: [1, 2] }],
      ['format text\nmessage_key line', 'raw line', { line: 'raw line' }],
      ['<parse>\n@type regexp\nexpression /^(?<k>\\w+)=(?<v>\\w+)$/\n</parse>', 'x=y', { k: 'x', v: 'y' }],
    ];
    let n = 0;
    for (const [conf, value, want] of cases) {
      const topic = `${base}-${n++}`;
      await createTopic(brokers, topic);
      await produce(brokers, [{ topic, value }]);
      const ctx = testContext({ type: 'kafka_group' });
      const done = emitted(ctx, () => ctx.records().length === 1);
      const { plugin } = await input(`consumer_group g-${topic}\ntopics ${topic}\n${conf}`, ctx);
      await plugin.start();
      await done;
      assert.deepEqual(ctx.records()[0], want, conf);
      await plugin.stop();
    }
    const topic = `${base}-rec`;
    await createTopic(brokers, topic);
    await produce(brokers, [{ topic, value: '{"tag":"from.record","time":"2026-01-02 03:04:05","m":1}' }]);
    const ctx = testContext({ type: 'kafka_group' });
    const done = emitted(ctx, () => ctx.records().length === 1);
    const { plugin } = await input(
      `consumer_group g-${topic}\ntopics /^${base}-re.$/\ntag_source record\ntime_source record\ntime_format %Y-%m-%d %H:%M:%S`,
      ctx,
    );
    await plugin.start();
    await done;
    assert.equal(ctx.emitted[0]!.tag, 'from.record');
    assert.equal(ctx.emitted[0]!.entries()[0]!.time.sec, Date.UTC(2026, 0, 2, 3, 4, 5) / 1000);
    await plugin.stop();
  });

  it('start_from_beginning false starts a new group at the end; max_wait_time, max_bytes, min_bytes, session_timeout, use_record_time', async () => {
    const topic = topicName('latest');
    await createTopic(brokers, topic);
    await produce(brokers, [{ topic, value: '{"old":true}' }]);
    const ctx = testContext({ type: 'kafka_group' });
    let first!: () => void;
    const arrived = new Promise<void>((r) => {
      first = r;
    });
    const orig = ctx.emit.bind(ctx);
    ctx.emit = async (b) => {
      await orig(b);
      first();
    };
    const { plugin } = await input(
      `consumer_group g-${topic}\ntopics ${topic}\nstart_from_beginning false\nmax_wait_time 1\nmax_bytes 4096\nmin_bytes 1\nsession_timeout 10\nuse_record_time true`,
      ctx,
    );
    await plugin.start();
    // the group takes its position when it joins: new messages until one is read (bounded)
    let sent = 0;
    let done = false;
    void arrived.then(() => {
      done = true;
    });
    while (!done && sent < 200) {
      await produce(brokers, [{ topic, value: JSON.stringify({ n: sent++, time: 1700000000.5 }) }]);
    }
    await arrived;
    await plugin.stop();
    const recs = ctx.records();
    assert.ok(recs.length > 0);
    assert.ok(!recs.some((r) => r.old), 'the message from before the group joined is not read');
    assert.equal(ctx.emitted[0]!.entries()[0]!.time.sec, 1700000000);
    assert.equal(ctx.emitted[0]!.entries()[0]!.time.nsec, 500_000_000);
  });

  it('backpressure: while an emit waits nothing more is emitted; a refused emit is not committed and a new member reads it again', async () => {
    const topic = topicName('bp');
    await createTopic(brokers, topic);
    const N = 3000;
    await produce(
      brokers,
      Array.from({ length: N }, (_, i) => ({ topic, value: JSON.stringify({ i }) })),
    );
    // the first member's emits are refused (a full buffer) and it gives the batch up
    const group = `g-${topic}`;
    let refused = 0;
    let firstRefusal!: () => void;
    const refusedOnce = new Promise<void>((r) => {
      firstRefusal = r;
    });
    const refusing = testContext({
      type: 'kafka_group',
      onEmit: () => {
        refused++;
        firstRefusal();
        throw Object.assign(new Error('buffer full'), { code: 'SLUICE_BUFFER_OVERFLOW' });
      },
    });
    const a = await input(
      `consumer_group ${group}\ntopics ${topic}\nretry_emit_limit 0\nfetcher_max_queue_size 100`,
      refusing,
    );
    await a.plugin.start();
    await refusedOnce;
    await a.plugin.stop();
    assert.equal(refusing.records().length, 0);
    assert.equal(await committed(group, topic), -1n);

    // the second member's emits wait until released: one emit at a time
    let release!: () => void;
    let gate = new Promise<void>((r) => {
      release = r;
    });
    let waiting = 0;
    let entered!: () => void;
    const inEmit = new Promise<void>((r) => {
      entered = r;
    });
    const ctx = testContext({
      type: 'kafka_group',
      onEmit: async () => {
        waiting++;
        entered();
        await gate;
        waiting--;
      },
    });
    const b = await input(`consumer_group ${group}\ntopics ${topic}\nfetcher_max_queue_size 100`, ctx);
    const all = emitted(ctx, () => ctx.records().length >= N);
    await b.plugin.start();
    await inEmit;
    assert.equal(waiting, 1, 'one emit waits');
    assert.equal(ctx.emitted.length, 0);
    gate = Promise.resolve();
    release();
    await all;
    const seen = ctx.records().map((r) => r.i as number);
    assert.deepEqual(
      seen,
      Array.from({ length: N }, (_, i) => i),
      'every message once, in order',
    );
    assert.ok(refused >= 1);
    await b.plugin.stop();
  });

  it('read_committed: records of aborted transactions are skipped, several from one producer id included', async () => {
    const topic = topicName('txn');
    await createTopic(brokers, topic);
    // one transactional id keeps its producer id: aborted ranges of one producer in one fetch
    const producer = new Producer({
      clientId: 'sluice-test-txn',
      bootstrapBrokers: brokers,
      idempotent: true,
      transactionalId: `txn-${topic}`,
      producerId: -1n,
      producerEpoch: -1,
    } as ConstructorParameters<typeof Producer>[0]);
    try {
      for (const [v, commit] of [
        ['A', true],
        ['B', false],
        ['C', true],
        ['D', false],
        ['E', true],
        ['F', false],
      ] as const) {
        const tx = await producer.beginTransaction();
        await tx.send({ messages: [{ topic, value: Buffer.from(JSON.stringify({ v })), partition: 0 }] });
        if (commit) await tx.commit();
        else await tx.abort();
      }
    } finally {
      await producer.close(true);
    }
    // a last committed record marks the end
    await produce(brokers, [{ topic, value: '{"v":"end"}' }]);
    const ctx = testContext({ type: 'kafka_group' });
    const done = emitted(ctx, () => ctx.records().some((r) => r.v === 'end'));
    const { plugin } = await input(`consumer_group g-${topic}\ntopics ${topic}`, ctx);
    await plugin.start();
    await done;
    await plugin.stop();
    assert.deepEqual(
      ctx.records().map((r) => r.v),
      ['A', 'C', 'E', 'end'],
    );
  });
});
