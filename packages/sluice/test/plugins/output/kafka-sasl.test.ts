import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkaGroup from '../../../src/plugins/input/kafka_group/index.ts';
import kafka2, { type Kafka2Output } from '../../../src/plugins/output/kafka2/index.ts';
import { testContext } from '../../../src/testing/context.ts';
import { selfSignedCert, type TestCert } from '../../helpers/tls.ts';
import { chunkOf } from './http-helpers.ts';
import { build, readTopic, topicName } from './kafka-helpers.ts';
import { type RestartableKafka, SASL_USERS, startRestartableKafka } from './kafka-restartable.ts';

// kafka2 and kafka_group through a SASL_PLAINTEXT listener of a real Kafka 4.1.1 (PLAIN and
// SCRAM-SHA-256, sasl_over_ssl false) and kafka2 through its SSL listener (a self-signed
// certificate for 127.0.0.1, given to the client as ssl_ca_cert).

describe('Kafka SASL (PLAIN, SCRAM-SHA-256) and TLS', () => {
  let kafka: RestartableKafka;
  let cert: TestCert;
  let otherCert: TestCert;
  const outs: Kafka2Output[] = [];
  before(async () => {
    cert = selfSignedCert();
    otherCert = selfSignedCert();
    kafka = await startRestartableKafka({ sasl: true, tls: { cert: cert.cert, key: cert.key } });
  });
  after(async () => {
    for (const o of outs) await o.stop().catch(() => {});
    await kafka?.stop();
    cert?.cleanup();
    otherCert?.cleanup();
  });

  it('TLS: ssl_ca_cert verifies the broker (host name included) and kafka2 writes; another CA is refused and retried', async () => {
    const topic = topicName('tls');
    const { plugin } = await build(
      kafka2,
      `<match **>\n@type kafka2\nbrokers ${kafka.tlsBrokers.join(',')}\nssl_ca_cert ${cert.cert}\ndefault_topic ${topic}\n</match>\n`,
    );
    outs.push(plugin);
    assert.deepEqual(await plugin.write(chunkOf('t', [{ n: 1 }])), { status: 'ok' });
    assert.deepEqual(
      (await readTopic(kafka.brokers, topic, 1)).map((m) => m.value.toString()),
      ['{"n":1}'],
    );
    const bad = await build(
      kafka2,
      `<match **>\n@type kafka2\nbrokers ${kafka.tlsBrokers.join(',')}\nssl_ca_cert ${otherCert.cert}\ndefault_topic ${topic}\nmax_send_retries 0\nack_timeout 2s\nconnect_timeout 1\n</match>\n`,
    );
    outs.push(bad.plugin);
    assert.equal((await bad.plugin.write(chunkOf('t', [{ n: 2 }]))).status, 'retry');
  });

  for (const [mech, extra] of [
    ['PLAIN', ''],
    ['SCRAM-SHA-256', 'scram_mechanism sha256\n'],
  ] as const) {
    it(`${mech}: kafka2 writes, kafka_group reads; a wrong password is retried, not written`, async () => {
      const topic = topicName(`sasl-${mech.toLowerCase()}`);
      const auth = (pw: string) =>
        `brokers ${kafka.saslBrokers.join(',')}\nusername alice\npassword ${pw}\nsasl_over_ssl false\n${extra}`;
      const { plugin } = await build(
        kafka2,
        `<match **>\n@type kafka2\n${auth(SASL_USERS.alice)}default_topic ${topic}\n</match>\n`,
      );
      outs.push(plugin);
      assert.deepEqual(await plugin.write(chunkOf('t', [{ n: 1 }])), { status: 'ok' });
      // read back through the plain listener
      assert.deepEqual(
        (await readTopic(kafka.brokers, topic, 1)).map((m) => m.value.toString()),
        ['{"n":1}'],
      );

      const bad = await build(
        kafka2,
        `<match **>\n@type kafka2\n${auth('wrong')}default_topic ${topic}\nmax_send_retries 0\nack_timeout 2s\nconnect_timeout 1\n</match>\n`,
      );
      outs.push(bad.plugin);
      const r = await bad.plugin.write(chunkOf('t', [{ n: 2 }]));
      assert.equal(r.status, 'retry');

      const ctx = testContext({ type: 'kafka_group' });
      let got!: () => void;
      const one = new Promise<void>((res) => {
        got = res;
      });
      const orig = ctx.emit.bind(ctx);
      ctx.emit = async (b) => {
        await orig(b);
        got();
      };
      const input = await build(
        kafkaGroup,
        `<source>\n@type kafka_group\n${auth(SASL_USERS.alice)}consumer_group g-${topic}\ntopics ${topic}\n</source>\n`,
        ctx,
      );
      await input.plugin.start();
      await one;
      await input.plugin.stop();
      assert.deepEqual(ctx.records(), [{ n: 1 }]);
    });
  }

  it('SASL without TLS needs sasl_over_ssl false (KAFKA_SASL_NEEDS_TLS)', async () => {
    await assert.rejects(
      build(
        kafka2,
        `<match **>\n@type kafka2\nbrokers ${kafka.saslBrokers[0]}\nusername alice\npassword x\ndefault_topic t\n</match>\n`,
      ),
      /KAFKA_SASL_NEEDS_TLS/,
    );
  });
});
