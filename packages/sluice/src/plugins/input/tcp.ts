import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { defineParams, defineSchema, defineSection, type Resolved } from '../../config/schema.ts';
import { ConfigError } from '../../core/errors.ts';
import { MemoryBudget } from '../../core/memory-budget.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { tlsServerOptions, transportSection } from '../../core/tls-transport.ts';
import { DelimiterFramer } from '../../shared/net-in/framing.ts';
import { extractSection, listenParams, PARTIAL_LIMIT } from '../../shared/net-in/params.ts';
import { hostnameKeyOf, parsedSinkFor } from '../../shared/net-in/parsed-sink.ts';
import { HostnameCache } from '../../shared/net-in/peer.ts';
import { Reporter } from '../../shared/net-in/report.ts';
import { StreamServer } from '../../shared/net-in/stream-server.ts';
import type { SluiceParser } from '../../shared/parse/common.ts';

// Fluentd's in_tcp: messages ended by a delimiter over TCP (or TLS), each through <parse>,
// emitted under one tag; with the message_length_limit and send_keepalive_packet of
// Fluentd 1.16 and the <security> client rules of 1.14.

const params = defineParams({
  tag: { type: 'string', required: true, description: 'Tag of the events.' },
  ...listenParams(5170),
  source_host_key: {
    type: 'string',
    default: null,
    description: 'Old name of source_hostname_key.',
    deprecated: 'use source_hostname_key',
  },
  delimiter: {
    type: 'string',
    default: '\n',
    description: 'The string that ends each message (write "\\n" or "\\r\\n" in double quotes).',
  },
  message_length_limit: {
    type: 'size',
    default: null,
    description:
      'Messages longer than this (bytes) are dropped, and an unfinished one that passes it is dropped up to its delimiter (error MESSAGE_TOO_LONG), as Fluentd 1.16 does. Unset: no limit of its own; total_partial_size_limit still bounds a message.',
  },
  send_keepalive_packet: {
    type: 'bool',
    default: false,
    description: 'Enable TCP keepalive probes on accepted connections, to notice peers that went away.',
  },
  backlog: { type: 'integer', default: null, description: 'Listen backlog.' },
  total_partial_size_limit: PARTIAL_LIMIT,
});

export const securitySection = defineSection({
  description: 'Accept connections only from the clients listed (Fluentd in_tcp <security>).',
  sections: {
    client: {
      description: 'A client allowed to connect: host or network.',
      multi: true,
      required: true,
      params: defineParams({
        host: { type: 'string', default: null, description: 'Client host name or IP address.' },
        network: { type: 'string', default: null, description: 'Client network (CIDR, e.g. 10.0.0.0/8).' },
      }),
    },
  },
});

const schema = defineSchema({
  params,
  sections: {
    parse: {
      description: 'How each message becomes a record (required).',
      plugin: 'parser',
      required: true,
    },
    extract: extractSection,
    transport: transportSection,
    security: securitySection,
  },
});

type TcpConfig = Resolved<typeof schema>;
type SecurityConfig = TcpConfig['sections']['security'];

/** <security><client>: the addresses allowed to connect, compiled at start (host names resolved once, as Fluentd does at configure). */
export async function compileClients(section: SecurityConfig): Promise<BlockList | undefined> {
  if (!section) return undefined;
  const list = new BlockList();
  for (const c of section.sections.client) {
    const { host, network } = c.params;
    if (network) {
      const [addr, bits] = network.split('/');
      const family = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
      if (!isIP(addr!) || (bits !== undefined && !/^\d+$/.test(bits)))
        throw new ConfigError(`network '${network}' address format is invalid`, c.element.location);
      list.addSubnet(addr!, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
    }
    if (host) {
      let addrs: { address: string; family: number }[];
      try {
        addrs = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
      } catch {
        throw new ConfigError(`host '${host}' cannot be resolved`, c.element.location);
      }
      for (const a of addrs) list.addAddress(a.address, a.family === 6 ? 'ipv6' : 'ipv4');
    }
  }
  return list;
}

export function checkClients(section: SecurityConfig): void {
  if (!section) return;
  for (const c of section.sections.client) {
    if (c.params.host && c.params.network)
      throw new ConfigError("both of 'host' and 'network' are specified for client", c.element.location);
    if (!c.params.host && !c.params.network)
      throw new ConfigError(
        "Either of 'host' and 'network' must be specified for client",
        c.element.location,
      );
  }
}

export class TcpInput implements InputPlugin {
  private server: StreamServer | undefined;
  readonly budget: MemoryBudget;
  private readonly reporter: Reporter;
  private readonly parser: SluiceParser;
  /** bound port once started (port 0 resolves to the real one) */
  port = 0;

  constructor(
    private readonly config: TcpConfig,
    private readonly ctx: PluginContext,
  ) {
    const p = config.params;
    if (p.delimiter === '')
      throw new ConfigError("parameter 'delimiter' must not be empty", config.element.location);
    this.budget = new MemoryBudget(p.total_partial_size_limit);
    this.reporter = new Reporter(ctx);
    checkClients(config.sections.security);
    this.parser = ctx.createNested<SluiceParser>('parser', config.sections.parse.element);
    // Fails at startup, not at the first connection, when the files cannot be read.
    tlsServerOptions(config.sections.transport);
  }

  async start(): Promise<void> {
    const p = this.config.params;
    const allowed = await compileClients(this.config.sections.security);
    const hostKey = hostnameKeyOf(this.config);
    const delimiter = Buffer.from(p.delimiter, 'utf8');
    const limit = p.message_length_limit;
    const tls = tlsServerOptions(this.config.sections.transport);
    const server = new StreamServer({
      ctx: this.ctx,
      name: 'tcp',
      port: p.port,
      bind: p.bind,
      backlog: p.backlog,
      tls,
      keepalive: p.send_keepalive_packet,
      framer: () => new DelimiterFramer(delimiter, limit),
      sink: parsedSinkFor('tcp', this.config, this.parser, this.reporter),
      budget: this.budget,
      reporter: this.reporter,
      hostnames: hostKey ? new HostnameCache() : undefined,
      allow: allowed ? (a) => allowed.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4') : undefined,
    });
    await server.start();
    this.server = server;
    this.port = server.port;
    this.ctx.logger.info({ bind: p.bind, port: this.port, tls: Boolean(tls) }, 'listening tcp socket');
  }

  connectionStats(): ReturnType<StreamServer['connectionStats']> {
    return this.server?.connectionStats() ?? [];
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.stop();
  }
}

const descriptor: PluginDescriptor<TcpInput, typeof schema> = {
  kind: 'input',
  type: 'tcp',
  multiWorkers: true,
  description:
    'Receives messages ended by a delimiter over TCP or TLS, each parsed by <parse>, with backpressure and bounded memory (Fluentd in_tcp).',
  schema,
  create: (config, ctx) => new TcpInput(config, ctx),
};

export default descriptor;
