import { EventTime } from '@sluice/forward';
import { type ConfigElement, param } from '../../config/ast.ts';
import { defineParams, defineSchema, defineSection, type Resolved } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import { MemoryBudget } from '../../core/memory-budget.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { tlsServerOptions, transportSection } from '../../core/tls-transport.ts';
import type { TagBatches } from '../../shared/net-in/batches.ts';
import { DelimiterFramer, OctetCountFramer } from '../../shared/net-in/framing.ts';
import { listenParams, PARTIAL_LIMIT, QUEUE_LIMIT } from '../../shared/net-in/params.ts';
import { quote } from '../../shared/net-in/parsed-sink.ts';
import { HostnameCache, type Peer } from '../../shared/net-in/peer.ts';
import { Reporter } from '../../shared/net-in/report.ts';
import { type MessageSink, StreamServer } from '../../shared/net-in/stream-server.ts';
import { UdpReceiver } from '../../shared/net-in/udp-receiver.ts';
import type { SluiceParser } from '../../shared/parse/common.ts';

// Fluentd's in_syslog: syslog messages over UDP, TCP or TLS, newline-framed or octet-counted
// (RFC 6587), parsed by <parse> (the syslog parser by default: RFC 3164, RFC 5424, or auto),
// emitted under TAG.FACILITY.SEVERITY. Ported from in_syslog.rb of Fluentd 1.14.6, including
// where it is surprising (see docs/syslog.md).

export const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'at',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'] as const;

/** in_syslog's SYSLOG_REGEXP, /^\<([0-9]+)\>(.*)/ with Ruby's line anchors and `.`. */
const SYSLOG_REGEXP = /^<([0-9]+)>([^\n]*)/m;

const params = defineParams({
  ...listenParams(5140),
  tag: {
    type: 'string',
    required: true,
    description: 'Prefix of the tag; each event is tagged TAG.FACILITY.SEVERITY (e.g. system.auth.info).',
  },
  protocol_type: {
    type: 'enum',
    values: ['tcp', 'udp'],
    default: null,
    description: 'Old way to choose the transport; overrides <transport>.',
    deprecated: 'use <transport tcp|udp|tls>',
  },
  frame_type: {
    type: 'enum',
    values: ['traditional', 'octet_count'],
    default: 'traditional',
    description:
      'TCP framing: traditional (each message ended by `delimiter`) or octet_count (RFC 6587 `LEN SP MSG`).',
  },
  include_source_host: {
    type: 'bool',
    default: false,
    description: "Add the client's address under source_host_key.",
    deprecated: 'use source_address_key or source_hostname_key',
  },
  source_host_key: {
    type: 'string',
    default: 'source_host',
    description: 'The key include_source_host writes.',
  },
  emit_unmatched_lines: {
    type: 'bool',
    default: false,
    description:
      'Emit a message the parser does not match as {"unmatched_line": MESSAGE} under TAG.unmatched, instead of only logging it.',
  },
  resolve_hostname: {
    type: 'bool',
    default: null,
    description:
      'Resolve client addresses to names; true by default when source_hostname_key is set, and may not be false then.',
  },
  send_keepalive_packet: {
    type: 'bool',
    default: false,
    description: 'Enable TCP keepalive probes on accepted connections (tcp and tls only).',
  },
  severity_key: {
    type: 'string',
    default: null,
    aliases: ['priority_key'],
    description:
      'Add the severity name (emerg, alert, crit, err, warn, notice, info, debug) under this key. priority_key is its deprecated name.',
  },
  facility_key: {
    type: 'string',
    default: null,
    description: 'Add the facility name (kern, user, mail, ..., local7) under this key.',
  },
  message_length_limit: {
    type: 'size',
    default: 2048,
    description:
      'UDP: most bytes read of one datagram; a longer one is cut to it, as in Fluentd, and reported (error UDP_TRUNCATED). TCP messages are bounded by total_partial_size_limit.',
  },
  delimiter: {
    type: 'string',
    default: '\n',
    description: 'With frame_type traditional over TCP: the string that ends each message.',
  },
  receive_buffer_size: {
    type: 'size',
    default: null,
    description:
      "Sluice (in_udp's parameter): the UDP socket's receive buffer (SO_RCVBUF); the system default when unset. Raise it for bursts: the kernel drops what does not fit (capped by net.core.rmem_max).",
  },
  total_partial_size_limit: PARTIAL_LIMIT,
  queue_size_limit: QUEUE_LIMIT,
});

const transport = defineSection({
  ...transportSection,
  description:
    'The transport: `<transport udp>` (the default), `<transport tcp>` or `<transport tls>` (with the TLS parameters).',
  arg: 'udp | tcp | tls',
});

/** The parts of one message handler (Fluentd's message_handler), bound to an input's settings. */
interface SyslogSettings {
  tag: string;
  parser: SluiceParser;
  /** the parser reads <priority> itself (syslog parser with with_priority true) */
  parserParsesPriority: boolean;
  severityKey?: string;
  facilityKey?: string;
  sourceAddressKey?: string;
  sourceHostnameKey?: string;
  emitUnmatched: boolean;
  reporter: Reporter;
}

function now(): EventTime {
  const ms = Date.now();
  return new EventTime(Math.floor(ms / 1000), (ms % 1000) * 1e6);
}

/** in_syslog's message_handler: one message to one event under TAG.FACILITY.SEVERITY. */
export function syslogSink(s: SyslogSettings): MessageSink {
  const addSource = (record: EventRecord, peer: Peer) => {
    if (s.sourceAddressKey) record[s.sourceAddressKey] = peer.address;
    if (s.sourceHostnameKey) record[s.sourceHostnameKey] = peer.hostname ?? peer.address;
  };
  const unmatched = (data: string, peer: Peer, out: TagBatches, msg: string, error?: string) => {
    if (s.emitUnmatched) {
      const record: EventRecord = { unmatched_line: data };
      addSource(record, peer);
      const t = now();
      out.add(`${s.tag}.unmatched`, t.sec, t.nsec, record);
    }
    s.reporter.problem('INPUT_UNMATCHED', 'warn', `syslog: ${msg}`, {
      data: quote(data),
      error,
      remote: peer.address,
    });
  };
  /** TAG.FACILITY.SEVERITY by priority, made once each */
  const tags: string[] = [];
  return (b, start, end, peer, out) => {
    const data = b.toString('utf8', start, end);
    let pri: number | undefined;
    let text = data;
    if (!s.parserParsesPriority) {
      const m = SYSLOG_REGEXP.exec(data);
      if (!m) {
        unmatched(data, peer, out, 'invalid syslog message: no <priority>');
        return;
      }
      pri = Number(m[1]);
      text = m[2]!;
    }
    let r: ReturnType<SluiceParser['parse']>;
    try {
      r = s.parser.parse(text);
    } catch (e) {
      unmatched(data, peer, out, 'invalid input', (e as Error).message);
      return;
    }
    if (!r?.time) {
      unmatched(data, peer, out, 'failed to parse message', s.parser.lastError);
      return;
    }
    let record = r.record;
    if (pri === undefined) {
      pri = record.pri as number | undefined;
      // `delete` of the first key would turn the record into a slow dictionary object.
      const rest: EventRecord = {};
      for (const k in record) if (k !== 'pri') rest[k] = record[k];
      record = rest;
    }
    if (typeof pri !== 'number') {
      unmatched(data, peer, out, 'invalid input', 'the parser gave no priority');
      return;
    }
    const facility = FACILITIES[pri >> 3];
    const severity = SEVERITIES[pri & 7]!;
    if (s.severityKey) record[s.severityKey] = severity;
    // A priority past local7 has no facility: Fluentd writes nil, and an empty tag part.
    if (s.facilityKey) record[s.facilityKey] = facility ?? null;
    addSource(record, peer);
    const tag =
      pri < 256 ? (tags[pri] ??= `${s.tag}.${facility ?? ''}.${severity}`) : `${s.tag}..${severity}`;
    out.add(tag, r.time.sec, r.time.nsec, record);
  };
}

const schema = defineSchema({
  params,
  sections: {
    parse: {
      description:
        'How each message is parsed (default: the syslog parser, message_format rfc3164, with_priority true: the parser reads the <priority>). With another parser, or with_priority false, in_syslog reads the <priority> and hands the parser the rest.',
      plugin: 'parser',
    },
    transport,
  },
});

export class SyslogInput implements InputPlugin {
  private server: StreamServer | UdpReceiver | undefined;
  readonly budget: MemoryBudget;
  private readonly reporter: Reporter;
  private readonly parser: SluiceParser;
  private readonly protocol: 'udp' | 'tcp' | 'tls';
  private readonly parserParsesPriority: boolean;
  private readonly sourceAddressKey: string | undefined;
  private readonly resolveHostname: boolean;
  port = 0;

  constructor(
    private readonly config: Resolved<typeof schema>,
    private readonly ctx: PluginContext,
  ) {
    const p = config.params;
    const el = config.element;
    const t = config.sections.transport;
    const arg = (t?.arg || 'udp').trim();
    if (arg !== 'udp' && arg !== 'tcp' && arg !== 'tls')
      throw new ConfigError(`<transport ${arg}>: expected udp, tcp or tls`, t!.element.location);
    this.protocol = p.protocol_type ?? arg;
    if (param(el, 'priority_key'))
      ctx.logger.warn({ code: 'PARAM_DEPRECATED' }, 'priority_key is deprecated. Use severity_key instead');
    if (p.include_source_host && p.source_address_key)
      throw new ConfigError('specify either source_address_key or include_source_host', el.location);
    this.sourceAddressKey = p.include_source_host ? p.source_host_key : p.source_address_key;
    this.resolveHostname = p.resolve_hostname ?? false;
    if (p.source_hostname_key) {
      if (p.resolve_hostname === false)
        throw new ConfigError(
          'resolve_hostname must be true with source_hostname_key',
          param(el, 'resolve_hostname')?.location ?? el.location,
        );
      this.resolveHostname = true;
    }
    if (p.send_keepalive_packet && this.protocol === 'udp')
      throw new ConfigError('send_keepalive_packet is available for tcp/tls', el.location);
    if (this.protocol === 'tls') {
      if (!tlsServerOptions(t))
        throw new ConfigError('<transport tls> needs cert_path and private_key_path', el.location);
    }
    this.budget = new MemoryBudget(this.protocol === 'udp' ? p.queue_size_limit : p.total_partial_size_limit);
    this.reporter = new Reporter(ctx);
    const parseEl = parseElement(config.sections.parse?.element, el);
    this.parser = ctx.createNested<SluiceParser>('parser', parseEl, 'syslog');
    const withPriority = (this.parser as { withPriority?: boolean }).withPriority;
    this.parserParsesPriority = withPriority === true;
    const format = param(parseEl, 'message_format')?.value;
    if (withPriority === false && (format === 'rfc5424' || format === 'auto')) {
      // As in Fluentd: in_syslog cuts the <priority> off, and the parser no longer sees the
      // `<PRI>VERSION` that marks RFC 5424, so RFC 5424 messages fail to parse.
      ctx.logger.warn(
        { code: 'SYSLOG_5424_WITHOUT_PRIORITY' },
        `<parse> message_format ${format} with with_priority false cannot read RFC 5424 messages (as in Fluentd): remove 'with_priority false'`,
      );
    }
  }

  async start(): Promise<void> {
    const p = this.config.params;
    const hostKey = p.source_hostname_key;
    const sink = syslogSink({
      tag: p.tag,
      parser: this.parser,
      parserParsesPriority: this.parserParsesPriority,
      severityKey: p.severity_key,
      facilityKey: p.facility_key,
      sourceAddressKey: this.sourceAddressKey,
      sourceHostnameKey: hostKey,
      emitUnmatched: p.emit_unmatched_lines,
      reporter: this.reporter,
    });
    const hostnames = hostKey && this.resolveHostname ? new HostnameCache() : undefined;
    const common = {
      ctx: this.ctx,
      name: 'syslog',
      port: p.port,
      bind: p.bind,
      sink,
      budget: this.budget,
      reporter: this.reporter,
      hostnames,
    };
    if (this.protocol === 'udp') {
      const r = new UdpReceiver({
        ...common,
        maxBytes: p.message_length_limit,
        receiveBufferSize: p.receive_buffer_size,
        chomp: true,
      });
      await r.start();
      this.server = r;
      this.port = r.port;
    } else {
      const octets = p.frame_type === 'octet_count';
      const delimiter = Buffer.from(p.delimiter, 'utf8');
      const limit = p.total_partial_size_limit;
      const s = new StreamServer({
        ...common,
        tls: this.protocol === 'tls' ? tlsServerOptions(this.config.sections.transport) : undefined,
        keepalive: p.send_keepalive_packet,
        framer: () => (octets ? new OctetCountFramer(limit) : new DelimiterFramer(delimiter, undefined)),
      });
      await s.start();
      this.server = s;
      this.port = s.port;
    }
    this.ctx.logger.info(
      `listening syslog socket on ${p.bind}:${this.port} with ${this.protocol}${this.protocol === 'udp' ? '' : ` (${p.frame_type})`}`,
    );
  }

  connectionStats(): ReturnType<StreamServer['connectionStats']> {
    return this.server instanceof StreamServer ? this.server.connectionStats() : [];
  }

  /** Settles once the datagrams received so far were emitted (UDP; tests). */
  get idle(): Promise<void> {
    return this.server instanceof UdpReceiver ? this.server.idle : Promise.resolve();
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.stop();
  }
}

/**
 * in_syslog's <parse>: the syslog parser by default, and `with_priority true` unless the
 * section says otherwise (in_syslog's section default, which Fluentd's syslog parser sees:
 * checked against Fluentd 1.14.6, where `<parse> message_format auto </parse>` reads RFC 5424).
 */
function parseElement(given: ConfigElement | undefined, parent: ConfigElement): ConfigElement {
  const el = given ?? { name: 'parse', arg: '', params: [], elements: [], location: parent.location };
  const type = param(el, '@type')?.value ?? param(el, 'type')?.value ?? 'syslog';
  if (type !== 'syslog' || param(el, 'with_priority')) return el;
  return { ...el, params: [...el.params, { key: 'with_priority', value: 'true', location: el.location }] };
}

const descriptor: PluginDescriptor<SyslogInput, typeof schema> = {
  kind: 'input',
  type: 'syslog',
  multiWorkers: true,
  description:
    'Receives syslog over UDP, TCP or TLS (RFC 3164, RFC 5424; newline or octet-counted framing), tagged TAG.FACILITY.SEVERITY (Fluentd in_syslog).',
  schema,
  create: (config, ctx) => new SyslogInput(config, ctx),
};

export default descriptor;
