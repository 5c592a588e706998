import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import ping from '../../../src/plugins/input/ping_message.ts';
import { instantiate } from '../../../src/testing/context.ts';

describe('ping_message input (fluent-plugin-ping-message)', () => {
  it('emits {"data": DATA} with its tag every interval, the first at start with emit_at_start', async () => {
    const { plugin: p, ctx } = instantiate(
      ping,
      '<source>\n  @type ping_message\n  tag ping.agent\n  interval 0.05\n  data "web01 /var/log/a.log"\n  emit_at_start true\n</source>',
    );
    await p.start();
    assert.equal(ctx.emitted.length, 1, 'one ping at start');
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (ctx.emitted.length >= 3) {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    await p.stop();
    assert.ok(ctx.emitted.every((b) => b.tag === 'ping.agent'));
    assert.deepEqual(ctx.records()[0], { data: 'web01 /var/log/a.log' });
  });

  it('defaults: tag ping, data = host name, interval 60; interval must be positive', async () => {
    const { plugin, ctx } = await instantiate(
      ping,
      '<source>\n  @type ping_message\n  emit_at_start true\n</source>',
    );
    await plugin.start();
    await plugin.stop();
    assert.deepEqual(ctx.records(), [{ data: hostname() }]);
    assert.equal(ctx.emitted[0]!.tag, 'ping');
    await assert.rejects(
      async () => instantiate(ping, '<source>\n  @type ping_message\n  interval 0\n</source>'),
      /'interval' must be more than 0/,
    );
  });
});
