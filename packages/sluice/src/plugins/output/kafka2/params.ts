// out_kafka2's parameters (fluent-plugin-kafka's out_kafka2.rb, with kafka_plugin_util.rb's
// TLS and SASL ones in kafka/connection.ts), and the v0.12 ones kafka_buffered and kafka
// accept (out_kafka_buffered.rb), read when the directive is written with those names.
import { defineParams, type ParamsOf } from '../../../config/schema.ts';
import { connectionParams } from '../../../shared/kafka/connection.ts';

export const params = defineParams({
  ...connectionParams,
  topic: {
    type: 'string',
    description:
      'The topic of every message, placeholders resolved per chunk (e.g. logs.${tag}); overrides topic_key and default_topic.',
    default: null,
  },
  topic_key: {
    type: 'string',
    description:
      'Record field holding the topic: used through the `topic` chunk key (the default <buffer> key), or per record with kafka_buffered.',
    default: 'topic',
  },
  default_topic: {
    type: 'string',
    description: "Topic of records without topic_key; without it, the event's tag is the topic.",
    default: null,
  },
  message_key_key: {
    type: 'string',
    description: 'Record field holding the message key.',
    default: 'message_key',
  },
  default_message_key: {
    type: 'string',
    description: 'Message key of records without message_key_key.',
    default: null,
  },
  partition_key_key: {
    type: 'string',
    description: 'Record field holding the partition key: hashed to choose the partition.',
    default: 'partition_key',
  },
  default_partition_key: {
    type: 'string',
    description: 'Partition key of records without partition_key_key.',
    default: null,
  },
  partition_key: {
    type: 'string',
    description: 'Record field holding the partition number itself.',
    default: 'partition',
  },
  default_partition: {
    type: 'integer',
    description: 'Partition of records without partition_key.',
    default: null,
  },
  partitioner_hash_function: {
    type: 'enum',
    values: ['crc32', 'murmur2'],
    description:
      "How a partition key (else the message key) chooses the partition: crc32 (ruby-kafka's) or murmur2 (the Java client's, positive part).",
    default: 'crc32',
  },
  record_key: {
    type: 'string',
    description:
      'A record accessor ($.a.b or a plain key): only that field of the record is formatted and sent.',
    default: null,
  },
  exclude_topic_key: { type: 'bool', description: 'Remove topic_key from the record sent.', default: false },
  exclude_partition_key: {
    type: 'bool',
    description: 'Remove partition_key_key from the record sent.',
    default: false,
  },
  exclude_partition: {
    type: 'bool',
    description: 'Remove partition_key from the record sent.',
    default: false,
  },
  exclude_message_key: {
    type: 'bool',
    description: 'Remove message_key_key from the record sent.',
    default: false,
  },
  exclude_fields: {
    type: 'array',
    description: 'Record accessors ($.a.b) of fields removed from the record sent.',
    default: [],
  },
  use_event_time: {
    type: 'bool',
    description: "The message timestamp is the event's time (else the time it is sent).",
    default: false,
  },
  headers: { type: 'hash', description: 'Headers added to every message (key:value,...).', default: {} },
  headers_from_record: {
    type: 'hash',
    description: 'Headers taken from the record: header:$.record.path,...',
    default: {},
  },
  max_send_retries: {
    type: 'integer',
    description:
      'How many times a failed produce request is retried before the chunk goes back to the buffer.',
    default: 2,
    min: 0,
  },
  required_acks: {
    type: 'integer',
    description: 'Acknowledgements a produce request needs: -1 all in-sync replicas, 1 the leader, 0 none.',
    default: -1,
    min: -1,
    max: 1,
  },
  ack_timeout: {
    type: 'time',
    description: 'How long a produce request may wait for its acknowledgement (default 30 s).',
    default: null,
  },
  compression_codec: {
    type: 'enum',
    values: ['gzip', 'snappy', 'lz4', 'zstd'],
    description: 'Compression of the record batches (zstd needs a Node with zlib zstd, 22.15 or later).',
    default: null,
  },
  max_send_limit_bytes: {
    type: 'size',
    description:
      'A message (formatted record) larger than this is not sent: it goes to <label @ERROR> (or is logged) and the rest of the chunk is delivered.',
    default: null,
  },
  discard_kafka_delivery_failed: {
    type: 'bool',
    description: 'A chunk whose delivery failed is logged and dropped instead of retried.',
    default: false,
  },
  idempotent: {
    type: 'bool',
    description:
      'Idempotent producer, so a retried request is not written twice. Sluice: true by default (Fluentd: false); needs required_acks -1.',
    default: null,
  },
  exactly_once: {
    type: 'bool',
    description:
      "Sluice: each chunk is written in a Kafka transaction that also records the chunk's id, so a chunk replayed from the buffer after a crash is recognised and not written twice (read the topic with isolation level read_committed). Needs required_acks -1 and a broker that allows transactions.",
    default: false,
  },
  transactional_id: {
    type: 'string',
    description:
      'Sluice: the transactional id of exactly_once (setting it turns exactly_once on); also the consumer group name its chunk ids are kept under. Unique among running producers, the same across restarts of the one whose buffer it is; -<worker id> is appended with several workers. Default: sluice-<host name>-<@id>.',
    default: null,
  },
  max_batch_bytes: {
    type: 'size',
    description:
      "Sluice: the most message bytes in one produce request; a chunk is sent in requests of this size, one after the other. Keep it under the broker's message.max.bytes.",
    default: 1_000_000,
  },
  use_default_for_unknown_topic: {
    type: 'bool',
    description: 'Accepted for compatibility (topics are created by the broker when it allows it).',
    default: false,
    deprecated: 'not acted on',
  },
  ignore_exceptions: {
    type: 'array',
    description: 'Accepted for compatibility: Ruby exception names do not apply.',
    default: [],
    deprecated: 'not acted on',
  },
  exception_backup: {
    type: 'bool',
    description: 'Accepted for compatibility.',
    default: true,
    deprecated: 'not acted on',
  },
  resolve_seed_brokers: {
    type: 'bool',
    description: 'Accepted for compatibility: every address of a broker host name is tried anyway.',
    default: false,
    deprecated: 'not acted on',
  },
  get_kafka_client_log: {
    type: 'bool',
    description: 'Accepted for compatibility.',
    default: false,
    deprecated: 'not acted on',
  },
  share_producer: {
    type: 'bool',
    description: 'Accepted for compatibility: the one producer is always shared.',
    default: false,
    deprecated: 'not acted on',
  },
  active_support_notification_regex: {
    type: 'string',
    description: 'Accepted for compatibility (Ruby instrumentation).',
    default: null,
    deprecated: 'not acted on',
  },
  // v0.12: kafka_buffered and kafka
  output_data_type: {
    type: 'string',
    description:
      'kafka_buffered/kafka: json (default), ltsv, msgpack, attr:field1,field2, or a formatter type; use <format> with kafka2.',
    default: null,
  },
  output_include_tag: {
    type: 'bool',
    description: 'kafka_buffered/kafka: add the tag as "tag".',
    default: false,
  },
  output_include_time: {
    type: 'bool',
    description: 'kafka_buffered/kafka: add the time as "time".',
    default: false,
  },
  time_format: {
    type: 'string',
    description: 'kafka_buffered/kafka: strftime format of "time" (default: epoch seconds).',
    default: null,
  },
  field_separator: {
    type: 'string',
    description:
      'kafka_buffered/kafka with attr:: separator of the fields, SPACE, COMMA, SOH or TAB (default).',
    default: null,
  },
  kafka_agg_max_bytes: {
    type: 'size',
    description: 'kafka_buffered/kafka: the most message bytes in one produce request (as max_batch_bytes).',
    default: null,
  },
  kafka_agg_max_messages: {
    type: 'integer',
    description: 'kafka_buffered/kafka: the most messages in one produce request.',
    default: null,
  },
  ack_timeout_ms: {
    type: 'integer',
    description: 'kafka_buffered/kafka: ack_timeout in milliseconds (deprecated there).',
    default: null,
  },
  zookeeper: {
    type: 'string',
    description:
      'kafka_buffered/kafka: finding brokers through ZooKeeper is not built (Kafka 4 has none); refused.',
    default: null,
  },
  zookeeper_path: {
    type: 'string',
    description: 'kafka_buffered/kafka: see zookeeper.',
    default: null,
    deprecated: 'not acted on',
  },
  monitoring_list: {
    type: 'array',
    description: 'kafka_buffered/kafka: accepted for compatibility.',
    default: [],
    deprecated: 'not acted on',
  },
});

export type Params = ParamsOf<typeof params>;
