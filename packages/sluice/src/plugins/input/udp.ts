import { defineParams, defineSchema, type Resolved } from '../../config/schema.ts';
import { MemoryBudget } from '../../core/memory-budget.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { extractSection, listenParams, QUEUE_LIMIT } from '../../shared/net-in/params.ts';
import { hostnameKeyOf, parsedSinkFor } from '../../shared/net-in/parsed-sink.ts';
import { HostnameCache } from '../../shared/net-in/peer.ts';
import { Reporter } from '../../shared/net-in/report.ts';
import { UdpReceiver } from '../../shared/net-in/udp-receiver.ts';
import type { SluiceParser } from '../../shared/parse/common.ts';

// Fluentd's in_udp: each datagram is one message, parsed by <parse>, emitted under one tag.

const params = defineParams({
  tag: { type: 'string', required: true, description: 'Tag of the events.' },
  ...listenParams(5160),
  source_host_key: {
    type: 'string',
    default: null,
    description: 'Old name of source_hostname_key.',
    deprecated: 'use source_hostname_key',
  },
  message_length_limit: {
    type: 'size',
    default: 4096,
    description:
      'Most bytes read of one datagram; a longer one is cut to it, as in Fluentd, and reported (error UDP_TRUNCATED).',
  },
  body_size_limit: {
    type: 'size',
    default: null,
    description: 'Old name of message_length_limit (overrides it when set).',
    deprecated: 'use message_length_limit',
  },
  remove_newline: {
    type: 'bool',
    default: true,
    description: 'Remove one trailing newline ("\\n", "\\r\\n" or "\\r") from each datagram.',
  },
  receive_buffer_size: {
    type: 'size',
    default: null,
    description:
      "The socket's receive buffer (SO_RCVBUF); the system default when unset. Raise it for bursts: the kernel drops what does not fit.",
  },
  queue_size_limit: QUEUE_LIMIT,
});

const schema = defineSchema({
  params,
  sections: {
    parse: {
      description: 'How each datagram becomes a record (required).',
      plugin: 'parser',
      required: true,
    },
    extract: extractSection,
  },
});

export class UdpInput implements InputPlugin {
  private receiver: UdpReceiver | undefined;
  readonly budget: MemoryBudget;
  private readonly reporter: Reporter;
  private readonly parser: SluiceParser;
  port = 0;

  constructor(
    private readonly config: Resolved<typeof schema>,
    private readonly ctx: PluginContext,
  ) {
    this.budget = new MemoryBudget(config.params.queue_size_limit);
    this.reporter = new Reporter(ctx);
    this.parser = ctx.createNested<SluiceParser>('parser', config.sections.parse.element);
  }

  async start(): Promise<void> {
    const p = this.config.params;
    const hostKey = hostnameKeyOf(this.config);
    const receiver = new UdpReceiver({
      ctx: this.ctx,
      name: 'udp',
      port: p.port,
      bind: p.bind,
      maxBytes: p.body_size_limit ?? p.message_length_limit,
      receiveBufferSize: p.receive_buffer_size,
      chomp: p.remove_newline,
      sink: parsedSinkFor('udp', this.config, this.parser, this.reporter),
      budget: this.budget,
      reporter: this.reporter,
      hostnames: hostKey ? new HostnameCache() : undefined,
    });
    await receiver.start();
    this.receiver = receiver;
    this.port = receiver.port;
    this.ctx.logger.info({ bind: p.bind, port: this.port }, 'listening udp socket');
  }

  /** Calls fn after each datagram read (queued or dropped); returns how many were read so far. */
  onDatagram(fn: () => void): () => number {
    this.receiver?.watchers.add(fn);
    return () => this.receiver?.received ?? 0;
  }

  /** Settles once the datagrams received so far were emitted (tests). */
  get idle(): Promise<void> {
    return this.receiver?.idle ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    const r = this.receiver;
    this.receiver = undefined;
    await r?.stop();
  }
}

const descriptor: PluginDescriptor<UdpInput, typeof schema> = {
  kind: 'input',
  type: 'udp',
  multiWorkers: true,
  description:
    'Receives one message per UDP datagram, parsed by <parse>, with a bounded queue for bursts (Fluentd in_udp).',
  schema,
  create: (config, ctx) => new UdpInput(config, ctx),
};

export default descriptor;
