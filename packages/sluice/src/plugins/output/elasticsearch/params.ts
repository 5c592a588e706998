// The parameters of out_elasticsearch / out_opensearch: the names and defaults of
// fluent-plugin-elasticsearch 5.x (lib/fluent/plugin/out_elasticsearch.rb) and
// fluent-plugin-opensearch (out_opensearch.rb, out_opensearch_data_stream.rb), the ones Sluice
// builds, plus the ones it does not, listed so a config that sets them is refused by name.
import { declareNotBuilt } from '../../../config/not-built.ts';
import { defineParams, type ParamSpec, type ParamsOf } from '../../../config/schema.ts';

export const params = defineParams({
  host: {
    type: 'string',
    description: 'The server to send to when hosts is not set.',
    default: 'localhost',
  },
  port: {
    type: 'integer',
    min: 0,
    max: 65535,
    description:
      'Its port. 0 (an empty value, as an unset variable gives in the official DaemonSet config) passes the check, as in Fluentd, and fails to connect.',
    default: 9200,
  },
  hosts: {
    type: 'string',
    description:
      'Several servers, comma-separated: host:port, or URLs such as https://user:pass@host:port/path. Requests go to them in turn; one that fails is skipped until the others fail too.',
    default: null,
  },
  scheme: {
    type: 'enum',
    values: ['http', 'https'],
    description: 'http or https, for host/port and for hosts entries without a scheme.',
    default: 'http',
  },
  path: {
    type: 'string',
    description: 'A path prefix before /_bulk (a server behind a reverse proxy), e.g. /es.',
    default: null,
  },
  user: { type: 'string', description: 'User name for HTTP basic authentication.', default: null },
  password: { type: 'secret', description: 'Password for HTTP basic authentication.', default: null },
  ssl_verify: {
    type: 'bool',
    description: 'Verify the server certificate (https). false accepts any certificate.',
    default: true,
  },
  ssl_version: {
    type: 'enum',
    values: ['SSLv23', 'TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    description:
      'The lowest TLS version accepted (the Ruby plugins pin this version; Sluice also takes newer ones). SSLv23: any TLS version Node allows.',
    default: 'TLSv1_2',
  },
  ssl_min_version: {
    type: 'enum',
    values: ['TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    description: 'The lowest TLS version accepted (overrides ssl_version).',
    default: null,
  },
  ssl_max_version: {
    type: 'enum',
    values: ['TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    description: 'The highest TLS version offered.',
    default: null,
  },
  ca_file: {
    type: 'string',
    description: 'PEM CA certificate(s) to verify the server with, instead of the system ones.',
    default: null,
  },
  index_name: {
    type: 'string',
    description:
      'The index to write to when logstash_format is false. Placeholders from the chunk keys (${tag}, ${tag[1]}, ${key}, strftime with a time key); lower-cased as the plugin does.',
    default: 'fluentd',
  },
  logstash_format: {
    type: 'bool',
    description:
      'Write to one index per day (or logstash_dateformat) named logstash_prefix + logstash_prefix_separator + date, the date from each event, and add @timestamp.',
    default: false,
  },
  logstash_prefix: {
    type: 'string',
    description: 'The index name prefix with logstash_format (placeholders as index_name).',
    default: 'logstash',
  },
  logstash_prefix_separator: {
    type: 'string',
    description: 'Between the prefix and the date.',
    default: '-',
  },
  logstash_dateformat: {
    type: 'string',
    eventTimeFormat: true,
    description: 'strftime format of the date part of the index name.',
    default: '%Y.%m.%d',
  },
  utc_index: {
    type: 'bool',
    description: 'The index date is in UTC; false: in the local time zone.',
    default: true,
  },
  include_tag_key: {
    type: 'bool',
    description: 'Add the event tag to each document under tag_key.',
    default: false,
  },
  tag_key: { type: 'string', description: 'The field include_tag_key writes.', default: 'tag' },
  include_timestamp: {
    type: 'bool',
    description: 'Add @timestamp (the event time, ISO 8601 with nanoseconds) without logstash_format.',
    default: false,
  },
  time_key: {
    type: 'string',
    description:
      'With logstash_format or include_timestamp: a record field holding the time to use for @timestamp and the index date instead of the event time (a record with @timestamp keeps it).',
    default: null,
  },
  time_key_format: {
    type: 'string',
    eventTimeFormat: true,
    description:
      'strptime format of the time_key field (and of @timestamp); without it ISO 8601 and numbers (epoch seconds) are read.',
    default: null,
  },
  time_precision: {
    type: 'integer',
    min: 0,
    max: 9,
    description: 'Digits of the fraction of a second in @timestamp.',
    default: 9,
  },
  id_key: {
    type: 'string',
    description:
      'A record field ($.a.b for a nested one) whose value is the document _id. Without it Sluice makes a deterministic _id per event (see id_policy).',
    default: null,
  },
  parent_key: {
    type: 'string',
    description:
      "A record field whose value is sent as the action's _parent (Elasticsearch 5 and earlier; later servers reject the document, which goes to @ERROR).",
    default: null,
  },
  routing_key: {
    type: 'string',
    description: 'A record field whose value is the document routing.',
    default: null,
  },
  remove_keys: {
    type: 'array',
    description:
      'Top-level record fields left out of the document (after id_key, routing_key, parent_key and time_key were read), comma-separated.',
    default: [],
  },
  write_operation: {
    type: 'enum',
    values: ['index', 'create', 'update', 'upsert'],
    description:
      'The bulk action. Default: create when Sluice makes the _id (a re-sent document is answered 409 and counts as stored), else index. update and upsert need id_key.',
    default: null,
  },
  pipeline: {
    type: 'string',
    description: 'An ingest pipeline to run each document through.',
    default: null,
  },
  data_stream_name: {
    type: 'string',
    description:
      'Write to this data stream (placeholders as index_name) with create actions and @timestamp. Before the first write Sluice creates an index template data_stream_template_name (index_patterns name*, data_stream {}) unless the stream or the template exists, as fluent-plugin-opensearch does.',
    default: null,
  },
  data_stream_template_name: {
    type: 'string',
    description: 'The index template created for data_stream_name (default: <data_stream_name>_template).',
    default: null,
  },
  type_name: {
    type: 'string',
    description:
      'The mapping type: sent as _type only to Elasticsearch 6 (7: _doc unless suppress_type_name); Elasticsearch 8 and OpenSearch get no type, as the plugin does after reading the server version.',
    default: 'fluentd',
  },
  suppress_type_name: {
    type: 'bool',
    description: 'Never send _type (Elasticsearch 7).',
    default: false,
  },
  request_timeout: {
    type: 'time',
    description:
      'Longest wait for a bulk response. A timed-out request is retried with the same _ids, so it does not duplicate.',
    default: 5,
  },
  reconnect_on_error: {
    type: 'bool',
    description: 'After a failed request, close every connection and open new ones.',
    default: false,
  },
  reload_connections: {
    type: 'bool',
    description:
      'Accepted: Sluice does not sniff the cluster for nodes; it sends to the servers of host/hosts in turn.',
    default: true,
  },
  reload_on_failure: {
    type: 'bool',
    description:
      'Accepted: a server that fails is always skipped for the next requests while another answers (the plugin would reload the node list).',
    default: false,
  },
  reload_after: {
    type: 'integer',
    description: 'Accepted with reload_connections; no effect (no sniffing).',
    default: -1,
  },
  resurrect_after: {
    type: 'time',
    description: 'Seconds a server that failed is skipped, while another answers.',
    default: 60,
  },
  bulk_message_request_threshold: {
    type: 'string',
    description:
      "Largest bulk request body: a chunk's documents are sent in several requests past it (-1: one request per chunk). fluent-plugin-opensearch's default; fluent-plugin-elasticsearch's is -1.",
    default: '20MB',
  },
  http_backend: {
    type: 'enum',
    values: ['excon', 'typhoeus'],
    description: 'Accepted: Sluice always uses its own HTTP client (undici, keep-alive pool).',
    default: 'excon',
  },
  http_backend_excon_nonblock: {
    type: 'bool',
    description: 'Accepted, no effect (see http_backend).',
    default: true,
  },
  log_es_400_reason: {
    type: 'bool',
    description: 'Accepted: Sluice always logs or routes the reason of a rejected document.',
    default: false,
  },
  verify_es_version_at_startup: {
    type: 'bool',
    description:
      'Accepted: Sluice reads the server version (GET /) before its first write, whatever this says.',
    default: true,
  },
  default_elasticsearch_version: {
    type: 'integer',
    description: 'Accepted: the version is always read from the server.',
    default: 5,
  },
  content_type: {
    type: 'enum',
    values: ['application/json', 'application/x-ndjson'],
    description: 'Content-Type of bulk requests.',
    default: 'application/json',
  },
  custom_headers: { type: 'hash', description: 'Headers added to every request.', default: null },
  id_policy: {
    type: 'enum',
    values: ['chunk', 'hash', 'none'],
    description:
      "Sluice: how the _id is made without id_key. chunk: buffer chunk id + the event's place in it (a retry or a file-buffer replay lands once; distinct events never share an id). hash: SHA-256 of the event's time and record (also folds an event its source sent twice; identical events with the same time become one). none: the server makes ids (write_operation index; a retry may duplicate).",
    default: 'chunk',
  },
  error_key: {
    type: 'string',
    description:
      'Sluice: the field added to a document the server rejected (4xx other than 409 on create/429) before it goes to <label @ERROR>: {status, type, reason, index, id}.',
    default: 'es_error',
  },
});

/**
 * What fluent-plugin-elasticsearch / -opensearch offer and Sluice does not build, with the values
 * that ask for nothing Sluice lacks (the Ruby default, or the feature off): a config that sets
 * one to another value is refused by name (ES_PARAM_NOT_BUILT). `'*'`: any value is harmless
 * (the parameter tunes something Sluice does not have, such as template retries). The
 * official fluentd-kubernetes-daemonset config sets many of them to such values.
 */
export const notBuilt = declareNotBuilt({
  code: 'ES_PARAM_NOT_BUILT',
  of: 'fluent-plugin-elasticsearch/opensearch',
  docs: 'docs/outputs/elasticsearch.md',
  params: {
    cloud_id: [],
    cloud_auth: [],
    api_key: [],
    target_index_key: [],
    target_type_key: [],
    time_key_exclude_timestamp: ['false'],
    client_key: [],
    client_cert: [],
    client_key_pass: [],
    remove_keys_on_update: [''],
    remove_keys_on_update_key: [],
    flatten_hashes: ['false'],
    flatten_hashes_separator: ['*'],
    template_name: [],
    template_file: [],
    template_overwrite: ['false'],
    customize_template: [],
    templates: [],
    rollover_index: ['false'],
    index_date_pattern: ['*'],
    deflector_alias: [],
    index_prefix: ['*'],
    application_name: ['default'],
    enable_ilm: ['false'],
    ilm_policy_id: ['*'],
    ilm_policy: ['{}'],
    ilm_policies: ['{}'],
    ilm_policy_overwrite: ['false'],
    retry_tag: [],
    emit_error_for_missing_id: ['false'],
    // the simple sniffers hand back the configured hosts: what Sluice does
    sniffer_class_name: [
      'Fluent::Plugin::ElasticsearchSimpleSniffer',
      'Fluent::Plugin::OpenSearchSimpleSniffer',
    ],
    selector_class_name: [],
    include_index_in_url: ['false'],
    prefer_oj_serializer: ['*'],
    unrecoverable_error_types: [],
    unrecoverable_record_types: [],
    suppress_doc_wrap: ['false'],
    ignore_exceptions: ['[]', ''],
    exception_backup: ['true'],
    compression_level: ['no_compression'],
    target_index_affinity: ['false'],
    use_legacy_template: ['*'],
    truncate_caches_interval: [],
    catch_transport_exception_on_retry: ['*'],
    with_transporter_log: ['false'],
    validate_client_version: ['*'],
    max_retry_putting_template: ['*'],
    fail_on_putting_template_retry_exceed: ['*'],
    max_retry_get_es_version: ['*'],
    fail_on_detecting_es_version_retry_exceed: ['*'],
    time_parse_error_tag: ['*'],
    data_stream_ilm_name: [],
    data_stream_ilm_policy: [],
    data_stream_ilm_policy_overwrite: ['false'],
    data_stream_template_use_index_patterns: ['true'],
  },
  anyValueBecause: 'it tunes a feature Sluice does not have',
});

export const schemaParams: typeof params & Record<string, ParamSpec> = { ...params, ...notBuilt.params };

export type Params = ParamsOf<typeof params>;
