import type { ParamSpec } from '../config/schema.ts';

/** Parameters the tcp, udp and syslog inputs share, with Fluentd's names. */
export function listenParams(defaultPort: number): Record<string, ParamSpec> {
  return {
    port: {
      type: 'integer',
      min: 0,
      max: 65535,
      default: defaultPort,
      description: `Port to listen on (Fluentd's default ${defaultPort}); 0 picks a free port.`,
    },
    bind: { type: 'string', default: '0.0.0.0', description: 'Address to listen on.' },
    source_address_key: {
      type: 'string',
      default: null,
      description: "Add the client's IP address to each record under this key.",
    },
    source_hostname_key: {
      type: 'string',
      default: null,
      description:
        "Add the client's hostname (a reverse lookup, cached for a minute; the address when it has no name) to each record under this key.",
    },
    blocking_timeout: {
      type: 'time',
      default: 0.5,
      description: "Fluentd's event-loop timeout. Accepted for compatibility; no effect in Sluice.",
      deprecated: 'no effect',
    },
  };
}

/** What a `<transport>`'s TCP connections share: the bound on unfinished messages. */
export const PARTIAL_LIMIT: ParamSpec = {
  type: 'size',
  default: 64 * 1024 * 1024,
  description:
    "Sluice: bound on the memory held by unfinished messages across all of this input's TCP connections (per worker), so also on one message. A message that would pass it closes the connection holding the most (this one when no other holds more), with error INPUT_MEMORY_LIMIT.",
};

/** What UDP datagrams waiting for the outputs may hold. */
export const QUEUE_LIMIT: ParamSpec = {
  type: 'size',
  default: 16 * 1024 * 1024,
  description:
    'Sluice: bound on the bytes of UDP datagrams received while the outputs have not yet accepted the previous ones (per worker). Datagrams past it are dropped and counted (error UDP_QUEUE_FULL): UDP cannot push back on a sender.',
};
