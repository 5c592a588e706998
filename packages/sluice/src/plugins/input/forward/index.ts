import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { defineParams, defineSchema, type Resolved } from '../../../config/schema.ts';
import { ConfigError } from '../../../core/errors.ts';
import { MemoryBudget } from '../../../core/memory-budget.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../../core/plugin.ts';
import { tlsServerOptions, transportSection } from '../../../core/tls-transport.ts';
import { idleOrGrace } from '../../../shared/net-in/stop-grace.ts';
import { Connection, type ConnectionOptions } from './connection.ts';
import { Security, type SecurityConfig } from './security.ts';

// Fluentd's in_forward (and in_unix through the `unix` alias): the forward protocol over
// TCP, TLS or a unix socket, with UDP heartbeats answered on the same port.

const params = defineParams({
  port: {
    type: 'integer',
    min: 0,
    max: 65535,
    default: 24224,
    description: 'TCP (and UDP heartbeat) port to listen on; 0 picks a free port.',
  },
  bind: { type: 'string', default: '0.0.0.0', description: 'Address to listen on.' },
  path: {
    type: 'string',
    default: null,
    description:
      'Listen on this unix socket instead of TCP (in_unix; default /var/run/fluent/fluent.sock for @type unix).',
  },
  backlog: { type: 'integer', default: null, description: 'Listen backlog.' },
  linger_timeout: {
    type: 'integer',
    default: 0,
    description: 'Accepted for compatibility; Node cannot set SO_LINGER, connections close normally.',
    deprecated: 'no effect',
  },
  blocking_timeout: {
    type: 'time',
    default: 0.5,
    description: 'Accepted for compatibility; no effect in Sluice.',
    deprecated: 'no effect',
  },
  chunk_size_warn_limit: {
    type: 'size',
    default: null,
    description: 'Log a warning for frames larger than this.',
  },
  chunk_size_limit: {
    type: 'size',
    default: null,
    description:
      'Frames larger than this are refused: the connection is closed with a logged reason (not acked, so the client resends or fails).',
  },
  max_frame_size: {
    type: 'size',
    default: 64 * 1024 * 1024,
    description:
      'Sluice: hard limit on one frame (and on a decompressed payload) when chunk_size_limit is not set; bounds memory per connection.',
  },
  total_partial_size_limit: {
    type: 'size',
    default: 256 * 1024 * 1024,
    description:
      "Sluice: bound on the memory held by unfinished frames across all of this input's connections (per worker). A frame that would pass it closes the connection holding the most (this one when no other holds more), with error INPUT_MEMORY_LIMIT; nothing is acked, so clients resend.",
  },
  partial_frame_timeout: {
    type: 'time',
    default: 60,
    description:
      'Sluice: a connection whose unfinished frame gets no byte for this long is closed and the frame dropped (error FRAME_TIMEOUT); 0 disables.',
  },
  skip_invalid_event: {
    type: 'bool',
    default: false,
    description:
      'Drop entries whose time or record is invalid (with a warning) instead of refusing the whole frame.',
  },
  source_address_key: {
    type: 'string',
    default: null,
    description: "Add the client's IP address to each record under this key.",
  },
  source_hostname_key: {
    type: 'string',
    default: null,
    description: "Add the client's hostname to each record under this key.",
  },
  resolve_hostname: {
    type: 'bool',
    default: null,
    description: 'Resolve the client address to a hostname (default: true when source_hostname_key is set).',
  },
  deny_keepalive: {
    type: 'bool',
    default: false,
    description: 'Close each connection after its first message (and its ack).',
  },
  send_keepalive_packet: {
    type: 'bool',
    default: false,
    description: 'Enable TCP keepalive probes on accepted connections.',
  },
  add_tag_prefix: {
    type: 'string',
    default: null,
    description: 'Prefix added to incoming tags (`prefix.tag`).',
  },
});

const schema = defineSchema({
  params,
  sections: {
    transport: transportSection,
    security: {
      description: 'Handshake authentication (shared key, users, client rules).',
      params: defineParams({
        self_hostname: { type: 'string', required: true, description: 'Hostname sent in PONG.' },
        shared_key: { type: 'secret', required: true, description: 'Shared key clients must prove.' },
        user_auth: {
          type: 'bool',
          default: false,
          description: 'Also require username/password (from <user>).',
        },
        allow_anonymous_source: {
          type: 'bool',
          default: true,
          description: 'Accept clients no <client> entry matches.',
        },
      }),
      sections: {
        user: {
          description: 'A user for user_auth.',
          multi: true,
          params: defineParams({
            username: { type: 'string', required: true, description: 'User name.' },
            password: { type: 'secret', required: true, description: 'Password.' },
          }),
        },
        client: {
          description:
            'A client rule: which hosts/networks, with an optional own shared key and allowed users.',
          multi: true,
          params: defineParams({
            host: { type: 'string', default: null, description: 'Client host name or IP.' },
            network: { type: 'string', default: null, description: 'Client network (CIDR).' },
            shared_key: {
              type: 'secret',
              default: null,
              description: 'Shared key for this client (overrides the <security> one).',
            },
            users: {
              type: 'array',
              default: [],
              description: 'Usernames allowed from this client (all when empty).',
            },
          }),
        },
      },
    },
  },
});

type ForwardInputConfig = Resolved<typeof schema>;

function securityConfig(s: NonNullable<ForwardInputConfig['sections']['security']>): SecurityConfig {
  const p = s.params;
  const clients = s.sections.client.map((c) => {
    const q = c.params;
    if (!q.host && !q.network) throw new ConfigError('<client> needs host or network', c.element.location);
    if (q.host && q.network)
      throw new ConfigError('<client> takes host or network, not both', c.element.location);
    return {
      host: q.host,
      network: q.network,
      sharedKey: q.shared_key,
      users: q.users,
    };
  });
  return {
    selfHostname: p.self_hostname,
    sharedKey: p.shared_key,
    userAuth: p.user_auth,
    allowAnonymousSource: p.allow_anonymous_source,
    users: s.sections.user.map((u) => ({ username: u.params.username, password: u.params.password })),
    clients,
  };
}

export class ForwardInput implements InputPlugin {
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private readonly conns = new Set<Connection>();
  private readonly security: Security | undefined;
  private readonly connOptions: ConnectionOptions;
  /** the memory all connections hold for unfinished frames (total_partial_size_limit) */
  readonly budget: MemoryBudget;
  /** bound address once started (port 0 resolves to the real port) */
  address: { port: number; path?: string } = { port: 0 };

  constructor(
    private readonly config: ForwardInputConfig,
    private readonly ctx: PluginContext,
  ) {
    const p = config.params;
    const sec = config.sections.security;
    this.security = sec ? new Security(securityConfig(sec)) : undefined;
    const limit = p.chunk_size_limit ?? p.max_frame_size;
    this.budget = new MemoryBudget(p.total_partial_size_limit);
    this.connOptions = {
      ctx,
      maxFrameSize: limit,
      warnSize: p.chunk_size_warn_limit,
      skipInvalid: p.skip_invalid_event,
      tagPrefix: p.add_tag_prefix,
      sourceAddressKey: p.source_address_key,
      sourceHostnameKey: p.source_hostname_key,
      resolveHostname: p.resolve_hostname ?? Boolean(p.source_hostname_key),
      denyKeepalive: p.deny_keepalive,
      security: this.security,
      budget: this.budget,
      partialFrameTimeoutMs: p.partial_frame_timeout * 1000,
    };
  }

  private get p(): ForwardInputConfig['params'] {
    return this.config.params;
  }

  private unixPath(): string | undefined {
    const type =
      this.config.element.params.findLast((q) => q.key === '@type' || q.key === 'type')?.value ??
      this.ctx.type;
    return this.p.path ?? (type === 'unix' ? '/var/run/fluent/fluent.sock' : undefined);
  }

  async start(): Promise<void> {
    await this.security?.prepare();
    const tls = tlsServerOptions(this.config.sections.transport);
    const onSocket = (s: Socket) => this.accept(s);
    const server = tls ? createTlsServer(tls) : createServer();
    if (tls) {
      server.on('secureConnection', onSocket);
      server.on('tlsClientError', (e) =>
        this.ctx.logger.warn(
          { code: 'TLS_HANDSHAKE_FAILED', err: e.message },
          'forward TLS handshake failed',
        ),
      );
    } else server.on('connection', onSocket);
    this.server = server;
    const path = this.unixPath();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        server.on('error', (e) =>
          this.ctx.logger.error({ code: 'LISTEN_FAILED', err: e.message }, 'forward listener error'),
        );
        resolve();
      };
      const backlog = this.p.backlog;
      if (path) {
        mkdirSync(dirname(path), { recursive: true });
        if (existsSync(path)) unlinkSync(path);
        server.listen({ path, backlog }, done);
      } else server.listen({ port: this.p.port, host: this.p.bind, backlog }, done);
    });
    if (path) {
      this.address = { port: 0, path };
      this.ctx.logger.info({ path }, 'listening for forward on a unix socket');
      return;
    }
    const port = (server.address() as { port: number }).port;
    this.address = { port };
    await this.startHeartbeat(port);
    this.ctx.logger.info({ bind: this.p.bind, port, tls: Boolean(tls) }, 'listening for forward');
  }

  /** Answers each UDP datagram on the same port with one zero byte, as Fluentd does. */
  private async startHeartbeat(port: number): Promise<void> {
    const bind = this.p.bind;
    const udp = createSocket({ type: isIPv6(bind) ? 'udp6' : 'udp4', reuseAddr: this.ctx.workers > 1 });
    udp.on('message', (_msg, rinfo) => {
      udp.send(Buffer.from([0]), rinfo.port, rinfo.address, (err) => {
        if (err) this.ctx.logger.debug({ err: err.message }, 'heartbeat reply failed');
      });
    });
    udp.on('error', (e) =>
      this.ctx.logger.warn({ code: 'UDP_SOCKET_ERROR', err: e.message }, 'forward heartbeat socket error'),
    );
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, bind, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.udp = udp;
  }

  private accept(socket: Socket): void {
    if (this.p.send_keepalive_packet) socket.setKeepAlive(true);
    socket.setNoDelay(true);
    const conn = new Connection(socket, this.connOptions);
    this.conns.add(conn);
    socket.on('close', () => this.conns.delete(conn));
  }

  connectionStats(): ReturnType<Connection['stats']>[] {
    return [...this.conns].map((c) => c.stats());
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    this.udp?.close();
    this.udp = undefined;
    // Let in-flight emits settle (their acks go out), then drop the connections. An emit
    // held by a blocked buffer must not hold shutdown: its frames stay unacked and are resent.
    await idleOrGrace(Promise.all([...this.conns].map((c) => c.idle)));
    for (const c of this.conns) c.close();
    this.conns.clear();
    await closed;
  }
}

const descriptor: PluginDescriptor<ForwardInput, typeof schema> = {
  kind: 'input',
  multiWorkers: true,
  type: 'forward',
  aliases: ['unix'],
  description:
    'Receives events over the Fluentd forward protocol (TCP, TLS, unix socket), with acks, handshake auth and UDP heartbeats.',
  schema,
  create: (config, ctx) => new ForwardInput(config, ctx),
};

export default descriptor;
