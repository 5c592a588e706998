import { EventTime } from '@sluice/forward';
import { defineParams, defineSchema } from '../config/schema.ts';
import { EventBatch } from '../core/batch.ts';
import type { Chunk, FilterPlugin, PluginContext, PluginDescriptor, WriteResult } from '../core/plugin.ts';
import { registerPlugin } from '../engine/registry.ts';
import forwardDescriptor, { type ForwardConfig, ForwardOutput } from '../plugins/output/forward/index.ts';

/** fluent-agent-lite's CONNECTION_KEEPALIVE_MARGIN_MAX: expiry is keepalive ± this, at random. */
export const KEEPALIVE_MARGIN_S = 30;

/** fluent-agent-lite's connection_keepalive_time: keepalive + int(60 * rand) - 30 seconds. */
export function keepaliveExpiryS(
  keepaliveS: number,
  random: () => number = Math.random,
  marginS = KEEPALIVE_MARGIN_S,
): number {
  return keepaliveS + Math.floor(marginS * 2 * random()) - marginS;
}

/**
 * out_forward with fluent-agent-lite's connection habits on top: connections are dropped
 * and made again after a randomised keepalive time (so a fleet of agents spreads over
 * aggregators that were restarted or added), and on SIGHUP. A reconnect never cuts a
 * chunk in flight: it happens before the next write.
 */
export class AgentForwardOutput extends ForwardOutput {
  private expiresAt = 0;
  private reconnectPending = false;
  private inflight = 0;
  /** reconnects done (keepalive expiry or SIGHUP), for tests and logs */
  reconnects = 0;
  /** the clock keepalive expiry is judged by (tests move it) */
  static now: () => number = Date.now;

  constructor(
    config: ForwardConfig,
    private readonly agentCtx: PluginContext,
    private readonly keepaliveS: number,
    private readonly marginS: number,
  ) {
    super(config, agentCtx);
  }

  /** SIGHUP: drop every connection; the next chunk connects again (to a server chosen anew). */
  reconnect(reason: string): void {
    this.agentCtx.logger.info({ reason }, 'reconnecting to the servers');
    if (this.inflight === 0) this.dropConnections();
    else this.reconnectPending = true;
  }

  private dropConnections(): void {
    this.reconnectPending = false;
    this.expiresAt = 0;
    this.reconnects++;
    for (const n of this.nodes) n.close();
  }

  override async write(chunk: Chunk): Promise<WriteResult> {
    const now = AgentForwardOutput.now();
    if (this.reconnectPending) this.dropConnections();
    else if (this.expiresAt > 0 && now > this.expiresAt && this.inflight === 0) {
      this.agentCtx.logger.info('connection keepalive expired.');
      this.dropConnections();
    }
    this.inflight++;
    try {
      const r = await super.write(chunk);
      if (r.status === 'ok' && this.expiresAt === 0 && this.keepaliveS > 0) {
        this.expiresAt =
          AgentForwardOutput.now() +
          Math.max(0, keepaliveExpiryS(this.keepaliveS, Math.random, this.marginS)) * 1000;
      }
      return r;
    } finally {
      this.inflight--;
      if (this.reconnectPending && this.inflight === 0) this.dropConnections();
    }
  }
}

const agentSchema = defineSchema({
  ...forwardDescriptor.schema,
  params: {
    ...forwardDescriptor.schema.params,
    ...defineParams({
      agent_keepalive_time: {
        type: 'time',
        default: 1800,
        description:
          'Reconnect after this long (± agent_keepalive_margin at random) on one connection; 0 = never (fluent-agent-lite -k).',
      },
      agent_keepalive_margin: {
        type: 'time',
        default: KEEPALIVE_MARGIN_S,
        description: 'Spread of the keepalive expiry, so agents started together do not reconnect together.',
      },
    }),
  },
});

const agentForward: PluginDescriptor<AgentForwardOutput, typeof agentSchema> = {
  ...forwardDescriptor,
  type: 'agent_forward',
  description:
    "out_forward with fluent-agent-lite's connection keepalive expiry and SIGHUP reconnect (used by `sluice agent`).",
  schema: agentSchema,
  create: (config, ctx) =>
    new AgentForwardOutput(
      config,
      ctx,
      config.params.agent_keepalive_time,
      config.params.agent_keepalive_margin,
    ),
};

/**
 * fluent-agent-lite's drain log (-d): for every batch read from a file, one
 * `{"drain": LINES}` event with the drain-log tag.
 */
const drainLogParams = defineParams({
  drain_log_tag: { type: 'string', required: true, description: 'Tag of the drain log events.' },
  tags: {
    type: 'array',
    required: true,
    description: 'Tags of the batches that are counted (the tailed files).',
  },
});

const drainLog: PluginDescriptor<FilterPlugin, { params: typeof drainLogParams }> = {
  kind: 'filter',
  type: 'agent_drain_log',
  description:
    'Emits {"drain": N} with `drain_log_tag` for every batch of N lines of the listed tags (fluent-agent-lite -d).',
  schema: { params: drainLogParams },
  create(config, ctx) {
    const tag = config.params.drain_log_tag;
    const counted = new Set(config.params.tags);
    return {
      filter(batch: EventBatch) {
        if (counted.has(batch.tag)) {
          ctx.emit(EventBatch.single(tag, EventTime.now(), { drain: batch.count })).catch((e: Error) => {
            ctx.logger.warn({ code: 'EMIT_FAILED', err: e.message }, 'drain log event was not accepted');
          });
        }
        return batch;
      },
    };
  },
};

let registered = false;

/** Makes `agent_forward` and `agent_drain_log` available to configs built by `sluice agent`. */
export function registerAgentPlugins(): void {
  if (registered) return;
  registered = true;
  registerPlugin(agentForward);
  registerPlugin(drainLog);
}
