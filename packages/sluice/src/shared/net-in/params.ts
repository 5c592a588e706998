import { defineParams, defineSection, type ParamSpec, type SectionOf } from '../../config/schema.ts';

/** Parameters the tcp, udp and syslog inputs share, with Fluentd's names. */
export function listenParams(defaultPort: number) {
  return defineParams({
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
  });
}

/** What a `<transport>`'s TCP connections share: the bound on unfinished messages. */
export const PARTIAL_LIMIT = {
  type: 'size',
  default: 64 * 1024 * 1024,
  description:
    "Sluice: bound on the memory held by unfinished messages across all of this input's TCP connections (per worker), so also on one message. A message that would pass it closes the connection holding the most (this one when no other holds more), with error INPUT_MEMORY_LIMIT.",
} as const satisfies ParamSpec;

/** What UDP datagrams waiting for the outputs may hold. */
export const QUEUE_LIMIT = {
  type: 'size',
  default: 16 * 1024 * 1024,
  description:
    'Sluice: bound on the bytes of UDP datagrams received while the outputs have not yet accepted the previous ones (per worker). Datagrams past it are dropped and counted (error UDP_QUEUE_FULL): UDP cannot push back on a sender.',
} as const satisfies ParamSpec;

/**
 * `<extract>` of in_tcp / in_udp (Fluentd's extract helper). Only the tag is ever taken: both
 * inputs read a record's time from the parser and treat a record without one as unmatched, so
 * Fluentd never reaches its time extraction; its parameters are accepted for compatibility.
 */
export const extractSection = defineSection({
  description: "Take each event's tag from a record field (tag_key), as Fluentd's extract helper.",
  params: {
    tag_key: {
      type: 'string',
      default: null,
      description: "The field whose value becomes the event's tag (the input's tag when a record lacks it).",
    },
    keep_tag_key: { type: 'bool', default: false, description: 'Keep tag_key in the record.' },
    time_key: {
      type: 'string',
      default: null,
      description:
        'Accepted for compatibility: in_tcp and in_udp never use it in Fluentd (the parser gives the time).',
      deprecated: 'no effect',
    },
    keep_time_key: {
      type: 'bool',
      default: false,
      description: 'Accepted for compatibility.',
      deprecated: 'no effect',
    },
    time_type: {
      type: 'enum',
      values: ['float', 'unixtime', 'string'],
      default: 'float',
      description: 'Accepted for compatibility.',
      deprecated: 'no effect',
    },
    time_format: {
      type: 'string',
      default: null,
      description: 'Accepted for compatibility.',
      deprecated: 'no effect',
    },
    timezone: {
      type: 'string',
      default: null,
      description: 'Accepted for compatibility.',
      deprecated: 'no effect',
    },
    utc: {
      type: 'bool',
      default: false,
      description: 'Accepted for compatibility.',
      deprecated: 'no effect',
    },
    localtime: {
      type: 'bool',
      default: true,
      description: 'Accepted for compatibility.',
      deprecated: 'no effect',
    },
  },
});

/** tag_key / keep_tag_key of a resolved `<extract>`. */
export function extractTag(
  section: SectionOf<typeof extractSection> | undefined,
): { key: string; keep: boolean } | undefined {
  const key = section?.params.tag_key;
  return section && key ? { key, keep: section.params.keep_tag_key } : undefined;
}
