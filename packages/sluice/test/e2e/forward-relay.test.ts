import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FluentClient } from '@fluent-org/logger';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { captured, registerTestPlugins, resetCapture } from '../helpers/capture.ts';
import { freePort } from '../helpers/ports.ts';
import { waitUntil } from '../helpers/wait.ts';

// Sluice -> Sluice over the forward protocol, acks on at both hops: the client is acked
// by the relay's input once its buffer has the events; the relay's out_forward is acked
// by the aggregator. Events are counted by id at the end: none may be missing.

const logger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

function aggregatorConf(port: number, name: string): string {
  return `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n</source>\n<match **>\n@type test_capture\nname ${name}\n</match>\n`;
}

function relayConf(port: number, servers: string, extra = ''): string {
  return `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n</source>
<match **>
  @type forward
  require_ack_response true
  ack_response_timeout 2
  connect_timeout 1
  heartbeat_type tcp
  heartbeat_interval 0.1
  recover_wait 0.3
  hard_timeout 1
  ${extra}
  ${servers}
  <buffer>
    flush_mode immediate
    retry_wait 0.05
    retry_max_interval 0.2
    retry_forever true
  </buffer>
</match>\n`;
}

function ids(name: string): number[] {
  return (captured.get(name) ?? []).flatMap((b) => b.entries().map((e) => e.record.id as number));
}

const until = (cond: () => boolean, what: string) => waitUntil(cond, what, 15_000, 5);

describe('forward relay (Sluice -> Sluice)', () => {
  before(() => registerTestPlugins());
  after(() => resetCapture());

  it('delivers every event through a relay with acks at both hops', async () => {
    resetCapture();
    const [aggPort, relayPort] = [await freePort(), await freePort()];
    const agg = await Engine.fromText(aggregatorConf(aggPort, 'agg'), { logger });
    await agg.start();
    const relay = await Engine.fromText(
      relayConf(relayPort, `<server>\nhost 127.0.0.1\nport ${aggPort}\n</server>`),
      { logger },
    );
    await relay.start();
    const client = new FluentClient('relay', {
      socket: { host: '127.0.0.1', port: relayPort },
      eventMode: 'PackedForward',
      ack: { ackTimeout: 10_000 },
      flushInterval: 2,
    });
    try {
      const n = 2000;
      const sent: Promise<void>[] = [];
      for (let id = 0; id < n; id++) sent.push(client.emit('t', { id, payload: 'x'.repeat(50) }));
      await Promise.all(sent);
      await until(() => new Set(ids('agg')).size === n, `${n} events at the aggregator`);
      assert.deepEqual(
        [...new Set(ids('agg'))].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
      );
      assert.ok((captured.get('agg') ?? []).every((b) => b.tag === 'relay.t'));
    } finally {
      await client.shutdown();
      await relay.stop();
      await agg.stop();
    }
  });

  it('fails over to the standby when the primary dies mid-stream, recovers, and loses nothing', async () => {
    resetCapture();
    const [p1, p2, relayPort] = [await freePort(), await freePort(), await freePort()];
    let primary = await Engine.fromText(aggregatorConf(p1, 'primary'), { logger });
    await primary.start();
    const standby = await Engine.fromText(aggregatorConf(p2, 'standby'), { logger });
    await standby.start();
    const servers = `<server>\nname primary\nhost 127.0.0.1\nport ${p1}\n</server>\n<server>\nname standby\nhost 127.0.0.1\nport ${p2}\nstandby true\n</server>`;
    const relay = await Engine.fromText(relayConf(relayPort, servers), { logger });
    await relay.start();
    const client = new FluentClient('fo', {
      socket: { host: '127.0.0.1', port: relayPort },
      ack: { ackTimeout: 10_000 },
    });
    const all = () => new Set([...ids('primary'), ...ids('standby')]);
    try {
      let id = 0;
      const send = async (k: number) => {
        const sent: Promise<void>[] = [];
        for (let i = 0; i < k; i++) sent.push(client.emit('t', { id: id++ }));
        await Promise.all(sent);
      };
      await send(300);
      await until(() => ids('primary').length > 0, 'primary receives');
      // The primary dies while events keep coming.
      const dying = primary.stop();
      await send(300);
      await dying;
      await until(() => all().size === 600, 'all 600 events delivered across primary and standby');
      assert.ok(ids('standby').length > 0, 'the standby took over');
      // The primary comes back on the same port: heartbeats bring it back into rotation.
      const before = ids('primary').length;
      primary = await Engine.fromText(aggregatorConf(p1, 'primary'), { logger });
      await primary.start();
      const deadline = Date.now() + 15_000;
      while (ids('primary').length <= before) {
        if (Date.now() > deadline) throw new Error('timed out: the primary never came back into rotation');
        await send(20);
        await new Promise((r) => setTimeout(r, 50)); // pacing between recovery probes, not synchronisation
      }
      await until(() => all().size === id, `all ${id} events delivered`);
      assert.deepEqual(
        [...all()].sort((a, b) => a - b),
        Array.from({ length: id }, (_, i) => i),
      );
    } finally {
      await client.shutdown();
      await relay.stop();
      await primary.stop();
      await standby.stop();
    }
  });
});
