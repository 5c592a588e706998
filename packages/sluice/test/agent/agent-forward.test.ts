import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventTime } from '@sluice/forward';
import { AgentForwardOutput, registerAgentPlugins } from '../../src/agent/plugins.ts';
import { EventBatch } from '../../src/core/batch.ts';
import { Engine } from '../../src/engine/engine.ts';
import { inputs, registerTestPlugins, resetCapture } from '../helpers/capture.ts';
import { countingProxy, freePort, logger, received, receiver, until } from './helpers.ts';

// agent_forward: fluent-agent-lite's connection habits on out_forward. A kept-alive
// connection is dropped after the (randomised) keepalive time and on SIGHUP; the next
// chunk opens a new one. Counted at a proxy: connections that carried data.

function agentConf(port: number, keepalive: number): string {
  return `<source>\n@type test_input\ntag agentfwd\n</source>
<match **>
  @type agent_forward
  agent_keepalive_time ${keepalive}
  agent_keepalive_margin 0
  keepalive true
  heartbeat_type none
  <server>
    host 127.0.0.1
    port ${port}
  </server>
  <buffer tag>
    flush_mode immediate
    retry_wait 0.05
    retry_forever true
  </buffer>
</match>\n`;
}

const one = (n: number) => EventBatch.single('app', EventTime.now(), { n });

describe('agent_forward (keepalive expiry, SIGHUP reconnect)', () => {
  before(() => {
    registerTestPlugins();
    registerAgentPlugins();
  });
  after(() => {
    resetCapture();
    AgentForwardOutput.now = Date.now;
  });

  it('reconnects after the keepalive time and on reconnect(), never in the middle of a chunk', async () => {
    const port = await freePort();
    const recv = await receiver(port, 'kf');
    const proxy = await countingProxy(port);
    let clock = 1_000_000;
    AgentForwardOutput.now = () => clock;
    const agent = await Engine.fromText(agentConf(proxy.port, 120), { logger });
    await agent.start();
    try {
      const out = agent.plugins.find((p) => p.type === 'agent_forward')!.output!.plugin as AgentForwardOutput;
      const ctx = inputs.get('agentfwd')!;
      await ctx.emit(one(1));
      await until(() => received('kf').length === 1, 'first event');
      await ctx.emit(one(2));
      await until(() => received('kf').length === 2, 'second event');
      assert.equal(proxy.dataConnections(), 1, 'a kept-alive connection is reused');

      clock += 121_000; // past keepalive (margin 0)
      await ctx.emit(one(3));
      await until(() => received('kf').length === 3, 'third event');
      assert.equal(proxy.dataConnections(), 2, 'expired: a new connection');
      assert.equal(out.reconnects, 1);

      out.reconnect('SIGHUP');
      await ctx.emit(one(4));
      await until(() => received('kf').length === 4, 'fourth event');
      assert.equal(proxy.dataConnections(), 3, 'SIGHUP: a new connection');
      assert.deepEqual(
        received('kf').map((r) => r.record.n),
        [1, 2, 3, 4],
      );
    } finally {
      await agent.stop();
      await proxy.close();
      await recv.stop();
    }
  });

  it('keepalive 0 keeps one connection forever', async () => {
    const port = await freePort();
    const recv = await receiver(port, 'k0');
    const proxy = await countingProxy(port);
    let clock = 1_000_000;
    AgentForwardOutput.now = () => clock;
    const agent = await Engine.fromText(agentConf(proxy.port, 0).replace('tag agentfwd', 'tag agentfwd0'), {
      logger,
    });
    await agent.start();
    try {
      const ctx = inputs.get('agentfwd0')!;
      for (let i = 0; i < 3; i++) {
        await ctx.emit(one(i));
        await until(() => received('k0').length === i + 1, `event ${i}`);
        clock += 10 * 86_400_000;
      }
      assert.equal(proxy.dataConnections(), 1);
    } finally {
      await agent.stop();
      await proxy.close();
      await recv.stop();
    }
  });
});
