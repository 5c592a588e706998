import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, EventTime } from '@sluice/forward';
import pino from 'pino';
import type { WriteResult } from '../../../src/core/plugin.ts';
import { Engine } from '../../../src/engine/engine.ts';
import kafka2, { type Kafka2Output } from '../../../src/plugins/output/kafka2/index.ts';
import { freePort } from '../../helpers/ports.ts';
import { type KafkaServer, startKafka } from '../../stores/kafka.ts';
import { chunkOf } from './http-helpers.ts';
import { build, createTopic, type Read, Relay, readTopic, topicName } from './kafka-helpers.ts';

// out_kafka2 against a real Kafka 4.1.1 broker (one per file). The broker advertises a TCP
// relay's port, so every client connection goes through the relay and a test can take the
// broker away from the output (connections cut and refused) and give it back.

const text = (m: Read) => m.value.toString();
const header = (m: Read, k: string) => {
  for (const [hk, hv] of m.headers) if (hk.toString() === k) return hv.toString();
  return undefined;
};

describe('out_kafka2 against Kafka 4', () => {
  let kafka: KafkaServer;
  let relay: Relay;
  let brokers: string[];
  const outs: Kafka2Output[] = [];
  const out = async (body: string) => {
    const r = await build(
      kafka2,
      `<match **>\n@type kafka2\nbrokers ${brokers.join(',')}\n${body}\n</match>\n`,
    );
    outs.push(r.plugin);
    return r;
  };
  const ok: WriteResult = { status: 'ok' };

  before(async () => {
    relay = new Relay(await freePort());
    await relay.listen();
    kafka = await startKafka({
      properties: {
        'advertised.listeners': `PLAINTEXT://127.0.0.1:${relay.port}`,
      },
    });
    relay.setTarget(Number(kafka.brokers[0]!.split(':')[1]));
    brokers = [`127.0.0.1:${relay.port}`];
  });
  after(async () => {
    for (const o of outs) await o.stop().catch(() => {});
    await kafka?.stop();
    await relay?.close();
  });

  it('JSON by default to default_topic; message key, partition key and partition from the record; exclude_*; headers', async () => {
    const topic = topicName('json');
    await createTopic(brokers, topic, 4);
    const { plugin } = await out(
      `default_topic ${topic}\nexclude_message_key true\nexclude_partition_key true\nexclude_partition true\nheaders a:1,b:2\nheaders_from_record h:$.meta.host\nuse_event_time true`,
    );
    const t = new EventTime(1700000000, 123_000_000);
    const res = await plugin.write(
      chunkOf(
        'app.x',
        [
          { n: 1, message_key: 'k1', meta: { host: 'web-1' } },
          { n: 2, partition: 3 },
          { n: 3, partition_key: 'pk' },
          { n: 4, s: 'é"\n', big: 2n ** 64n - 1n },
          // the key field second and last: the in-place key scan must see it
          { n: 5, message_key: 'k5' },
        ],
        t,
      ),
    );
    assert.deepEqual(res, ok);
    const got = (await readTopic(brokers, topic, 5)).sort((a, b) => text(a).localeCompare(text(b)));
    assert.deepEqual(got.map(text), [
      '{"n":1,"meta":{"host":"web-1"}}',
      '{"n":2}',
      '{"n":3}',
      '{"n":4,"s":"é\\"\\n","big":18446744073709551615}',
      '{"n":5}',
    ]);
    assert.equal(got[0]!.key.toString(), 'k1');
    assert.equal(got[4]!.key.toString(), 'k5');
    assert.equal(header(got[0]!, 'h'), 'web-1');
    assert.equal(header(got[1]!, 'a'), '1');
    assert.equal(header(got[3]!, 'b'), '2');
    assert.equal(got[1]!.partition, 3);
    assert.equal(got[0]!.timestamp, 1700000000123n);
    // crc32('pk') % 4, as ruby-kafka's partitioner
    const { crc32 } = await import('node:zlib');
    assert.equal(got[2]!.partition, crc32('pk') % 4);
  });

  it('topic from the topic chunk key (the default <buffer> key), else default_topic, else the tag; topic with placeholders', async () => {
    const a = topicName('a');
    const tagTopic = topicName('tag');
    const { plugin } = await out('exclude_topic_key true');
    assert.deepEqual(await plugin.write(chunkOf(tagTopic, [{ n: 1 }], undefined, { topic: '' })), ok);
    assert.deepEqual(await plugin.write(chunkOf('x', [{ n: 2, topic: a }], undefined, { topic: a })), ok);
    assert.deepEqual((await readTopic(brokers, tagTopic, 1)).map(text), ['{"n":1}']);
    assert.deepEqual((await readTopic(brokers, a, 1)).map(text), ['{"n":2}']);
    const p = topicName('ph');
    const { plugin: withPh } = await out(`topic ${p}.\${tag}\n<buffer tag>\n</buffer>`);
    assert.deepEqual(await withPh.write(chunkOf('web', [{ n: 3 }])), ok);
    assert.deepEqual((await readTopic(brokers, `${p}.web`, 1)).map(text), ['{"n":3}']);
  });

  it('<format> msgpack, ltsv, single_value; record_key; exclude_fields', async () => {
    const rec = { message: 'hello', level: 'info', nested: { a: 1, b: 2 } };
    const cases: [string, (m: Read) => void][] = [
      ['<format>\n@type msgpack\n</format>', (m) => assert.deepEqual(decode(m.value), rec)],
      [
        '<format>\n@type ltsv\n</format>',
        (m) => assert.equal(text(m), 'message:hello\tlevel:info\tnested:{"a" => 1, "b" => 2}'),
      ],
      ['<format>\n@type single_value\n</format>', (m) => assert.equal(text(m), 'hello\n')],
      ['record_key $.nested', (m) => assert.equal(text(m), '{"a":1,"b":2}')],
      [
        'exclude_fields $.nested.a,level',
        (m) => assert.equal(text(m), '{"message":"hello","nested":{"b":2}}'),
      ],
    ];
    for (const [conf, check] of cases) {
      const topic = topicName('fmt');
      const { plugin } = await out(`default_topic ${topic}\n${conf}`);
      assert.deepEqual(await plugin.write(chunkOf('t', [rec])), ok, conf);
      check((await readTopic(brokers, topic, 1))[0]!);
    }
  });

  it('compression_codec gzip, snappy, lz4; required_acks 1 and 0 (idempotence off); zstd refused on this Node', async () => {
    for (const conf of [
      'compression_codec gzip',
      'compression_codec snappy',
      'compression_codec lz4',
      'required_acks 1',
      'required_acks 0',
    ]) {
      const topic = topicName('codec');
      const { plugin } = await out(`default_topic ${topic}\n${conf}`);
      const recs = Array.from({ length: 50 }, (_, i) => ({ i, pad: 'x'.repeat(100) }));
      assert.deepEqual(await plugin.write(chunkOf('t', recs)), ok, conf);
      const got = await readTopic(brokers, topic, 50);
      assert.deepEqual(
        got.map((m) => JSON.parse(text(m)).i),
        recs.map((r) => r.i),
        conf,
      );
    }
    await assert.rejects(out('default_topic x\ncompression_codec zstd'), /KAFKA_COMPRESSION/);
    await assert.rejects(out('default_topic x\nrequired_acks 1\nidempotent true'), /KAFKA_IDEMPOTENT_ACKS/);
  });

  it('default_message_key, default_partition_key, default_partition; partitioner_hash_function murmur2', async () => {
    const topic = topicName('defaults');
    await createTopic(brokers, topic, 8);
    const { plugin } = await out(
      `default_topic ${topic}\ndefault_message_key dk\ndefault_partition_key dpk\npartitioner_hash_function murmur2`,
    );
    assert.deepEqual(await plugin.write(chunkOf('t', [{ n: 1 }, { n: 2, message_key: 'own' }])), ok);
    const got = (await readTopic(brokers, topic, 2)).sort((a, b) => text(a).localeCompare(text(b)));
    const { murmur2 } = await import('@platformatic/kafka');
    assert.equal(got[0]!.key.toString(), 'dk');
    assert.equal(got[1]!.key.toString(), 'own');
    // the partition key wins over the message key; murmur2's positive part, as the Java client
    for (const m of got) assert.equal(m.partition, (murmur2(Buffer.from('dpk')) & 0x7fffffff) % 8);
    const t2 = topicName('defpart');
    await createTopic(brokers, t2, 4);
    const { plugin: p2 } = await out(`default_topic ${t2}\ndefault_partition 2`);
    assert.deepEqual(await p2.write(chunkOf('t', [{ n: 1 }, { n: 2, partition: 1 }])), ok);
    const parts = (await readTopic(brokers, t2, 2)).map((m) => [JSON.parse(text(m)).n, m.partition]);
    assert.deepEqual(parts.sort(), [
      [1, 2],
      [2, 1],
    ]);
  });

  it('kafka_buffered: topic per record, output_data_type attr: with field_separator, output_include_tag/time, kafka_agg_max_messages', async () => {
    const a = topicName('legacy-a');
    const dflt = topicName('legacy-d');
    const r = await build(
      kafka2,
      `<match **>\n@type kafka_buffered\nbrokers ${brokers.join(',')}\ndefault_topic ${dflt}\noutput_data_type attr:n,v\nfield_separator COMMA\noutput_include_tag true\noutput_include_time true\ntime_format %Y\nkafka_agg_max_messages 1\nexclude_topic_key true\n<buffer tag>\n</buffer>\n</match>\n`,
    );
    outs.push(r.plugin);
    const res = await r.plugin.write(
      chunkOf('app.x', [
        { n: 1, v: 'x', topic: a },
        { n: 2, v: null },
      ]),
    );
    assert.deepEqual(res, ok);
    assert.deepEqual((await readTopic(brokers, a, 1)).map(text), ['app.x,2023,1,x']);
    assert.deepEqual((await readTopic(brokers, dflt, 1)).map(text), ['app.x,2023,2,']);
    const json = await build(
      kafka2,
      `<match **>\n@type kafka_buffered\nbrokers ${brokers.join(',')}\ndefault_topic ${dflt}-j\noutput_include_tag true\n</match>\n`,
    );
    outs.push(json.plugin);
    assert.deepEqual(await json.plugin.write(chunkOf('app.y', [{ n: 3 }])), ok);
    assert.deepEqual((await readTopic(brokers, `${dflt}-j`, 1)).map(text), ['{"n":3,"tag":"app.y"}']);
  });

  it('<inject> adds its fields before the key fields are read (tag_key message_key makes the tag the key)', async () => {
    const topic = topicName('inject');
    const { plugin } = await out(
      `default_topic ${topic}\n<inject>\ntag_key message_key\ntime_key t\ntime_type unixtime\nhostname_key h\nhostname web-9\n</inject>`,
    );
    assert.deepEqual(await plugin.write(chunkOf('app.k', [{ n: 1 }], new EventTime(1700000000, 5))), ok);
    const [m] = await readTopic(brokers, topic, 1);
    assert.equal(m!.key.toString(), 'app.k');
    assert.deepEqual(JSON.parse(text(m!)), { n: 1, message_key: 'app.k', t: 1700000000, h: 'web-9' });
  });

  it('a record over max_send_limit_bytes goes to @ERROR, the rest of the chunk is delivered', async () => {
    const topic = topicName('limit');
    const { plugin, ctx } = await out(`default_topic ${topic}\nmax_send_limit_bytes 1k`);
    const res = await plugin.write(chunkOf('t', [{ n: 1 }, { n: 2, big: 'y'.repeat(2000) }, { n: 3 }]));
    assert.deepEqual(res, ok);
    assert.deepEqual((await readTopic(brokers, topic, 2)).map(text), ['{"n":1}', '{"n":3}']);
    assert.equal(ctx.errors.length, 1);
    assert.equal(ctx.errors[0]!.record.n, 2);
    assert.match(ctx.errors[0]!.error.message, /exceeds max_send_limit_bytes/);
    assert.equal(ctx.metrics.kafkaRecordsTooLarge, 1);
  });

  it('exactly_once: a chunk delivered in a transaction is recognised by the next instance under the same transactional_id and not written again', async () => {
    const topic = topicName('eos');
    await createTopic(brokers, topic, 1);
    const conf = `default_topic ${topic}\ntransactional_id tx-${topic}\nmax_send_limit_bytes 1k`;
    const first = await out(conf);
    const chunk = chunkOf('t', [{ n: 1 }, { n: 2, big: 'y'.repeat(2000) }, { n: 3 }]);
    assert.deepEqual(await first.plugin.write(chunk), ok);
    assert.equal(first.ctx.errors.length, 1, 'the record over max_send_limit_bytes goes to @ERROR');
    await first.plugin.stop();
    // as after a crash between the commit and the buffer's purge: the same chunk again
    const second = await out(conf);
    assert.deepEqual(await second.plugin.write(chunk), ok);
    assert.equal(second.ctx.metrics.kafkaMessages, undefined, 'nothing sent for the replayed chunk');
    assert.deepEqual(await second.plugin.write(chunkOf('t', [{ n: 4 }])), ok);
    assert.deepEqual((await readTopic(brokers, topic, 3)).map(text), ['{"n":1}', '{"n":3}', '{"n":4}']);
    await assert.rejects(
      out(`default_topic ${topic}\nexactly_once true\nrequired_acks 1`),
      /KAFKA_EXACTLY_ONCE/,
    );
  });

  it('max_send_retries 0 and 1 stay bounded in the client (it makes 0 or 1 retries of an idempotent producer endless)', async () => {
    const { kOptions } = await import('@platformatic/kafka');
    for (const [n, expected] of [
      [0, 0],
      [1, 1],
      [2, 2],
    ] as const) {
      const { plugin } = await out(`default_topic t\nmax_send_retries ${n}`);
      const options = (plugin.delivery.producer as unknown as Record<symbol, { retries: unknown }>)[
        kOptions
      ]!;
      assert.equal(options.retries, expected, `max_send_retries ${n}`);
    }
  });

  it('a record the broker refuses as too large (topic max.message.bytes) goes to @ERROR alone; the others are written once', async () => {
    const topic = topicName('toolarge');
    await createTopic(brokers, topic, 1, [{ name: 'max.message.bytes', value: '4000' }]);
    const { plugin, ctx } = await out(`default_topic ${topic}\nmax_batch_bytes 3000`);
    const recs = Array.from({ length: 20 }, (_, i) => (i === 7 ? { i, big: 'z'.repeat(6000) } : { i }));
    assert.deepEqual(await plugin.write(chunkOf('t', recs)), ok);
    assert.deepEqual(
      ctx.errors.map((e) => e.record.i),
      [7],
    );
    assert.match(ctx.errors[0]!.error.message, /MESSAGE_TOO_LARGE/);
    const got = await readTopic(brokers, topic, 19);
    assert.deepEqual(
      got.map((m) => JSON.parse(text(m)).i),
      recs.filter((r) => r.i !== 7).map((r) => r.i),
    );
  });

  it('broker away under load: write() says retry, the chunk is retried when it is back, nothing lost and nothing written twice', async () => {
    const topic = topicName('outage');
    await createTopic(brokers, topic, 2);
    const { plugin } = await out(
      `default_topic ${topic}\nmax_send_retries 1\nack_timeout 2s\nconnect_timeout 1\nmax_batch_bytes 20k`,
    );
    const chunks = Array.from({ length: 30 }, (_, c) =>
      chunkOf(
        't',
        Array.from({ length: 200 }, (_, i) => ({ c, i, pad: 'p'.repeat(50) })),
      ),
    );
    let retries = 0;
    const deliver = async (c: (typeof chunks)[number]) => {
      for (;;) {
        const r = await plugin.write(c);
        if (r.status === 'ok') return;
        assert.equal(r.status, 'retry', JSON.stringify(r));
        retries++;
        if (retries > 200) throw new Error('too many retries');
      }
    };
    // a third delivered, then the broker goes away in the middle of a chunk, then comes back
    for (const c of chunks.slice(0, 10)) await deliver(c);
    const pending = (async () => {
      for (const c of chunks.slice(10)) await deliver(c);
    })();
    await new Promise<void>((r) => setImmediate(r));
    await relay.cut();
    const outage = await plugin.write(chunkOf('t', [{ probe: 1 }])).catch((e) => e);
    await relay.restore();
    await pending;
    const want = 30 * 200 + ((outage as WriteResult).status === 'ok' ? 1 : 0);
    const got = await readTopic(brokers, topic, want);
    const seen = new Set<string>();
    let dups = 0;
    for (const m of got) {
      const v = JSON.parse(text(m));
      if (v.probe) continue;
      const k = `${v.c}:${v.i}`;
      if (seen.has(k)) dups++;
      seen.add(k);
    }
    assert.equal(seen.size, 30 * 200, 'every record delivered');
    assert.equal(dups, 0, 'no record written twice');
    assert.ok(retries + ((outage as WriteResult).status === 'retry' ? 1 : 0) >= 1, 'the outage was seen');
  });

  it("seed 001's output config unchanged but brokers (kafka_buffered, flush_interval, <buffer> flusth_interval): a warning for the misspelling, postbacks read back from post2log", async () => {
    const lines: { msg: string; code?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const port = await freePort();
    const conf = `<source>
  @type postback
  port ${port}
  bind 127.0.0.1
</source>
<match post2log>
  @type kafka_buffered
  brokers ${brokers.join(',')}
  default_topic post2log
  flush_interval 10s
  <buffer>
    flusth_interval 10s
  </buffer> 
</match>    
`;
    const engine = await Engine.fromText(conf, { logger, file: 'seed001.conf' });
    await engine.start();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/postback?p1=v${i}&p2=x`, { method: 'POST' });
        assert.equal(await r.text(), '{"status":"success"}');
      }
    } finally {
      await engine.stop(); // flush_at_shutdown (memory buffer): the chunk is sent now
    }
    const unknown = lines.filter((l) => l.code === 'CONFIG_UNKNOWN').map((l) => l.msg);
    assert.equal(unknown.length, 1, JSON.stringify(lines));
    assert.match(unknown[0]!, /seed001\.conf:12:5: unknown parameter 'flusth_interval'.*flush_interval/);
    const got = await readTopic(brokers, 'post2log', 3);
    const recs = got.map((m) => JSON.parse(text(m)));
    assert.deepEqual(
      recs.map((r) => r.p1),
      ['v0', 'v1', 'v2'],
    );
    assert.equal(recs[0]._path, '/postback');
  });
});
