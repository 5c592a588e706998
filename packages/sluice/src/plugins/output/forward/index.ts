import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';
import { compressEntries, type ForwardOption, newChunkId } from '@sluice/forward';
import { defineParams, defineSchema, type Resolved } from '../../../config/schema.ts';
import { ConfigError, SluiceError } from '../../../core/errors.ts';
import type {
  Chunk,
  OutputPlugin,
  PluginContext,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { nodeTlsVersion, TLS_VERSIONS } from '../../../core/tls-transport.ts';
import type { ClientAuth } from './connection.ts';
import { orderNodes } from './load-balancer.ts';
import { ForwardNode, type NodeSettings } from './node.ts';
import { timesAsIntegers } from './time-as-integer.ts';

// Fluentd's out_forward: each buffer chunk goes out as ONE PackedForward message built
// from the chunk's bytes (records are never decoded), to a weighted-random server,
// failing over to standby servers; acks, handshake auth, TLS, heartbeats, phi accrual.

const params = defineParams({
  require_ack_response: {
    type: 'bool',
    default: false,
    description: 'Wait for the server to ack each chunk; an unacked chunk is retried (at-least-once).',
  },
  ack_response_timeout: {
    type: 'time',
    default: 190,
    description: 'Seconds to wait for an ack before the chunk is retried.',
  },
  send_timeout: {
    type: 'time',
    default: 60,
    description: 'Seconds a chunk may take to be written to the socket.',
  },
  connect_timeout: {
    type: 'time',
    default: null,
    description: 'Seconds a connect (and handshake) may take (default: send_timeout).',
  },
  keepalive: {
    type: 'bool',
    default: false,
    description:
      'Reuse one connection per server instead of one per chunk. Sluice opens it at start (standby servers: when first used); a server not up yet is connected by the first chunk.',
  },
  keepalive_timeout: {
    type: 'time',
    default: null,
    description: 'Close a kept-alive connection idle for this long (default: never).',
  },
  send_keepalive_packet: {
    type: 'bool',
    default: false,
    description: 'Enable TCP keepalive probes on connections.',
  },
  compress: {
    type: 'enum',
    values: ['text', 'gzip'],
    default: 'text',
    description: 'gzip: send CompressedPackedForward.',
  },
  time_as_integer: {
    type: 'bool',
    default: false,
    description: 'Send times as integer seconds (for Fluentd v0.12 receivers).',
  },
  heartbeat_type: {
    type: 'enum',
    values: ['transport', 'tcp', 'udp', 'none'],
    default: 'transport',
    description:
      'How servers are probed: a connect over the transport, plain tcp, a udp datagram, or not at all.',
  },
  heartbeat_interval: { type: 'time', default: 1, description: 'Seconds between heartbeats.' },
  phi_failure_detector: {
    type: 'bool',
    default: true,
    description: 'Detach servers whose phi (accrual failure detector) passes phi_threshold.',
  },
  phi_threshold: { type: 'integer', default: 16, description: 'Phi above which a server is detached.' },
  hard_timeout: {
    type: 'time',
    default: 60,
    description: 'Detach a server with no heartbeat for this long.',
  },
  recover_wait: {
    type: 'time',
    default: 10,
    description: 'Heartbeats worth of this many seconds are needed before a detached server is used again.',
  },
  expire_dns_cache: {
    type: 'time',
    default: null,
    description: 'Seconds a resolved address is reused (default: forever; 0: resolve each time).',
  },
  dns_round_robin: {
    type: 'bool',
    default: false,
    description: 'Rotate over all addresses a host name resolves to.',
  },
  ignore_network_errors_at_startup: {
    type: 'bool',
    default: false,
    description:
      'Start even when a server cannot be resolved (or reached, with verify_connection_at_startup).',
  },
  verify_connection_at_startup: {
    type: 'bool',
    default: false,
    description: 'Connect (and handshake) to every server at startup; fail to start otherwise.',
  },
  transport: { type: 'enum', values: ['tcp', 'tls'], default: 'tcp', description: 'tls: connect with TLS.' },
  tls_version: {
    type: 'enum',
    values: TLS_VERSIONS,
    default: 'TLSv1_2',
    description: 'Minimum TLS version.',
  },
  tls_ciphers: { type: 'string', default: null, description: 'OpenSSL cipher list.' },
  tls_insecure_mode: {
    type: 'bool',
    default: false,
    description: 'Do not verify the server certificate (tests only).',
  },
  tls_allow_self_signed_cert: {
    type: 'bool',
    default: false,
    description: 'Accept a self-signed server certificate listed in tls_cert_path.',
  },
  tls_verify_hostname: {
    type: 'bool',
    default: true,
    description: 'Check the server certificate matches the host name.',
  },
  tls_cert_path: {
    type: 'array',
    default: [],
    description: 'CA certificate files (PEM) that sign the server certificate.',
  },
  tls_client_cert_path: {
    type: 'string',
    default: null,
    description: 'Client certificate (PEM) for mutual TLS.',
  },
  tls_client_private_key_path: { type: 'string', default: null, description: 'Client private key (PEM).' },
  tls_client_private_key_passphrase: {
    type: 'secret',
    default: null,
    description: 'Passphrase of the client private key.',
  },
});

const schema = defineSchema({
  params,
  sections: {
    server: {
      description: 'A server to send to (at least one).',
      multi: true,
      required: true,
      params: defineParams({
        host: { type: 'string', required: true, description: 'Host name or IP.' },
        port: {
          type: 'integer',
          min: 0,
          max: 65535,
          default: 24224,
          description:
            'Port. 0, which is what Fluentd reads from an empty value (`port "#{ENV[\'X\']}"` with X unset), connects nowhere: every flush fails and is retried, as in Fluentd.',
        },
        weight: { type: 'integer', default: 60, description: 'Relative share of chunks (weighted random).' },
        standby: {
          type: 'bool',
          default: false,
          description: 'Only used when no regular server is available.',
        },
        name: { type: 'string', default: null, description: 'Name in logs (default host:port).' },
        shared_key: {
          type: 'secret',
          default: null,
          description: 'Shared key for this server (overrides <security>).',
        },
        username: { type: 'string', default: '', description: 'Username for servers with user_auth.' },
        password: { type: 'secret', default: '', description: 'Password for servers with user_auth.' },
      }),
    },
    security: {
      description: 'Authenticate with the handshake (servers with <security>).',
      params: defineParams({
        self_hostname: {
          type: 'string',
          default: null,
          description: 'Hostname sent in PING (default: this machine).',
        },
        shared_key: { type: 'secret', required: true, description: 'Shared key.' },
      }),
    },
  },
});

/** The resolved config of out_forward (agent_forward extends it). */
export type ForwardConfig = Resolved<typeof schema>;
type P = ForwardConfig['params'];

function tlsFrom(p: P, el: ForwardConfig): TlsConnectOptions | undefined {
  if (p.transport !== 'tls') return undefined;
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`${what} '${path}' cannot be read: ${(e as Error).message}`, el.element.location);
    }
  };
  const cas = p.tls_cert_path.map((f) => read(f, 'tls_cert_path'));
  return {
    ca: cas.length > 0 ? cas : undefined,
    cert: p.tls_client_cert_path ? read(p.tls_client_cert_path, 'tls_client_cert_path') : undefined,
    key: p.tls_client_private_key_path
      ? read(p.tls_client_private_key_path, 'tls_client_private_key_path')
      : undefined,
    passphrase: p.tls_client_private_key_passphrase,
    minVersion: nodeTlsVersion(p.tls_version),
    ciphers: p.tls_ciphers,
    rejectUnauthorized: !p.tls_insecure_mode,
    // Node asserts this is a function when the key is present: set it only to skip the check.
    ...(p.tls_verify_hostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

export class ForwardOutput implements OutputPlugin {
  readonly nodes: ForwardNode[];
  private timer: NodeJS.Timeout | undefined;
  private readonly p: P;

  constructor(
    config: ForwardConfig,
    private readonly ctx: PluginContext,
  ) {
    const p = config.params;
    this.p = p;
    const sec = config.sections.security;
    const tls = tlsFrom(p, config);
    const servers = config.sections.server;
    if (servers.length === 0)
      throw new ConfigError('out_forward needs at least one <server>', config.element.location);
    this.nodes = servers.map((s) => {
      const q = s.params;
      let auth: ClientAuth | undefined;
      if (sec || q.shared_key) {
        const sharedKey = q.shared_key ?? sec?.params.shared_key ?? '';
        auth = {
          hostname: sec?.params.self_hostname ?? hostname(),
          sharedKey,
          username: q.username,
          password: q.password,
        };
      }
      const settings: NodeSettings = {
        name: q.name ?? `${q.host}:${q.port}`,
        host: q.host,
        port: q.port,
        weight: q.weight,
        standby: q.standby,
        auth,
        tls,
        heartbeatType: p.heartbeat_type,
        heartbeatIntervalS: p.heartbeat_interval,
        phiFailureDetector: p.phi_failure_detector,
        phiThreshold: p.phi_threshold,
        hardTimeoutS: p.hard_timeout,
        recoverWaitS: p.recover_wait,
        connectTimeoutMs: (p.connect_timeout ?? p.send_timeout) * 1000,
        sendTimeoutMs: p.send_timeout * 1000,
        ackTimeoutMs: p.ack_response_timeout * 1000,
        keepalive: p.keepalive,
        keepaliveTimeoutS: p.keepalive_timeout,
        sendKeepalivePacket: p.send_keepalive_packet,
        expireDnsCacheS: p.expire_dns_cache,
        dnsRoundRobin: p.dns_round_robin,
      };
      return new ForwardNode(settings, ctx.logger);
    });
  }

  async start(): Promise<void> {
    const ignore = this.p.ignore_network_errors_at_startup;
    for (const n of this.nodes) {
      try {
        await n.resolve();
        if (this.p.verify_connection_at_startup) await n.verify();
      } catch (e) {
        const msg = `forward server ${n} is not usable at startup: ${(e as Error).message}`;
        if (!ignore) throw new SluiceError('FORWARD_NO_SERVER', msg);
        this.ctx.logger.warn({ code: 'FORWARD_NO_SERVER' }, msg);
      }
    }
    for (const n of this.nodes) if (!n.s.standby && n.available) n.warm();
    // Also runs with heartbeat_type none: beat() then brings failed servers back after recover_wait.
    this.timer = setInterval(() => {
      for (const n of this.nodes) void n.beat();
    }, this.p.heartbeat_interval * 1000);
    this.timer.unref();
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    const tag = chunk.keys.tag;
    if (tag === undefined)
      return {
        status: 'fatal',
        error: new SluiceError('SLUICE_CONFIG', "out_forward needs the 'tag' chunk key (<buffer tag>)"),
      };
    let entries = this.p.time_as_integer ? timesAsIntegers(chunk.bytes) : chunk.bytes;
    const option: ForwardOption = { size: chunk.count };
    if (this.p.compress === 'gzip') {
      entries = await compressEntries(entries);
      option.compressed = 'gzip';
    }
    const errors: string[] = [];
    for (const node of orderNodes(this.nodes)) {
      // A fresh id per attempt: an ack can never be mistaken for another attempt's.
      if (this.p.require_ack_response) option.chunk = newChunkId();
      try {
        await node.send(tag, entries, option);
        return { status: 'ok' };
      } catch (e) {
        errors.push(`${node}: ${(e as Error).message}`);
        node.markFailed(e as Error);
      }
    }
    return {
      status: 'retry',
      error: new SluiceError(
        'FORWARD_SEND_FAILED',
        `no forward server took chunk ${chunk.id}: ${errors.join('; ')}`,
      ),
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const n of this.nodes) n.close();
  }
}

const descriptor: PluginDescriptor<ForwardOutput, typeof schema> = {
  kind: 'output',
  type: 'forward',
  description:
    'Sends chunks over the Fluentd forward protocol (PackedForward), with acks, load balancing, standby failover, heartbeats, TLS and handshake auth.',
  schema,
  buffered: 'always',
  bufferDefaults: { chunkKeys: ['tag'] },
  create: (config, ctx) => new ForwardOutput(config, ctx),
};

export default descriptor;
