import { hostname } from 'node:os';
import { EventTime } from '@sluice/forward';
import { defineParams } from '../../config/schema.ts';
import { EventBatch } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';

// fluent-plugin-ping-message's in_ping_message: `{"data": DATA}` tagged `tag` every
// `interval` seconds, so an aggregator (its ping_message_checker) can tell a silent agent
// from a dead one. fluent-agent-lite's -P/-S send the same record.

const params = defineParams({
  tag: { type: 'string', default: 'ping', description: 'Tag of the ping events.' },
  interval: { type: 'time', default: 60, description: 'Seconds between two pings.' },
  data: {
    type: 'string',
    default: null,
    description: 'Value of the `data` field (default: this host name).',
  },
  emit_at_start: {
    type: 'bool',
    default: false,
    description:
      'Also send one ping at startup (as fluent-agent-lite does) instead of waiting one interval first.',
  },
});

export class PingMessageInput implements InputPlugin {
  private timer: NodeJS.Timeout | undefined;
  private readonly record: { data: string };

  constructor(
    private readonly ctx: PluginContext,
    private readonly tag: string,
    private readonly intervalMs: number,
    data: string,
    private readonly atStart: boolean,
  ) {
    this.record = { data };
  }

  async start(): Promise<void> {
    if (this.atStart) this.ping();
    this.timer = setInterval(() => this.ping(), this.intervalMs);
  }

  private ping(): void {
    // Not awaited: a ping that waits behind a full buffer must not delay the next one's
    // schedule; a refused ping is only logged (the next one says the same thing).
    this.ctx.emit(EventBatch.single(this.tag, EventTime.now(), this.record)).catch((e: Error) => {
      this.ctx.logger.warn({ code: 'EMIT_FAILED', err: e.message }, 'ping message was not accepted');
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const descriptor: PluginDescriptor<PingMessageInput, { params: typeof params }> = {
  kind: 'input',
  type: 'ping_message',
  description:
    'Emits `{"data": DATA}` every `interval` seconds (fluent-plugin-ping-message), a heartbeat for the aggregator.',
  schema: { params },
  create(config, ctx) {
    const p = config.params;
    if (!(p.interval > 0))
      throw new ConfigError(
        `parameter 'interval' must be more than 0 (got ${p.interval})`,
        config.element.location,
      );
    return new PingMessageInput(ctx, p.tag, p.interval * 1000, p.data ?? hostname(), p.emit_at_start);
  },
};

export default descriptor;
